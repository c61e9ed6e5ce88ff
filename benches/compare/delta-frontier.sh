#!/usr/bin/env bash
# Diff time against patch size for the native format's LZMA2 presets, on the executables of the
# shared corpus: patch bytes and the ratio to the better classic patch (qbsdiff, Debian bsdiff),
# diff CPU seconds and the ratio to qbsdiff's. One run of each (CPU seconds from /usr/bin/time;
# times under 0.1 s are coarse).
#
#   benches/compare/delta-frontier.sh [CORPUS_DIR] > table.md
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${1:-../shared/corpus/data}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ota-delta --examples
B=$CARGO_TARGET_DIR/release/examples
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cpu() { awk '{ print $1 + $2 }' "$W/time"; }
echo "| pair | preset | patch bytes | / best classic | diff CPU s | / qbsdiff CPU s |"
echo "|---|---|---|---|---|---|"
for p in libcrypto numpy_core ssh ujson_so; do
    o=$C/$p/old; n=$C/$p/new
    /usr/bin/time -f '%U %S' -o "$W/time" "$B/qbsdiff_ref" diff "$o" "$n" "$W/q" >/dev/null
    tq=$(cpu)
    bsdiff "$o" "$n" "$W/b"
    sq=$(stat -c %s "$W/q"); sb=$(stat -c %s "$W/b"); best=$(( sq < sb ? sq : sb ))
    for pr in 9e 6 3 1; do
        /usr/bin/time -f '%U %S' -o "$W/time" "$B/diff" "$o" "$n" "$W/o" auto 262144 "$pr" >/dev/null
        to=$(cpu); so=$(stat -c %s "$W/o")
        awk -v p="$p" -v pr="$pr" -v so="$so" -v b="$best" -v to="$to" -v tq="$tq" \
            'BEGIN { printf "| %s | %s | %d | %.3f | %.2f | %.1f |\n", p, pr, so, so / b, to, to / tq }'
    done
done
