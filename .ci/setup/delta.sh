#!/usr/bin/env bash
# ota-delta: tools for the BSDIFF40 interop tests (bsdiff/bspatch) and the comparison script
# (xdelta3, zstd, xz, GNU time). Idempotent.
set -euo pipefail
need=()
command -v bspatch >/dev/null || need+=(bsdiff)
command -v xdelta3 >/dev/null || need+=(xdelta3)
command -v zstd >/dev/null || need+=(zstd)
command -v xz >/dev/null || need+=(xz-utils)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi
