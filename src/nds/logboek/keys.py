"""Lookup keys of the record index (``logboek_keys``), pure code.

Each record gets one index entry per key kind it has: its data subject (the keyed pseudonym), its
trace and its processing activity. A key is a signed 64-bit integer — 8 bytes of a value that
is already a uniform hash (the start of the HMAC pseudonym), of the random trace ID (its end), or of
SHA-256 of the activity URI — so an entry is ~20 bytes instead of a copy of a 64-character text, and SQLite
compares integers. Keys of different kinds share one table; a lookup always checks the full values
in the decoded record, so a collision (about 2^-64 per pair) costs a wasted read, never a wrong
answer.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

_HALF = 1 << 63
_FULL = 1 << 64


def _signed(v: int) -> int:
    return v - _FULL if v >= _HALF else v


def subject_key(pseudonym: str) -> int:
    """Key of a data subject's (hex) pseudonym."""
    return _signed(int(pseudonym[:16], 16))


def trace_key(trace_id: str) -> int:
    """Key of a (32 hex) trace ID: its last 8 bytes (random in W3C trace IDs, so spread evenly)."""
    return _signed(int(trace_id[16:], 16))


@lru_cache(maxsize=4096)
def activity_key(activity_uri: str) -> int:
    """Key of a processing-activity URI (constant per activity version: its entries are appended
    at the end of that key's range, which is cheap)."""
    digest = hashlib.sha256(b"activity\x1f" + activity_uri.encode()).digest()
    return _signed(int.from_bytes(digest[:8], "big"))
