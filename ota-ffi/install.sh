#!/usr/bin/env bash
# Builds libota (release) and installs the static and shared libraries, the header and a
# pkg-config file under PREFIX (default /usr/local):
#   ota-ffi/install.sh [PREFIX]
# then: cc app.c $(pkg-config --cflags --libs ota)            (shared)
#       cc app.c $(pkg-config --cflags ota) "$(pkg-config --variable=libdir ota)/libota.a" -lpthread -ldl -lm   (static)
set -euo pipefail
prefix=${1:-/usr/local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
cargo build --release -p ota-ffi --locked
target=${CARGO_TARGET_DIR:-$root/target}/release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
install -d "$prefix/lib" "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 "$target/libota.a" "$prefix/lib/libota.a"
# The shared library's SONAME is libota.so.MAJOR (build.rs): the loader looks for that name, the
# linker (-lota) for libota.so. Both are symlinks to the versioned file.
major=${version%%.*}
install -m 0755 "$target/libota.so" "$prefix/lib/libota.so.$version"
ln -sf "libota.so.$version" "$prefix/lib/libota.so.$major"
ln -sf "libota.so.$major" "$prefix/lib/libota.so"
install -m 0644 "$here/include/ota.h" "$prefix/include/ota.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$here/ota.pc.in" \
    > "$prefix/lib/pkgconfig/ota.pc"
echo "installed libota $version under $prefix"
