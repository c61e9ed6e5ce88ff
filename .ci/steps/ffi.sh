#!/usr/bin/env bash
# Runs every C program of ota-ffi once more, without sanitizers, under valgrind:
# any memory error or definite leak fails CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Release build of the library: the same one install.sh uses below; valgrind on an unoptimised LZMA2
# decoder would take minutes per program. The fixtures tool runs in debug (built by cargo test).
cargo build --release -p ota-ffi --locked
lib=${CARGO_TARGET_DIR:-target}/release/libota.a
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The programs' test data (signed root and manifest, old image, patch), the same bytes cargo test
# writes: deterministic keys and images from tests/fixtures/mod.rs.
cargo run -q -p ota-ffi --locked --example make_fixtures -- "$out/fixtures"
# Every program gets the fixture directory as its first argument (those that need no files
# ignore it); a program needing more reads them from tests/c/<name>.args (one line).
for src in ota-ffi/tests/c/*.c; do
    name=$(basename "$src" .c)
    gcc -std=c11 -Wall -Wextra -Werror -g -O1 -I ota-ffi/include "$src" "$lib" \
        -lpthread -ldl -lm -o "$out/$name"
    args=("$out/fixtures")
    if [ -f "ota-ffi/tests/c/$name.args" ]; then
        read -r -a extra < "ota-ffi/tests/c/$name.args"
        args+=("${extra[@]}")
    fi
    echo "valgrind: $name"
    result=$(cd "$out" && valgrind -q --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect "./$name" "${args[@]}")
    # The program's own verdict counts too, not only valgrind's.
    if [ "$(printf '%s\n' "$result" | tail -n 1)" != PASS ]; then
        printf '%s\n' "$result" >&2
        echo "valgrind: $name did not print PASS" >&2
        exit 1
    fi
done
echo "valgrind: all C programs clean"

# The installed library links as a user would: pkg-config, static and shared.
prefix="$out/prefix"
bash ota-ffi/install.sh "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
# Static: name the archive (with -lota the linker would prefer libota.so beside it).
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror ota-ffi/tests/c/status.c $(pkg-config --cflags ota) \
    "$(pkg-config --variable=libdir ota)/libota.a" $(pkg-config --libs-only-other --static ota) \
    -lpthread -ldl -lm -o "$out/status-static"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror ota-ffi/tests/c/status.c $(pkg-config --cflags --libs ota) \
    -o "$out/status-shared"
"$out/status-static" >/dev/null
if ldd "$out/status-static" | grep -q 'libota.so'; then
    echo "the static build depends on libota.so" >&2
    exit 1
fi
LD_LIBRARY_PATH="$prefix/lib" "$out/status-shared" >/dev/null
if ldd "$out/status-shared" | grep -q 'libota.so'; then
    echo "pkg-config: static and shared builds link and run"
else
    echo "the shared build did not link libota.so" >&2
    exit 1
fi
