"""Short typeable codes for printed letters: ``7KQ2-M9XD-4RTB-F``.

A code is 12 random symbols (60 bits) of Crockford's base-32 alphabet plus one check symbol.
The alphabet has no I, L, O or U, so reading a letter aloud or typing it by hand is forgiving:
case does not matter, O is read as 0 and I or L as 1, spaces and dashes are ignored.

The check symbol is a weighted sum over GF(32) (weights are successive powers of a primitive
element). In a field every non-zero change of one symbol changes the sum, so any single
mistyped character is caught; so is any swap of two neighbouring symbols. A code that fails
the check is rejected before the database is asked, and codes are random, so one code says
nothing about another.
"""

from __future__ import annotations

import os

from purl.links.galois import Field

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_SYMBOLS = 12
LENGTH = DATA_SYMBOLS + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# Look-alikes people type for the symbols the alphabet leaves out.
_VALUE.update({"O": 0, "I": 1, "L": 1})

# GF(2^5) with the primitive polynomial x^5 + x^2 + 1.
_GF32 = Field.of(5, 0b100101)


# Position i (0 = leftmost) weighs with alpha^(i+1); precomputed per position and value.
_WEIGHTED = [[_GF32.mul(_GF32.exp[i + 1], v) for v in range(32)]
             for i in range(DATA_SYMBOLS)]
# Minting a million codes must be cheap: each random byte becomes one symbol in C (its low
# five bits; 256 is a multiple of 32, so every symbol is equally likely), and the check weighs
# two symbols per lookup.
_FROM_BYTE = bytes(ALPHABET[b & 31].encode("ascii")[0] for b in range(256))
_PAIR_SUMS = [
    {ALPHABET[a] + ALPHABET[b]: _WEIGHTED[2 * p][a] ^ _WEIGHTED[2 * p + 1][b]
     for a in range(32) for b in range(32)}
    for p in range(DATA_SYMBOLS // 2)
]


def check_symbol(data: str) -> str:
    total = 0
    for i, char in enumerate(data):
        total ^= _WEIGHTED[i][_VALUE[char]]
    return ALPHABET[total]


def new_code() -> str:
    """A fresh random code in its stored form (13 symbols, no dashes)."""
    return new_codes(1)[0]


def new_codes(count: int) -> list[str]:
    """``count`` fresh codes, drawing the randomness in one call."""
    text = os.urandom(DATA_SYMBOLS * count).translate(_FROM_BYTE).decode("ascii")
    s0, s1, s2, s3, s4, s5 = _PAIR_SUMS
    codes = []
    for i in range(0, DATA_SYMBOLS * count, DATA_SYMBOLS):
        data = text[i:i + DATA_SYMBOLS]
        codes.append(data + ALPHABET[s0[data[:2]] ^ s1[data[2:4]] ^ s2[data[4:6]]
                                     ^ s3[data[6:8]] ^ s4[data[8:10]] ^ s5[data[10:]]])
    return codes


def normalise(typed: str) -> str | None:
    """The stored form of what someone typed, or None if it is not a valid code."""
    cleaned = "".join(typed.split()).replace("-", "").upper()
    if len(cleaned) != LENGTH or any(c not in _VALUE for c in cleaned):
        return None
    canonical = "".join(ALPHABET[_VALUE[c]] for c in cleaned)
    if check_symbol(canonical[:DATA_SYMBOLS]) != canonical[DATA_SYMBOLS]:
        return None
    return canonical


def prefix_form(typed: str) -> str:
    """The stored form of the start of a code someone typed (look-alikes mapped), or "" if
    it cannot start one."""
    cleaned = typed.replace("-", "").upper()
    if not cleaned or len(cleaned) > LENGTH or any(c not in _VALUE for c in cleaned):
        return ""
    return "".join(ALPHABET[_VALUE[c]] for c in cleaned)


def display(code: str | None) -> str:
    """Groups of four for print: ``7KQ2-M9XD-4RTB-F`` (empty for a link without a code)."""
    # Slices, not a join over a generator: a batch calls this for every row.
    return f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}" if code else ""
