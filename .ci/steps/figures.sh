#!/usr/bin/env bash
# Figures in the READMEs come from the benchmark records, never from memory: each crate README's
# figure paragraph sits between
#
#   <!-- figures: benches/RESULTS.md benches/results/NAME.md -->
#   ...
#   <!-- /figures -->
#
# and every figure inside it (a number with a unit: µs, ms, s, MB/s, MiB/s, B, KiB, %, x...; every
# number in bold), every date (YYYY-MM-DD) and every command in backticks that starts with `cargo` or `bash` must appear
# verbatim in one of the files the marker names. A README figure that drifts from the records
# (or a record re-run without updating the README) fails this step.
#
#   bash .ci/steps/figures.sh            check every */README.md and README.md
#   bash .ci/steps/figures.sh FILE...    check only these files
set -euo pipefail
cd "$(dirname "$0")/../.."

# A number (1,234 / 0.81 / 17) and its unit. Longer units first so "MB/s" is not read as "MB".
unit='(µs|ns|ms|MB/s|MiB/s|GB/s|GiB/s|KiB|MiB|GiB|KB|MB|GB|s|B|%|x)'
figure="[0-9][0-9,]*(\\.[0-9]+)?( ?$unit)(\$|[^A-Za-z0-9/])"

check_file() {
    local readme=$1 failures=0 in_block=0 sources="" line n=0 token
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        if [[ $line =~ \<!--\ figures:\ (.*)\ --\> ]]; then
            in_block=1
            sources=${BASH_REMATCH[1]}
            local s
            for s in $sources; do
                [ -f "$s" ] || { echo "$readme:$n: figures source $s does not exist" >&2; failures=$((failures + 1)); }
            done
            continue
        fi
        if [[ $line == *'<!-- /figures -->'* ]]; then
            in_block=0
            continue
        fi
        [ $in_block = 1 ] || continue
        # Figures, dates and commands of this line.
        while IFS= read -r token; do
            [ -n "$token" ] || continue
            # shellcheck disable=SC2086
            if ! grep -qF -- "$token" $sources; then
                echo "$readme:$n: \"$token\" is not in $sources" >&2
                failures=$((failures + 1))
            fi
        done < <(
            {
                grep -oE -- "$figure" <<<"$line" | sed -E 's/[^A-Za-z0-9%µ/]$//' || true
                # Bold counts ("**141.3 reports**"): each number in them.
                grep -oE '\*\*[^*]*[0-9][^*]*\*\*' <<<"$line" | grep -oE '[0-9][0-9,]*(\.[0-9]+)?' || true
                grep -oE '20[0-9]{2}-[0-9]{2}-[0-9]{2}' <<<"$line" || true
                grep -oE '`(cargo|bash) [^`]*`' <<<"$line" | tr -d '`' || true
            }
        )
    done <"$readme"
    if [ $in_block = 1 ]; then
        echo "$readme: <!-- figures: ... --> without <!-- /figures -->" >&2
        failures=$((failures + 1))
    fi
    return $((failures > 0))
}

if [ $# -gt 0 ]; then
    files=("$@")
else
    files=()
    for f in README.md */README.md; do
        grep -q '<!-- figures:' "$f" && files+=("$f")
    done
fi
status=0
checked=0
for f in "${files[@]}"; do
    checked=$((checked + 1))
    check_file "$f" || status=1
done
if [ $status = 0 ]; then
    echo "figures: ${checked} README(s) quote only figures found in their benchmark records"
fi
exit $status
