#!/usr/bin/env bash
# Fetches large, near-identical shared libraries: two Debian 12 (bookworm) builds of the same
# library, the one in bookworm and the one in bookworm-security, for the sparse-patch comparison
# of issue 15 (native patch size against bsdiff where the patch is under 1% of the file).
#
#   benches/compare/fetch-large-libs.sh DIR
#   bash benches/compare/delta.sh DIR > table.md      # the same comparison as the corpus
#
# Writes DIR/<pair>/old and DIR/<pair>/new and DIR/MANIFEST.tsv (pair, package, versions, path
# in the package, sizes, SHA-256). The binaries are never committed. Needs a Debian 12 system
# with bookworm and bookworm-security in its apt sources (run `apt-get update` first), apt-get
# and dpkg-deb. The versions are pinned so that the figures can be reproduced; when the archive
# has moved on (a security update replaces the newer version and the older one leaves the
# index), `apt-cache policy PACKAGE` lists what is there: edit PAIRS below with two versions of
# the same upstream release.
set -euo pipefail
DIR=${1:?usage: fetch-large-libs.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# pair | package | old version | new version | file name inside the package
PAIRS=(
    "libgs|libgs10|10.0.0~dfsg-11+deb12u8|10.0.0~dfsg-11+deb12u9|libgs.so.10.00"
    "libnode|libnode108|18.20.4+dfsg-1~deb12u2|18.20.4+dfsg-1~deb12u3|libnode.so.108"
    "libwebkit2gtk|libwebkit2gtk-4.1-0|2.50.6-1~deb12u1|2.50.6-1~deb12u2|libwebkit2gtk-4.1.so.0.19.9"
    # Byte-identical in both versions (a rebuild that changed nothing in this file): the
    # degenerate case, where only the patch formats' fixed overheads differ.
    "libjavascriptcoregtk_identical|libjavascriptcoregtk-4.1-0|2.50.6-1~deb12u1|2.50.6-1~deb12u2|libjavascriptcoregtk-4.1.so.0.9.11"
)

# fetch PACKAGE VERSION FILE OUT: downloads PACKAGE=VERSION and copies FILE out of it.
fetch() {
    local pkg=$1 ver=$2 file=$3 out=$4 deb found
    (cd "$W" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$W/err") || {
        echo "cannot download $pkg=$ver:" >&2
        cat "$W/err" >&2
        echo "available versions (edit PAIRS in $0):" >&2
        apt-cache policy "$pkg" >&2
        exit 1
    }
    deb=$(ls "$W"/"${pkg}"_*.deb)
    rm -rf "$W/x"
    dpkg-deb -x "$deb" "$W/x"
    found=$(find "$W/x" -name "$file" -type f | head -1)
    [ -n "$found" ] || { echo "$file not found in $deb" >&2; exit 1; }
    cp "$found" "$out"
    echo "${found#"$W"/x}"
    rm -f "$deb"
}

printf 'pair\tpackage\told_version\tnew_version\tpath\told_bytes\tnew_bytes\told_sha256\tnew_sha256\n' > "$DIR/MANIFEST.tsv"
for spec in "${PAIRS[@]}"; do
    IFS='|' read -r pair pkg old_ver new_ver file <<< "$spec"
    mkdir -p "$DIR/$pair"
    path=$(fetch "$pkg" "$old_ver" "$file" "$DIR/$pair/old")
    fetch "$pkg" "$new_ver" "$file" "$DIR/$pair/new" > /dev/null
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pair" "$pkg" "$old_ver" "$new_ver" "$path" \
        "$(stat -c %s "$DIR/$pair/old")" "$(stat -c %s "$DIR/$pair/new")" \
        "$(sha256sum < "$DIR/$pair/old" | cut -d' ' -f1)" "$(sha256sum < "$DIR/$pair/new" | cut -d' ' -f1)" \
        >> "$DIR/MANIFEST.tsv"
    echo "$pair: $(stat -c %s "$DIR/$pair/new") bytes, $(cmp -l "$DIR/$pair/old" "$DIR/$pair/new" 2>/dev/null | wc -l) bytes differ in place" >&2
done
