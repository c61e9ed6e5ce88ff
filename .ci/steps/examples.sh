#!/usr/bin/env bash
# Smoke run of every example, as a user would type it: the per-crate examples once each, and the
# flagship demo once at its default size (20,000 devices) from the repository root with the exact
# command the README gives. Their output is checked by `cargo test -p ota-examples`; here they
# must run to completion, and the demo must write its chart.
set -euo pipefail
cd "$(dirname "$0")/../.."

for ex in sign_and_verify manifest_plan delta_resume ring_plan twin_sync; do
    echo "example: $ex"
    cargo run --release --locked -p ota-examples --example "$ex"
done

svg=$(mktemp --suffix=.svg)
report=$(mktemp)
trap 'rm -f "$svg" "$report"' EXIT
echo "example: fleet_rollout (default size)"
t0=$(date +%s)
# (Not `tee /dev/stderr`: when CI's output goes to a file, reopening /dev/stderr truncates it.)
cargo run --release --locked --example fleet_rollout -- --svg "$svg" > "$report"
cat "$report"
grep -q "twins converged 20,000 of 20,000" "$report"
echo "fleet_rollout took $(( $(date +%s) - t0 )) s (including the build)"
grep -q "</svg>" "$svg"
