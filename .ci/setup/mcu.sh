#!/usr/bin/env bash
# ota-ffi-mcu: the Cortex-M proof (.ci/steps/mcu.sh) needs Debian's bare-metal GCC and binutils
# (gcc-arm-none-eabi; no C library: the program is freestanding, linked with -nostdlib -lgcc), QEMU's
# Arm system emulator (qemu-system-arm: the MPS2-AN386 board) and the thumbv7em-none-eabihf target.
set -euo pipefail
missing=()
command -v arm-none-eabi-gcc >/dev/null || missing+=(gcc-arm-none-eabi)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
arm-none-eabi-gcc --version | head -1
qemu-system-arm --version | head -1
if command -v rustup >/dev/null; then
    rustup target add thumbv7em-none-eabihf
fi
