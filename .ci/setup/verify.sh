#!/usr/bin/env bash
# ota-verify: its key interop tests need the openssl CLI; the no_std size check wants the
# thumbv7em-none-eabihf target (optional: if it cannot be added, .ci/steps/verify.sh skips it).
set -euo pipefail
if ! command -v openssl >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
fi
openssl version
if command -v rustup >/dev/null; then
    rustup target add thumbv7em-none-eabihf || echo "note: thumbv7em-none-eabihf not available; the no_std size step will be skipped"
fi
