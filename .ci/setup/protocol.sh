#!/usr/bin/env bash
# ota-protocol: the differential test decodes our messages with python's cbor2 (an independent CBOR
# implementation) and re-encodes them canonically. Installed from PyPI, pinned.
set -euo pipefail
if ! python3 -c 'import cbor2' 2>/dev/null; then
    python3 -m pip install -q 'cbor2==6.3.0'
fi
python3 -c 'import cbor2; print("cbor2", cbor2.__file__)'
