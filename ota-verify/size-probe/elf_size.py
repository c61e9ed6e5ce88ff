#!/usr/bin/env python3
"""Prints flash (text + rodata + data) and RAM (data + bss) of a 32-bit little-endian ELF, like
`size`, without needing an ARM binutils."""
import struct, sys

with open(sys.argv[1], "rb") as f:
    elf = f.read()
assert elf[:4] == b"\x7fELF" and elf[4] == 1, "not a 32-bit ELF"
shoff, = struct.unpack_from("<I", elf, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x2E)
sections = []
for i in range(shnum):
    name, typ, flags, addr, off, size = struct.unpack_from("<IIIIII", elf, shoff + i * shentsize)
    sections.append((name, typ, flags, size))
strtab_off = struct.unpack_from("<I", elf, shoff + shstrndx * shentsize + 16)[0]
def name_of(n):
    end = elf.index(b"\0", strtab_off + n)
    return elf[strtab_off + n:end].decode()
sizes = {name_of(n): size for n, _, _, size in sections}
text, rodata, data, bss = (sizes.get(s, 0) for s in (".text", ".rodata", ".data", ".bss"))
print(f"text={text} rodata={rodata} data={data} bss={bss} flash={text + rodata + data} ram={data + bss}")
