#!/usr/bin/env bash
# ota-ffi-mcu on a Cortex-M4F under QEMU: builds libota_mcu.a for thumbv7em-none-eabihf (profile
# mcu: opt-level z, fat LTO), compiles the C test program (ota-ffi-mcu/qemu/) against it with
# arm-none-eabi-gcc for the MPS2-AN386 board, runs it under qemu-system-arm with semihosting and a
# timeout, and fails on a non-zero exit or a missing PASS. Prints the flash and RAM figures:
# arm-none-eabi-size of the program and of size probes linking each library piece alone.
# Test data: the corpus pair ujson_so when ../shared/corpus/data (or $OTA_CORPUS) has it, else a
# generated pair (the program prints which).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (.ci/setup/mcu.sh installs it)" >&2; exit 1; }
done
rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf ||
    { echo "error: thumbv7em-none-eabihf is not installed (.ci/setup/mcu.sh adds it)" >&2; exit 1; }

target_dir=${CARGO_TARGET_DIR:-target}
# sha2's compact software backend: about 32 KB less flash than the unrolled default (SHA-512
# inside Ed25519, SHA-256), slower; the build a device should use (ota-ffi-mcu/README.md).
# `cargo rustc --crate-type staticlib`, not `cargo build`: the crate also declares an `rlib` (for
# its Rust tests), and with both crate types in one rustc run the archive came out without LTO
# (one object per crate, `nm` shows them; the panic messages' formatting and unused error texts
# stayed in): 20 KB more flash for the three pieces, measured (benches/RESULTS.md).
RUSTFLAGS="${RUSTFLAGS:-} --cfg sha2_backend_soft=\"compact\"" \
    cargo rustc -p ota-ffi-mcu --lib --locked --target thumbv7em-none-eabihf --profile mcu \
    --crate-type staticlib
lib=$target_dir/thumbv7em-none-eabihf/mcu/libota_mcu.a

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
corpus=${OTA_CORPUS:-../shared/corpus/data}
pair=()
if [ -s "$corpus/ujson_so/old" ] && [ -s "$corpus/ujson_so/new" ]; then
    pair=("$corpus/ujson_so")
else
    echo "note: no corpus at $corpus; the test uses a generated pair"
fi
cargo run -q -p ota-ffi-mcu --locked --example mcu_fixtures -- "$out/fx" "${pair[@]}"

q=ota-ffi-mcu/qemu
cflags=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c11 -Wall -Wextra
    -Werror -ffreestanding -ffunction-sections -fdata-sections -I ota-ffi-mcu/include -I "$q")
ldflags=(-nostdlib -Wl,--gc-sections -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -T "$q/link.ld")
arm-none-eabi-gcc "${cflags[@]}" -I "$out/fx" "$q/board.c" "$q/mcu_test.c" "$out/fx/fixtures.c" \
    "$lib" "${ldflags[@]}" -lgcc -o "$out/mcu_test.elf"

echo "--- the test program (MPS2-AN386, Cortex-M4F)"
log=$out/qemu.log
status=0
timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
    -serial none -semihosting-config enable=on,target=native -icount shift=0 \
    -kernel "$out/mcu_test.elf" >"$log" 2>&1 || status=$?
cat "$log"
if [ "$status" -ne 0 ] || [ "$(tail -n 1 "$log")" != PASS ]; then
    echo "error: the Cortex-M test program failed (qemu exit $status)" >&2
    exit 1
fi

echo "--- flash and RAM (arm-none-eabi-size)"
# section sizes of an ELF: text+rodata+vectors = flash code, data, bss, fixtures (test data).
sizes() {
    arm-none-eabi-size -A "$1" | awk '
        $1 == ".vectors" || $1 == ".text" || $1 == ".rodata" { code += $2 }
        $1 == ".data" { data = $2 } $1 == ".bss" { bss = $2 } $1 == ".fixtures" { fx = $2 }
        END { printf "%d %d %d %d\n", code, data, bss, fx }'
}
read -r code data bss fx < <(sizes "$out/mcu_test.elf")
echo "test program: flash $((code + data)) B (code $code, data $data) + test data $fx B; static RAM $((data + bss)) B (+ .noinit: the target slot and the persisted state)"
probe() { # NAME DEFINES...
    local name=$1
    shift
    arm-none-eabi-gcc "${cflags[@]}" "$@" "$q/board.c" "$q/probe.c" "$lib" "${ldflags[@]}" -lgcc \
        -o "$out/probe-$name.elf"
    sizes "$out/probe-$name.elf"
}
read -r base_code base_data base_bss _ < <(probe none)
printf '%-22s %10s %12s\n' "library piece" "flash (B)" "static RAM (B)"
for piece in verify view apply verify+view+apply; do
    defines=()
    case $piece in
        verify) defines=(-DPROBE_VERIFY) ;;
        view) defines=(-DPROBE_VIEW) ;;
        apply) defines=(-DPROBE_APPLY) ;;
        verify+view+apply) defines=(-DPROBE_VERIFY -DPROBE_VIEW -DPROBE_APPLY) ;;
    esac
    read -r c d b _ < <(probe "$piece" "${defines[@]}")
    printf '%-22s %10d %12d\n' "$piece" $((c + d - base_code - base_data)) $((d + b - base_data - base_bss))
done
echo "(a piece's flash: the probe linking it minus the probe linking nothing, $((base_code + base_data)) B; its static RAM includes the caller storage the probe declares statically, e.g. ota_mcu_trust_root)"
