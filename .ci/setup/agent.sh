#!/usr/bin/env bash
# ota-agent: the U-Boot environment interop tests run the real fw_printenv / fw_setenv
# (Debian's u-boot-tools, which brings libubootenv-tool).
set -euo pipefail
if ! command -v fw_printenv >/dev/null || ! command -v fw_setenv >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq u-boot-tools
fi
command -v fw_printenv
fw_printenv -V 2>&1 | head -1 || true
