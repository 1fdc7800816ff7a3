"""Recognising the RFC 7919 FFDHE groups from the DH prime a TLS 1.2 server sends."""

from __future__ import annotations

import hashlib


def _ffdhe_primes() -> dict[str, int]:
    """The RFC 7919 primes: p = 2^b - 2^(b-64) + {[2^(b-130) e] + X} * 2^64 - 1, X per group."""
    from decimal import Decimal, getcontext

    getcontext().prec = 3000
    # e to enough digits via its series; floor(2^(b-130) * e) is needed exactly.
    e = Decimal(0)
    term = Decimal(1)
    for k in range(1, 1200):
        e += term
        term /= k
    offsets = {2048: 560316, 3072: 2625351, 4096: 5736041, 6144: 15705020, 8192: 10965728}
    out = {}
    for bits, x in offsets.items():
        core = int((Decimal(2) ** (bits - 130)) * e)
        out[f"ffdhe{bits}"] = 2**bits - 2 ** (bits - 64) + (core + x) * 2**64 - 1
    return out


def _pi_fixed(bits: int) -> int:
    """floor(pi * 2^bits), by Machin's formula in integer arithmetic (with guard bits)."""
    guard = 64
    one = 1 << (bits + guard)

    def arctan_inv(x: int) -> int:
        total, term, n, sign = 0, one // x, 1, 1
        while term:
            total += sign * (term // n)
            term //= x * x
            n += 2
            sign = -sign
        return total

    return (16 * arctan_inv(5) - 4 * arctan_inv(239)) >> guard


def _modp_primes() -> dict[str, int]:
    """RFC 2409 / RFC 3526 MODP groups: p = 2^b - 2^(b-64) - 1 + 2^64 * (floor(2^(b-130) pi) + X)."""
    offsets = {
        768: 149686,
        1024: 129093,
        1536: 741804,
        2048: 124476,
        3072: 1690314,
        4096: 240904,
        6144: 929484,
        8192: 4743158,
    }
    return {
        f"modp{b}": 2**b - 2 ** (b - 64) - 1 + 2**64 * (_pi_fixed(b - 130) + x) for b, x in offsets.items()
    }


_KNOWN: dict[bytes, str] | None = None


def _known() -> dict[bytes, str]:
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = {
            hashlib.sha256(p.to_bytes((p.bit_length() + 7) // 8, "big")).digest(): name
            for name, p in (_ffdhe_primes() | _modp_primes()).items()
        }
    return _KNOWN


def identify_dh_group(prime: bytes, generator: bytes) -> str:
    """``ffdheN`` for an RFC 7919 group, ``modpN`` for an RFC 2409/3526 MODP group, else ``custom-<bits>``."""
    p = prime.lstrip(b"\x00")
    g = int.from_bytes(generator, "big") if generator else 0
    name = _known().get(hashlib.sha256(p).digest())
    if name and g == 2:
        return name
    return f"custom-{int.from_bytes(p, 'big').bit_length()}"
