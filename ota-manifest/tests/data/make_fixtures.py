#!/usr/bin/env python3
"""Writes the CBOR fixtures of tests/data with a CBOR encoder written here, independently of the
crate's encoder (it sorts map keys by their encoded bytes and picks the shortest head by
comparison, as RFC 8949 section 4.2.1 describes). Run from this directory: python3 make_fixtures.py
The Rust tests check that `valid.cbor` decodes and that the crate re-encodes it to the same bytes,
and that every other fixture is rejected with the error its name says."""
import hashlib


class Raw(bytes):
    """Already encoded bytes, written as they are (to build malformed input)."""


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def enc(v):
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"\xf6"
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        items = sorted((enc(k), enc(x)) for k, x in v.items())
        return head(5, len(items)) + b"".join(k + x for k, x in items)
    raise TypeError(v)


def sha(data):
    return hashlib.sha256(data).digest()


VENDOR = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CLASS = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
FW = b"lock firmware 2.0.0 for gen-2 boards" * 100
FW_OLD = b"lock firmware 1.4.2 for gen-2 boards" * 100
PATCH = b"a bsdiff patch" * 10
APP = b"door app container"


def component_fw():
    return {
        0: "lock-fw",
        1: 0,
        2: "2.0.0",
        3: "^1.4",
        4: len(FW),
        5: sha(FW),
        6: 1024,
        7: b"".join(sha(FW[i : i + 1024]) for i in range(0, len(FW), 1024)),
        8: [["1.4.2", sha(FW_OLD), len(PATCH), sha(PATCH), 0]],
        11: [0, sha(b"sbom"), "https://example.invalid/sbom.json"],
        12: ["https://example.invalid/lock-fw-2.0.0.bin"],
        -1: {"note": [1, -2, b"\x00", True, None]},
    }


def component_app():
    return {
        0: "door-app",
        1: 1,
        2: "3.1.0",
        3: ">=3.0.0, <3.1.0",
        4: len(APP),
        5: sha(APP),
        9: [["lock-fw", "^2"]],
        10: 5,
        13: "registry.example.invalid/door-app:3.1.0",
    }


def manifest(over=None):
    m = {
        0: 1,
        1: "lock-2026.11",
        2: "2026.11.0",
        3: 42,
        4: 3,
        5: 1764000000,
        6: 1795536000,
        7: "https://example.invalid/notes/2026.11",
        8: VENDOR,
        9: [CLASS],
        11: ["^2"],
        12: [component_fw(), component_app()],
        -2: "an extension a newer writer added",
    }
    m.update(over or {})
    return m


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


valid = enc(manifest())
write("valid.cbor", valid)
write("truncated.cbor", valid[:-7])
write("trailing_bytes.cbor", valid + b"\x00")

# Map {0: 1, 1: "a", 1: "b", ...}: the duplicate is written by hand after a sorted prefix.
# Re-encode the top map with key 1 repeated: 14 entries declared, keys 0, 1, 1, 2, ...
m = manifest()
items = sorted((enc(k), enc(x)) for k, x in m.items())
dup = items[:2] + [(enc(1), enc("again"))] + items[2:]
write("duplicate_key.cbor", head(5, len(dup)) + b"".join(k + x for k, x in dup))
unsorted = [items[1], items[0]] + items[2:]
write("unsorted_key.cbor", head(5, len(unsorted)) + b"".join(k + x for k, x in unsorted))

# sequence 42 written with a two-byte head (0x19 0x00 0x2a) instead of 0x18 0x2a.
write("non_shortest_int.cbor", enc(manifest({3: Raw(b"\x19\x00\x2a")})))
# the release name as an indefinite-length text string of two chunks.
write("indefinite_length.cbor", enc(manifest({1: Raw(b"\x7f\x64lock\x62-x\xff")})))
# an extension value nested 10 000 arrays deep.
write("deep_nesting.cbor", enc(manifest({-3: Raw(b"\x81" * 10000 + b"\x00")})))
# 70 000 bytes: over the 64 KiB default before anything is parsed.
write("oversize.cbor", enc(manifest({-3: b"\x00" * 70000})))
# 65 components, over the default limit of 64.
write("too_many_components.cbor", enc(manifest({12: [component_app()] * 65})))
# a 2000-byte release name, over the 1024-byte string limit.
write("long_string.cbor", enc(manifest({1: "x" * 2000})))
write("unknown_mandatory_field.cbor", enc(manifest({99: "must understand"})))
write("format_version_2.cbor", enc(manifest({0: 2})))
write("wrong_type.cbor", enc(manifest({3: "42"})))
write("float.cbor", enc(manifest({3: Raw(b"\xf9\x3c\x00")})))
m = manifest()
del m[5]
write("missing_field.cbor", enc(m))
fw = component_fw()
fw[5] = sha(FW)[:31]
write("short_digest.cbor", enc(manifest({12: [fw]})))
fw = component_fw()
fw[2] = "2.0"
write("bad_version.cbor", enc(manifest({12: [fw]})))
fw = component_fw()
fw[3] = ">= 1.4"
write("non_canonical_requirement.cbor", enc(manifest({12: [fw]})))
fw = component_fw()
fw[1] = 7
write("reserved_layer.cbor", enc(manifest({12: [fw]})))
fw = component_fw()
fw[10] = 0
write("default_written.cbor", enc(manifest({12: [fw]})))
write("empty_list.cbor", enc(manifest({10: []})))

# The fields the EU Cyber Resilience Act asks for (FORMAT.md release keys 13, 14; component keys
# 11 with a format name, 14, 15). The fixtures above stay as they were: a manifest without the
# new keys is unchanged.
SUPPORT_END = 1924992000  # 2031-01-01T00:00:00Z: supported through 2030
CVES = ["CVE-2014-0160", "CVE-2021-44228", "CVE-2024-123456"]
SBOM_DOC = b'{"bomFormat":"CycloneDX","specVersion":"1.5","version":1}'


def component_fw_cra():
    c = component_fw()
    c[11] = ["CycloneDX-1.5+json", sha(SBOM_DOC), "https://example.invalid/lock-fw-2.0.0.cdx.json"]
    c[14] = 1
    c[15] = list(CVES)
    return c


def component_app_cra():
    c = component_app()
    c[14] = 0
    return c


def manifest_cra(over=None, fw=None):
    m = manifest({12: [fw or component_fw_cra(), component_app_cra()], 13: SUPPORT_END, 14: 7 * 86400})
    m.update(over or {})
    return m


write("cra.cbor", enc(manifest_cra()))
fw = component_fw_cra()
fw[15] = ["CVE-2014-160"]
write("cra_bad_cve.cbor", enc(manifest_cra(fw=fw)))
fw = component_fw_cra()
fw[15] = ["CVE-2024-%05d" % (10000 + i) for i in range(65)]
write("cra_too_many_cves.cbor", enc(manifest_cra(fw=fw)))
fw = component_fw_cra()
fw[14] = 2
write("cra_unknown_update_class.cbor", enc(manifest_cra(fw=fw)))
fw = component_fw_cra()
fw[11][0] = "CycloneDX-1.5"
write("cra_bad_sbom_format.cbor", enc(manifest_cra(fw=fw)))
write("cra_support_end_as_text.cbor", enc(manifest_cra({13: "2031-01-01"})))
fw = component_fw_cra()
fw[15] = []
write("cra_empty_cve_list.cbor", enc(manifest_cra(fw=fw)))
# Decodable but invalid (Manifest::validate and the view's check refuse them alike).
fw = component_fw_cra()
fw[15] = ["CVE-2014-0160", "CVE-2014-0160"]
write("cra_duplicate_cve.cbor", enc(manifest_cra(fw=fw)))
app = component_app_cra()
app[15] = ["CVE-2021-44228"]
write("cra_cves_on_feature_update.cbor", enc(manifest({12: [component_fw_cra(), app], 13: SUPPORT_END})))
write("cra_support_end_before_issued.cbor", enc(manifest_cra({13: 1_700_000_000})))
