#!/usr/bin/env bash
# Issue 20: patch sizes of ota-delta's MCU profile (FORMAT.md §10) on the corpus, against the std
# profile, bsdiff (Debian bsdiff 4.3 and qbsdiff) and detools (heatshrink and LZMA, sequential),
# and the frame-codec candidates measured on the same raw frames.
#   benches/compare/delta-mcu.sh [CORPUS_DIR]   (needs bsdiff; detools from pip if present, in
#   PATH or DETOOLS=path; python3 with zlib and lzma; lz4)
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=${1:-../shared/corpus/data}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ota-delta --examples
BIN=$CARGO_TARGET_DIR/release/examples
DETOOLS=${DETOOLS:-$(command -v detools || true)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
size() { stat -c %s "$1"; }

echo "| pair | new bytes | std profile | **MCU profile** (frames) | MCU / std | bsdiff | qbsdiff | MCU / bsdiff | detools heatshrink | detools lzma | MCU / detools heatshrink |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for p in ujson_so ssh silero_onnx libcrypto numpy_core; do
    o=$CORPUS/$p/old; n=$CORPUS/$p/new
    [ -f "$o" ] || continue
    "$BIN/diff" "$o" "$n" "$W/std" auto > /dev/null
    line=$("$BIN/diff" "$o" "$n" "$W/mcu" auto 262144 6 mcu)
    frames=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' <<< "$line")
    "$BIN/apply" "$o" "$W/mcu" "$W/out" > /dev/null && cmp -s "$W/out" "$n" || { echo "error: $p: MCU patch does not apply" >&2; exit 1; }
    bsdiff "$o" "$n" "$W/bsd"
    "$BIN/qbsdiff_ref" diff "$o" "$n" "$W/qbsd"
    hs=-; lz=-
    if [ -n "$DETOOLS" ]; then
        "$DETOOLS" create_patch -c heatshrink "$o" "$n" "$W/dh" && hs=$(size "$W/dh")
        "$DETOOLS" create_patch -c lzma "$o" "$n" "$W/dl" && lz=$(size "$W/dl")
    fi
    s=$(size "$W/std"); m=$(size "$W/mcu"); b=$(size "$W/bsd"); q=$(size "$W/qbsd")
    r() { if [ "$2" = - ]; then echo -; else python3 -c "print(f'{$1/$2:.3f}')"; fi; }
    echo "| $p | $(size "$n") | $s | **$m** ($frames) | $(r "$m" "$s") | $b | $q | $(r "$m" "$b") | $hs | $lz | $(r "$m" "$hs") |"
done

echo
echo "Frame codecs on the same raw bsdiff-mode frames (R = largest raw content per frame), patch bytes"
echo "(header + frame headers + payloads) as a multiple of the std profile's patch:"
echo
echo "| pair | R | frames | stored | stored, xz -9 over the whole patch (transport) | LZ4-style (lz4 -12 per frame) | DEFLATE (zlib -9 per frame) | LZMA2 (preset 6, dict = R, lc=lp=pb=0) |"
echo "|---|---|---|---|---|---|---|---|"
for p in ujson_so ssh libcrypto numpy_core; do
    o=$CORPUS/$p/old; n=$CORPUS/$p/new
    [ -f "$o" ] || continue
    "$BIN/diff" "$o" "$n" "$W/std" bsdiff > /dev/null
    s=$(size "$W/std")
    for R in 4096 8192 12288 16384; do
        rm -rf "$W/fr"; "$BIN/dump_frames" "$o" "$n" "$W/fr" "$R"
        python3 - "$W/fr" "$s" "$p" "$R" <<'PY'
import sys, os, zlib, lzma, subprocess
d, std, pair, R = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
frames = [open(os.path.join(d, f), 'rb').read() for f in sorted(os.listdir(d))]
tot = lambda fn: 152 + sum(44 + fn(f) for f in frames)
def deflate(f):
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9); return len(c.compress(f) + c.flush())
def lzma2(f):
    return len(lzma.compress(f, format=lzma.FORMAT_RAW, filters=[{'id': lzma.FILTER_LZMA2, 'preset': 6, 'dict_size': max(4096, len(f)), 'lc': 0, 'lp': 0, 'pb': 0}]))
def lz4(f):  # minus the 15 bytes of LZ4 frame format around one block
    return len(subprocess.run(['lz4', '-12', '-c', '-q'], input=f, capture_output=True).stdout) - 15
xz = len(lzma.compress(b''.join(frames), preset=9)) + 152 + 44 * len(frames)
r = lambda v: f"{v / std:.3f}"
print(f"| {pair} | {R} | {len(frames)} | {r(tot(len))} | {r(xz)} | {r(tot(lz4))} | {r(tot(deflate))} | {r(tot(lzma2))} |")
PY
    done
done
