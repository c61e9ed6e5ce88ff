#!/usr/bin/env bash
# Fuzz smoke: every target for a fixed number of runs from its committed corpus
# (fuzz/corpus/TARGET, made by fuzz/make_corpus.sh). Fails on a crash (panic, abort, a run over
# 10 s, over 2 GiB of memory), on a target without a corpus or coverage floor, and on a target whose
# coverage after loading its corpus (libFuzzer's `cov:` on the INITED line) is below its floor
# in fuzz/coverage-floors.txt: a harness that stops reaching its code fails here.
#
# Stable toolchain only: `-s none` (no sanitizer) needs no nightly flag; AddressSanitizer needs
# nightly (or RUSTC_BOOTSTRAP=1) and is for the longer campaigns in fuzz/README.md. A panic
# still aborts the process, which libFuzzer reports as a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${FUZZ_SMOKE_RUNS:-3000}
# ... or this many seconds per target, whichever comes first (delta_bsdiff runs ~300 inputs/s).
SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-15}
floors=${FUZZ_FLOORS:-fuzz/coverage-floors.txt}
host=$(rustc -vV | sed -n 's/^host: //p')
bin="fuzz/target/$host/release"

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing (.ci/setup/fuzz.sh installs it)" >&2; exit 1; }

echo "--- fuzz: build every target (sanitizer none)"
cargo fuzz build -s none

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
targets=$(cargo fuzz list)
for t in $targets; do
    floor=$(awk -v t="$t" '$1 == t { print $2 }' "$floors")
    if [ -z "$floor" ] || [ ! -d "fuzz/corpus/$t" ]; then
        echo "FAIL $t: no corpus in fuzz/corpus/$t or no floor in $floors" >&2
        fail=1
        continue
    fi
    mkdir "$work/$t"
    t0=$(date +%s)
    # New inputs go to the scratch directory (the first one), not into the committed corpus.
    if ! "$bin/$t" -runs="$RUNS" -max_total_time="$SECONDS_EACH" -seed=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$t-" "$work/$t" "fuzz/corpus/$t" >"$work/$t.log" 2>&1; then
        echo "FAIL $t: crash (last lines of libFuzzer's output follow)" >&2
        tail -n 40 "$work/$t.log" >&2
        for a in "$work/$t"-*; do
            [ -e "$a" ] && echo "input (base64): $(base64 -w0 "$a")" >&2
        done
        fail=1
        continue
    fi
    cov=$(grep -m1 -o 'INITED cov: [0-9]*' "$work/$t.log" | grep -o '[0-9]*$' || true)
    end=$(grep -m1 -o '^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: [0-9]*' "$work/$t.log" | tr -s '[:space:]' ' ' || true)
    printf '%-22s INITED cov %5s (floor %5s); %s runs, cov %s; %3d s\n' "$t" "${cov:-?}" "$floor" \
        "$(cut -d' ' -f1 <<<"$end" | tr -d '#')" "$(awk '{print $NF}' <<<"$end")" "$(( $(date +%s) - t0 ))"
    if [ -z "$cov" ] || [ "$cov" -lt "$floor" ]; then
        echo "FAIL $t: coverage from its corpus ${cov:-unknown} is below the floor $floor" >&2
        fail=1
    fi
done
# Every floor names a target that still exists.
while read -r t _; do
    case "$t" in '' | '#'*) continue ;; esac
    grep -qx "$t" <<<"$targets" || { echo "FAIL: $floors names $t, which is not a target" >&2; fail=1; }
done <"$floors"
exit "$fail"
