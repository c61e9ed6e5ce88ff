#!/usr/bin/env bash
# Fuzz smoke (.ci/steps/fuzz.sh): cargo-fuzz and a C++ compiler for libFuzzer (built by
# libfuzzer-sys). Works with the stable toolchain only. Idempotent.
set -euo pipefail
if ! command -v c++ >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends g++
fi
if ! command -v cargo-fuzz >/dev/null; then
    # 55 s of CPU (6 min wall on a heavily shared 2-core machine); stable suffices.
    cargo install cargo-fuzz --version 0.13.2 --locked
fi
cargo fuzz --version
