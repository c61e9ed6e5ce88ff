#!/usr/bin/env bash
# ota-ffi's C tests need gcc (with libasan/libubsan) and valgrind.
set -euo pipefail
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
gcc --version | head -1
valgrind --version
