#!/usr/bin/env bash
# Codec choice for ota-delta frames, measured on the raw bsdiff-mode frames of the corpus pairs
# (256 KiB of target per frame, each frame compressed on its own, as in a patch).
#   benches/compare/delta-codecs.sh [CORPUS_DIR] > table.md
# Per codec: total compressed size over all frames (% of the BSDIFF40 patch by qbsdiff at its
# default level), decode time of all frames (one process per frame, summed), and the largest peak
# RSS of a decoding process (KiB; includes the tool's own baseline, shown in the last row).
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=${1:-../shared/corpus/data}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ota-delta --examples
BIN=$CARGO_TARGET_DIR/release/examples
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# name | compress command (stdin->stdout) | decompress command (stdin->stdout)
CODECS=(
  "LZMA2 raw, dict 256 KiB, -9e|xz -q --format=raw --lzma2=preset=9e,dict=256KiB -c|xz -q -d --format=raw --lzma2=preset=9e,dict=256KiB -c"
  "LZMA2 raw, dict 256 KiB, -9|xz -q --format=raw --lzma2=preset=9,dict=256KiB -c|xz -q -d --format=raw --lzma2=preset=9,dict=256KiB -c"
  "zstd -19|zstd -q -19 -c|zstd -q -d -c"
  "zstd --ultra -22|zstd -q --ultra -22 -c|zstd -q -d -c"
  "bzip2 -9|bzip2 -9 -c|bzip2 -d -c"
  "gzip -9|gzip -9 -c|gzip -d -c"
)

echo "| pair | codec | frames | compressed bytes | vs qbsdiff patch | decode s (all frames) | max decoder RSS KiB |"
echo "|---|---|---|---|---|---|---|"
for p in ujson_so ssh libcrypto numpy_core; do
    o=$CORPUS/$p/old; n=$CORPUS/$p/new
    [ -f "$o" ] || continue
    rm -rf "$W/f"; "$BIN/dump_frames" "$o" "$n" "$W/f"
    "$BIN/qbsdiff_ref" diff "$o" "$n" "$W/q"
    q=$(stat -c %s "$W/q")
    nf=$(ls "$W"/f/frame_[0-9][0-9][0-9][0-9] | wc -l)
    for c in "${CODECS[@]}"; do
        IFS='|' read -r name comp decomp <<<"$c"
        total=0; dsec=0; rss=0
        for f in "$W"/f/frame_[0-9][0-9][0-9][0-9]; do
            $comp < "$f" > "$f.c"
            total=$(( total + $(stat -c %s "$f.c") ))
            /usr/bin/time -f "%e %M" -o "$W/t" sh -c "$decomp < '$f.c' > '$f.d'"
            cmp -s "$f" "$f.d" || { echo "round trip failed: $name $f" >&2; exit 1; }
            read -r s r < "$W/t"
            dsec=$(awk -v a="$dsec" -v b="$s" 'BEGIN{print a+b}')
            [ "$r" -gt "$rss" ] && rss=$r
        done
        echo "| $p | $name | $nf | $total | $(awk -v a="$total" -v b="$q" 'BEGIN{printf "%.3f", a/b}') | $dsec | $rss |"
    done
done
/usr/bin/time -f "%M" -o "$W/t" sh -c "true"
echo "| - | baseline: \`sh -c true\` | | | | | $(cat "$W/t") |"
