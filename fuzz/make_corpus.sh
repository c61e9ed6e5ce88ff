#!/usr/bin/env bash
# Regenerates the seed corpora under fuzz/corpus/TARGET/ (deterministic; commit the result).
# Needs no fuzzing toolchain: a plain release build of fuzz/examples/make_corpus.rs.
set -euo pipefail
cd "$(dirname "$0")"
cargo run --quiet --release --example make_corpus -- "$PWD/corpus"
for d in corpus/*/; do
    printf '%-24s %3d files %7d bytes\n' "$(basename "$d")" "$(ls "$d" | wc -l)" "$(cat "$d"* | wc -c)"
done
