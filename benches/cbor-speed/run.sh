#!/usr/bin/env bash
# Decode speed before/after the move onto ota-cbor (issue 24), both trees in one binary.
#   bash benches/cbor-speed/run.sh callgrind   # instructions per decode (repeatable)
#   bash benches/cbor-speed/run.sh criterion   # times: before then after, then the other order
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# Outside the repository: a path dependency under this workspace's directory is read with this
# workspace's package version, and the two trees would then collide in the lock file.
old=/tmp/ota-cbor-old-3be577b
if [ ! -d "$old" ]; then
    mkdir -p "$old"
    git archive 3be577b | tar -x -C "$old"
    # Both trees in one build: the old crates get another version so the lock file tells the
    # two `ota-manifest`s (etc.) apart.
    sed -i 's/version = "0.1.0"/version = "0.0.1"/' "$old/Cargo.toml"
fi
cd benches/cbor-speed
[ -f Cargo.lock ] || cp "$root/Cargo.lock" Cargo.lock # the workspace's dependency versions
export CARGO_TARGET_DIR=$root/target/cbor-speed
case "${1:-callgrind}" in
callgrind)
    cargo build --release
    bin=$CARGO_TARGET_DIR/release/cbor-speed
    "$bin" # document sizes
    for spec in small:1000:manifest fleet:100:manifest sign1:1000:envelope sign3:1000:envelope \
        value1k:1000:value value10k:100:value twin10k:100:twin_doc; do
        IFS=: read -r doc n f <<<"$spec"
        line="$doc"
        for tree in old new; do
            out=$(mktemp)
            valgrind --tool=callgrind --callgrind-out-file="$out" \
                --toggle-collect="cbor_speed::${tree}_$f" "$bin" "$doc" >/dev/null 2>&1
            ir=$(awk '/^totals/ {print $2}' "$out")
            rm -f "$out"
            line="$line $tree=$((ir / n))"
        done
        echo "$line (instructions per decode)"
    done
    ;;
criterion)
    cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3 --noplot
    AFTER_FIRST=1 cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3 --noplot
    ;;
*)
    echo "usage: $0 [callgrind|criterion]" >&2
    exit 2
    ;;
esac
