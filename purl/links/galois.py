"""Small Galois fields GF(2^n), as typeable codes (GF(32)) and QR codes (GF(256)) need them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """GF(2^bits) built from a primitive polynomial (its bit pattern, leading term included).

    ``exp`` runs over two periods, so ``exp[log[a] + log[b]]`` needs no modulo.
    """

    exp: tuple[int, ...]
    log: tuple[int, ...]

    @classmethod
    def of(cls, bits: int, polynomial: int) -> Field:
        size = 1 << bits
        exp, log = [0] * (2 * (size - 1)), [0] * size
        x = 1
        for i in range(size - 1):
            exp[i] = exp[i + size - 1] = x
            log[x] = i
            x <<= 1
            if x & size:
                x ^= polynomial
        return cls(tuple(exp), tuple(log))

    def mul(self, a: int, b: int) -> int:
        return self.exp[self.log[a] + self.log[b]] if a and b else 0
