#!/usr/bin/env python3
"""Writes the negative fixtures of tests/negative.rs from the three positive ones.

The positive fixtures (root_valid.cbor, root_signed_valid.cose, env_valid_sign1.cose) were
written by ota-verify itself from fixed seeds (trust root: root key = seed [1; 32], release key =
seed [10; 32], version 1, expires 2000000000; release: sequence 5, expires 1700086400). Each
negative file below is one defect; the test names the error each must give.
Run from this directory: python3 generate.py
"""

def head(major, arg):
    m = major << 5
    if arg < 24:
        return bytes([m | arg])
    for ai, n in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * n):
            return bytes([m | ai]) + arg.to_bytes(n, "big")
    raise ValueError(arg)

def bstr(b):
    return head(2, len(b)) + b

def tstr(s):
    return head(3, len(s)) + s.encode()

def uint(v):
    return head(0, v)

def nint(v):  # v < 0
    return head(1, -1 - v)

def arr(*items):
    return head(4, len(items)) + b"".join(items)

root = open("root_valid.cbor", "rb").read()
env = open("env_valid_sign1.cose", "rb").read()
# The two keys of the valid root (keys array starts after "03 82").
k0 = root[0x1f:0x1f + 32]
k1 = root[0x41:0x41 + 32]
assert root[0x1d:0x1f] == b"\x58\x20" and root[0x3f:0x41] == b"\x58\x20"

def trust_root(type_marker="ota-trust-root/1", version=uint(1), expires=uint(2000000000),
               keys=(k0, k1), roles=((0, 1, (0,)), (1, 1, (1,))), order=(0, 1, 2, 3, 4), extra=b""):
    parts = {
        0: uint(0) + tstr(type_marker),
        1: uint(1) + version,
        2: uint(2) + expires,
        3: uint(3) + arr(*[bstr(k) for k in keys]),
        4: uint(4) + arr(*[arr(uint(r), uint(t), arr(*[uint(i) for i in m])) for r, t, m in roles]),
    }
    n = len(order) + (1 if extra else 0)
    return head(5, n) + b"".join(parts[i] for i in order) + extra

assert trust_root() == root, "generator no longer matches the valid fixture"

files = {
    "root_trailing_byte.cbor": root + b"\x00",
    "root_truncated.cbor": root[:-3],
    "root_keys_unsorted.cbor": trust_root(keys=(k1, k0), roles=((0, 1, (1,)), (1, 1, (0,)))),
    "root_threshold_zero.cbor": trust_root(roles=((0, 0, (0,)), (1, 1, (1,)))),
    "root_threshold_above_keys.cbor": trust_root(roles=((0, 2, (0,)), (1, 1, (1,)))),
    "root_non_shortest_version.cbor": trust_root(version=b"\x18\x01"),
    "root_wrong_type_marker.cbor": trust_root(type_marker="ota-manifest/1"),
    "root_map_keys_out_of_order.cbor": trust_root(order=(0, 2, 1, 3, 4)),
    "root_extra_entry.cbor": trust_root(extra=uint(5) + uint(0)),
    "root_small_order_key.cbor": trust_root(keys=(b"\x01" + b"\x00" * 31, k1)),
    "root_no_release_role.cbor": trust_root(keys=(k0,), roles=((0, 1, (0,)),)),
    "root_key_in_no_role.cbor": trust_root(roles=((0, 1, (0,)), (1, 1, (0,)))),
    "root_key_index_out_of_range.cbor": trust_root(roles=((0, 1, (0,)), (1, 1, (2,)))),
    "root_roles_unsorted.cbor": trust_root(roles=((1, 1, (1,)), (0, 1, (0,)))),
    "root_too_many_keys.cbor": trust_root(keys=tuple([k0] * 17)),
    "root_float_version.cbor": trust_root(version=b"\xf9\x3c\x00"),
    "root_indefinite_keys.cbor": root.replace(b"\x03\x82\x58\x20", b"\x03\x9f\x58\x20", 1)[:-0x2c] + b"",
}
# Indefinite keys array: rebuild precisely instead of slicing.
files["root_indefinite_keys.cbor"] = (
    head(5, 5) + uint(0) + tstr("ota-trust-root/1") + uint(1) + uint(1) + uint(2)
    + uint(2000000000) + uint(3) + b"\x9f" + bstr(k0) + bstr(k1) + b"\xff"
    + uint(4) + arr(arr(uint(0), uint(1), arr(uint(0))), arr(uint(1), uint(1), arr(uint(1))))
)

sig = b"\x00" * 64
kid10 = bytes.fromhex("506ef1879d748ce0713b0dd01da32ad2a4b1ce97b5a852ff18800c1e52982376")
prot = lambda *kv: bstr(head(5, len(kv) // 2) + b"".join(kv))
deep = b"\x81" * 100 + b"\x00"
files.update({
    "env_truncated.cose": env[:-10],
    "env_trailing_byte.cose": env + b"\x00",
    "env_wrong_tag.cose": b"\xd1" + env[1:],  # tag 17 (COSE_Mac0)
    "env_indefinite_array.cose": b"\xd2\x9f" + env[2:] + b"\xff",
    "env_array_of_5.cose": b"\xd2\x85" + env[2:] + b"\xf6",
    "env_alg_unprotected.cose": b"\xd2" + arr(bstr(b""), head(5, 1) + uint(1) + nint(-8), bstr(b"x"), bstr(sig)),
    "env_duplicate_label.cose": b"\xd2" + arr(prot(uint(1), nint(-8), uint(1), nint(-8)), head(5, 0), bstr(b"x"), bstr(sig)),
    "env_label_in_both_buckets.cose": b"\xd2" + arr(prot(uint(4), bstr(kid10)), head(5, 1) + uint(4) + bstr(kid10), bstr(b"x"), bstr(sig)),
    "env_deep_nesting.cose": b"\xd2" + arr(bstr(b""), head(5, 1) + uint(99) + deep, bstr(b"x"), bstr(sig)),
    "env_too_many_signatures.cose": b"\xd8\x62" + arr(bstr(b""), head(5, 0), bstr(b"x"),
        arr(*[arr(prot(uint(1), nint(-8)), head(5, 0), bstr(sig)) for _ in range(17)])),
    "env_no_signatures.cose": b"\xd8\x62" + arr(bstr(b""), head(5, 0), bstr(b"x"), arr()),
    "env_huge_payload_length.cose": b"\xd2\x84" + bstr(b"") + head(5, 0) + b"\x5b\x7f\xff\xff\xff\xff\xff\xff\xff",
    "env_float_header.cose": b"\xd2" + arr(bstr(b""), head(5, 1) + uint(99) + b"\xfb" + b"\x00" * 8, bstr(b"x"), bstr(sig)),
    "env_unknown_critical.cose": b"\xd2" + arr(prot(uint(1), nint(-8), uint(2), arr(uint(99)), uint(99), uint(0)), head(5, 0), bstr(b"x"), bstr(sig)),
    "env_critical_label_absent.cose": b"\xd2" + arr(prot(uint(1), nint(-8), uint(2), arr(nint(-65537))), head(5, 0), bstr(b"x"), bstr(sig)),
    "env_protected_not_a_map.cose": b"\xd2" + arr(bstr(arr(uint(1))), head(5, 0), bstr(b"x"), bstr(sig)),
    "env_unsupported_alg.cose": b"\xd2" + arr(prot(uint(1), nint(-7), uint(4), bstr(kid10)), head(5, 0), bstr(b"x"), bstr(sig)),
    "env_short_signature.cose": b"\xd2" + arr(prot(uint(1), nint(-8), uint(4), bstr(kid10)), head(5, 0), bstr(b"x"), bstr(sig[:63])),
})
for name, data in sorted(files.items()):
    with open(name, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")
