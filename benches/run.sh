#!/usr/bin/env bash
# The comparison runner: every figure of ours beside the tool people use today, measured in the
# same run, with the ratio.
#
#   bash benches/run.sh           full run (about 15-20 minutes): regenerates benches/RESULTS.md above its
#                                 hand-run marker (the sections below it are kept)
#   bash benches/run.sh --quick   CI smoke run (small inputs, one repetition, under 3 minutes):
#                                 writes $CARGO_TARGET_DIR/RESULTS.quick.md; the numbers mean
#                                 nothing, but every comparison runs, so a broken one fails.
#
# Needs the tools it compares with: openssl, sha256sum, bsdiff, xdelta3, zstd, xz, GNU time
# (installed by .ci/setup/delta.sh when missing) and the delta corpus in ../shared/corpus/data
# (fetch it with ../shared/corpus/fetch-delta-corpus.sh DIR and pass OTA_CORPUS=DIR otherwise).
# Absolute times on a shared machine are noisy: run it on a quiet machine, read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
target=${CARGO_TARGET_DIR:-target}
export CARGO_TARGET_DIR=$target
if [ $quick = 1 ]; then out="$target/RESULTS.quick.md"; else out=benches/RESULTS.md; fi
corpus=${OTA_CORPUS:-../shared/corpus/data}

cargo build -q --release -p ota-benches --example compare
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version() { "$@" 2>&1 | head -1 || true; }
{
    echo "# Benchmark results"
    echo
    if [ $quick = 1 ]; then
        echo "QUICK MODE (CI smoke run): tiny inputs, one repetition. These numbers are not results."
    else
        echo "Regenerate with \`bash benches/run.sh\` (this whole file). Generated $(date -u '+%Y-%m-%d %H:%M UTC')."
    fi
    echo
    echo "- Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(uname -sr)"
    echo "- Load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- rustc: $(version rustc --version)"
    echo "- openssl: $(version openssl version)"
    echo "- sha256sum: $(version sha256sum --version)"
    echo "- xdelta3: $(version xdelta3 -V)"
    echo "- zstd: $(version zstd -V)"
    echo "- xz: $(version xz -V)"
    echo "- bsdiff/bspatch: Debian package $(dpkg-query -W -f='${Version}' bsdiff 2>/dev/null || echo 'not installed')"
    echo
    if [ $quick = 1 ]; then
        "$target/release/examples/compare" --quick
    else
        "$target/release/examples/compare"
    fi
    echo "## Delta patches on the real corpus"
    echo
    echo "Times are CPU seconds (user + system), the median of ${DELTA_RUNS:-3} runs of each tool (DELTA_RUNS);"
    echo "RSS is the largest peak of those runs."
    echo
    if [ -d "$corpus" ]; then
        if [ $quick = 1 ]; then
            # One small real pair, and the memory sweep only at its smallest size.
            mkdir -p "$work/corpus"
            ln -s "$(cd "$corpus" && pwd)/ujson_so" "$work/corpus/ujson_so"
            DELTA_RUNS=1 DELTA_SWEEP="100K:auto" bash benches/compare/delta.sh "$work/corpus"
        else
            bash benches/compare/delta.sh "$corpus"
        fi
    else
        echo "Corpus not found at $corpus: skipped (fetch it with shared/corpus/fetch-delta-corpus.sh)."
    fi
    echo
    echo "## Update agent: writes per update, recovery after a cut, lifecycle overhead"
    echo
    echo "\`OTA_AGENT_COUNTS_ONLY=1 cargo bench -p ota-benches --bench agent\` (this section; counts are"
    echo "deterministic, times are wall-clock medians over the cut points and on-CPU medians). The"
    echo "criterion figures and MCUboot's trailer/swap-status arithmetic are in \`benches/results/agent.md\`."
    echo
    OTA_AGENT_COUNTS_ONLY=1 cargo bench -q -p ota-benches --bench agent 2>/dev/null
    echo
    echo "## Per-crate criterion benchmarks"
    echo
    echo "Each crate's criterion benchmarks (\`cargo bench -p ota-benches --bench NAME\`) and their"
    echo "recorded figures, with the command of each, are in \`benches/results/NAME.md\`:"
    for f in benches/results/*.md; do
        [ -e "$f" ] && echo "- [\`$(basename "$f")\`](results/$(basename "$f"))"
    done
} > "$work/results.md"
# Sections measured by hand (their own command, named in each) follow the hand-run marker: keep them.
if [ $quick = 0 ] && [ -f "$out" ] && grep -q '^<!-- hand-run:' "$out"; then
    echo >> "$work/results.md"
    sed -n '/^<!-- hand-run:/,$p' "$out" >> "$work/results.md"
fi
mv "$work/results.md" "$out"
echo "wrote $out" >&2
