#!/usr/bin/python3
"""Generates engine/hash/testdata/keccak256_vectors.txt with an independent Keccak-256
(Debian's python3-pycryptodome). Used once to produce the committed vectors; the tests
never run it. Message of length n: byte i = (i * 131 + n * 7 + 3) mod 256."""
from Cryptodome.Hash import keccak

def message(n):
    return bytes((i * 131 + n * 7 + 3) % 256 for i in range(n))

lengths = list(range(0, 301)) + [1000, 1088, 4096]
print("# length keccak256(message(length)); message byte i = (i*131 + length*7 + 3) % 256")
for n in lengths:
    h = keccak.new(digest_bits=256)
    h.update(message(n))
    print(n, h.hexdigest())
for label, data in [("abc", b"abc"), ("empty", b"")]:
    h = keccak.new(digest_bits=256); h.update(data)
    print("#", label, h.hexdigest())
