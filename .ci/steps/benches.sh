#!/usr/bin/env bash
# Quick mode of the comparison runner (tiny inputs, one repetition): every comparison with
# openssl, sha256sum, json-patch, bsdiff, xdelta3 and zstd runs, so a broken one fails CI.
# The full run (`bash benches/run.sh`) regenerates benches/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash benches/run.sh --quick
out="${CARGO_TARGET_DIR:-target}/RESULTS.quick.md"
for section in "SHA-256 throughput" "Ed25519 verification" "Manifest size" "Twin diff and apply" \
    "Rollout gates" "Delta patches on the real corpus"; do
    grep -q "## $section" "$out" || { echo "missing section: $section" >&2; exit 1; }
done
grep -q "| ujson_so |" "$out" || { echo "the delta comparison produced no row" >&2; exit 1; }
echo "benchmark quick run: all sections present"
