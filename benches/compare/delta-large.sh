#!/usr/bin/env bash
# Patch size of ota-delta against bsdiff and qbsdiff on large near-identical shared libraries
# (fetched with benches/compare/fetch-large-libs.sh), with the diff CPU time of the three and
# ota-delta's apply checked against the real new file. Lighter than delta.sh (no xdelta3/zstd,
# no synthetic sweep): bsdiff alone needs 35-37 CPU seconds and up to 800 MB per pair here.
#
#   benches/compare/fetch-large-libs.sh /tmp/large
#   benches/compare/delta-large.sh /tmp/large > table.md
#
# Times are CPU seconds (user + system, `/usr/bin/time`), the median of DELTA_RUNS runs
# (default 3); RSS is the largest peak resident set of those runs, in KiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:?usage: delta-large.sh DIR (made by fetch-large-libs.sh)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ota-delta --examples
BIN=$CARGO_TARGET_DIR/release/examples
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
RUNS=${DELTA_RUNS:-3}
t() {
    : > "$W/times"
    local i
    for ((i = 0; i < RUNS; i++)); do
        /usr/bin/time -f "%U %S %M" -o "$W/time" "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
        awk '{ printf "%.2f %s\n", $1 + $2, $3 }' "$W/time" >> "$W/times"
    done
    sort -n "$W/times" | awk '{ s[NR] = $1; if ($2 > m) m = $2 } END { print s[int((NR + 1) / 2)], m }'
}
size() { stat -c %s "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d); load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo
echo "| pair | new bytes | bytes differing in place | **ota-delta** bytes (frames) | bsdiff bytes | qbsdiff bytes | ota / bsdiff | ota / qbsdiff | diff CPU s: ota / bsdiff / qbsdiff | ota apply CPU s / peak RSS KiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for dir in "$DIR"/*/; do
    p=$(basename "$dir"); o=$dir/old; n=$dir/new
    [ -f "$o" ] && [ -f "$n" ] || continue
    N=$(size "$n")
    differ=$(cmp -l "$o" "$n" 2>/dev/null | wc -l || true)
    read -r td_o _ < <(t "$BIN/diff" "$o" "$n" "$W/ours")
    frames=$("$BIN/diff" "$o" "$n" "$W/ours" | sed -E 's/.*frames=([0-9]+).*/\1/')
    read -r td_b _ < <(t bsdiff "$o" "$n" "$W/b")
    read -r td_q _ < <(t "$BIN/qbsdiff_ref" diff "$o" "$n" "$W/q")
    read -r ta_o ra_o < <(t "$BIN/apply" "$o" "$W/ours" "$W/out")
    cmp -s "$W/out" "$n" || { echo "MISMATCH $p" >&2; exit 1; }
    so=$(size "$W/ours"); sb=$(size "$W/b"); sq=$(size "$W/q")
    echo "| $p | $N | $differ | **$so** ($frames) | $sb | $sq | $(ratio "$so" "$sb") | $(ratio "$so" "$sq") | $td_o / $td_b / $td_q | $ta_o / $ra_o |"
done
