#!/usr/bin/env bash
# Runs every C program of ota-ffi once more, without sanitizers, under valgrind:
# any memory error or definite leak fails CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -p ota-ffi --locked
lib=target/debug/libota.a
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Programs that need arguments read them from tests/c/<name>.args (one line), if present.
for src in ota-ffi/tests/c/*.c; do
    name=$(basename "$src" .c)
    gcc -std=c11 -Wall -Wextra -Werror -g -O1 -I ota-ffi/include "$src" "$lib" \
        -lpthread -ldl -lm -o "$out/$name"
    args=()
    if [ -f "ota-ffi/tests/c/$name.args" ]; then
        read -r -a args < "ota-ffi/tests/c/$name.args"
    fi
    echo "valgrind: $name ${args[*]:-}"
    (cd "$out" && valgrind -q --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect "./$name" "${args[@]}" >/dev/null)
done
echo "valgrind: all C programs clean"
