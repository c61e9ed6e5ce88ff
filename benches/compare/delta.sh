#!/usr/bin/env bash
# Side-by-side comparison of ota-delta with the delta tools people use today, on the real file
# pairs of the shared corpus, plus an apply-memory sweep on synthetic pairs.
#
#   benches/compare/delta.sh [CORPUS_DIR] > table.md
#
# Needs: bsdiff/bspatch, xdelta3, zstd, xz, GNU time (.ci/setup/delta.sh installs them).
# Every tool runs on the same files in the same run; times are CPU seconds (user + system), the
# median of DELTA_RUNS runs (default 3; `/usr/bin/time -f '%U %S'`); RSS is the largest peak
# resident set (`%M`, KiB) of those runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=${1:-../shared/corpus/data}
[ -d "$CORPUS" ] || { echo "corpus not found at $CORPUS (fetch it with shared/corpus/fetch-delta-corpus.sh)" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ota-delta --examples
BIN=$CARGO_TARGET_DIR/release/examples
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# t CMD...: runs CMD DELTA_RUNS times, prints "median_cpu_seconds max_rss_kib" (user + system CPU
# time: the machine is shared, wall-clock time there measures the neighbours as much as the tool)
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
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%", 100 * a / b }'; }
same() { cmp -s "$1" "$2" || { echo "MISMATCH $1 $2" >&2; exit 1; }; }

EMPTY_RSS=$( (/usr/bin/time -f "%M" "$BIN/apply" 2>&1 >/dev/null || true) | tail -1)
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d)"
echo
echo "Empty-process peak RSS of the apply example (usage error, no work): ${EMPTY_RSS} KiB"
echo
echo "### Patch size (% of the new file) and diff CPU time (s)"
echo
echo "| pair | new bytes | zstd -19 full | xz -9 full | **ota-delta** default (mode) | ota-delta preset 9e | qbsdiff | bsdiff | xdelta3 -9 | zstd -19 --long=27 --patch-from | ota / best classic (default; preset 9e) | ota diff time / qbsdiff (default; preset 9e) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
APPLY_ROWS=()
for dir in "$CORPUS"/*/; do
    p=$(basename "$dir"); o=$dir/old; n=$dir/new
    [ -f "$o" ] && [ -f "$n" ] || continue
    N=$(size "$n")
    zstd -q -19 -c "$n" > "$W/full.zst"; xz -9 -c "$n" > "$W/full.xz"
    read -r td_ours _ < <(t "$BIN/diff" "$o" "$n" "$W/ours")
    mode=$("$BIN/diff" "$o" "$n" "$W/ours" | sed -E 's/^mode=([A-Za-z]+).*/\1/')
    read -r td_f _ < <(t "$BIN/diff" "$o" "$n" "$W/ours6" auto 262144 9e)
    read -r td_q _ < <(t "$BIN/qbsdiff_ref" diff "$o" "$n" "$W/q")
    read -r td_b _ < <(t bsdiff "$o" "$n" "$W/b")
    read -r td_x _ < <(t xdelta3 -9 -e -f -s "$o" "$n" "$W/x")
    read -r td_z _ < <(t zstd -q -f -19 --long=27 --patch-from="$o" "$n" -o "$W/z")
    so=$(size "$W/ours"); sq=$(size "$W/q"); sb=$(size "$W/b"); s6=$(size "$W/ours6")
    best=$(( sq < sb ? sq : sb ))
    echo "| $p | $N | $(pct "$(size "$W/full.zst")" "$N") | $(pct "$(size "$W/full.xz")" "$N") | **$(pct "$so" "$N")** ($mode) ${td_ours}s | $(pct "$s6" "$N") ${td_f}s | $(pct "$sq" "$N") ${td_q}s | $(pct "$sb" "$N") ${td_b}s | $(pct "$(size "$W/x")" "$N") ${td_x}s | $(pct "$(size "$W/z")" "$N") ${td_z}s | $(awk -v a="$so" -v c="$s6" -v b="$best" 'BEGIN{printf "%.3f; %.3f", a/b, c/b}') | $(awk -v a="$td_ours" -v c="$td_f" -v b="$td_q" 'BEGIN{ if (b > 0) printf "%.2f; %.2f", a/b, c/b; else print "-" }') |"
    # Apply: time and peak RSS, output checked against the real new file.
    read -r ta_o ra_o < <(t "$BIN/apply" "$o" "$W/ours" "$W/out_o"); same "$W/out_o" "$n"
    read -r ta_q ra_q < <(t "$BIN/qbsdiff_ref" patch "$o" "$W/q" "$W/out_q"); same "$W/out_q" "$n"
    read -r ta_b ra_b < <(t bspatch "$o" "$W/out_b" "$W/b"); same "$W/out_b" "$n"
    read -r ta_x ra_x < <(t xdelta3 -d -f -s "$o" "$W/x" "$W/out_x"); same "$W/out_x" "$n"
    read -r ta_z ra_z < <(t zstd -q -d -f --long=27 --patch-from="$o" "$W/z" -o "$W/out_z"); same "$W/out_z" "$n"
    APPLY_ROWS+=("| $p | ${ta_o}s / ${ra_o} | ${ta_q}s / ${ra_q} | ${ta_b}s / ${ra_b} | ${ta_x}s / ${ra_x} | ${ta_z}s / ${ra_z} |")
done
echo
echo "### Apply CPU time (s) / peak RSS (KiB), output compared with the real new file"
echo
echo "| pair | **ota-delta** (streams from files) | qbsdiff | bspatch | xdelta3 -d | zstd -d --patch-from |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${APPLY_ROWS[@]}"

# Apply RSS against image size: synthetic pairs (pseudo-random old; new = old with 64 scattered
# 16-byte edits and, except for the XOR case, an 8 KiB insertion). Up to 10 MiB through the default (automatic) diff; the
# 256 MiB pair uses the XOR mode (a suffix array of 256 MiB would need several GiB to diff).
echo
echo "### Apply peak RSS vs image size (synthetic pairs)"
echo
echo "| image | mode | patch bytes | ota-delta apply s / RSS KiB | bspatch RSS KiB |"
echo "|---|---|---|---|---|"
# DELTA_SWEEP overrides the sizes (benches/run.sh --quick uses only the smallest).
for spec in ${DELTA_SWEEP:-100K:auto 1M:auto 10M:auto 256M:xor4}; do
    sz=${spec%%:*}; mode=${spec##*:}
    bytes=$(numfmt --from=iec "$sz")
    python3 - "$W/so" "$W/sn" "$bytes" "$mode" <<'PY'
import random, sys
o, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = random.Random(1)
old = bytearray(b''.join(r.randbytes(min(1 << 20, size - k)) for k in range(0, size, 1 << 20)))
new = bytearray(old)
for _ in range(64):
    i = r.randrange(0, size - 16)
    new[i:i + 16] = r.randbytes(16)
if sys.argv[4] != "xor4":  # same layout for the XOR case
    mid = size // 2
    new[mid:mid] = r.randbytes(8192)
new = new[:size]
open(o, "wb").write(old); open(n, "wb").write(new)
PY
    "$BIN/diff" "$W/so" "$W/sn" "$W/sp" "$mode" >/dev/null
    read -r ta ra < <(t "$BIN/apply" "$W/so" "$W/sp" "$W/sout"); same "$W/sout" "$W/sn"
    if [ "$bytes" -le $((10 << 20)) ]; then
        bsdiff "$W/so" "$W/sn" "$W/sb"; read -r _ rb < <(t bspatch "$W/so" "$W/sbo" "$W/sb")
    else
        rb="-"
    fi
    echo "| $sz | $mode | $(size "$W/sp") | ${ta}s / ${ra} | $rb |"
done
