#!/usr/bin/env bash
# ota-pkcs11: the token tests run against SoftHSM2 (Debian `softhsm2`, module
# /usr/lib/softhsm/libsofthsm2.so). The tests make their own token directory and
# configuration (SOFTHSM2_CONF) in a temporary directory: nothing is initialised here.
set -euo pipefail
if [ ! -e /usr/lib/softhsm/libsofthsm2.so ] || ! command -v softhsm2-util >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2
fi
ls -l /usr/lib/softhsm/libsofthsm2.so
softhsm2-util --version
