#!/usr/bin/env python3
"""Independent check of the crate's CBOR (run by tests/cbor2.rs): every file given in the
directory argv[1] is decoded by python `cbor2` and re-encoded with canonical=True; the bytes must
be equal (so the crate writes the RFC 8949 section 4.2.1 core deterministic encoding as cbor2
understands it), and the decoded map must start with protocol version 1 and a known kind.
Prints "checked N" on success; exits 1 with the first difference otherwise."""
import os
import sys

import cbor2


def main():
    d = sys.argv[1]
    names = sorted(os.listdir(d))
    for name in names:
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        value = cbor2.loads(data)
        again = cbor2.dumps(value, canonical=True)
        if again != data:
            print(f"{name}: cbor2 re-encodes differently\n ours  {data.hex()}\n cbor2 {again.hex()}")
            sys.exit(1)
        if not isinstance(value, dict) or value.get(0) != 1 or value.get(1) not in (1, 2, 3):
            print(f"{name}: not a version 1 message: {value!r}")
            sys.exit(1)
    print(f"checked {len(names)}")


if __name__ == "__main__":
    main()
