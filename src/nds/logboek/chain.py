"""Hash chaining of records (pure code).

``record_hash = SHA-256(prev_hash || encode(record))`` where ``encode`` is a fixed, length-prefixed
binary encoding of every stored field *including its sequence number*, so an edited field, a
deleted record and a swapped pair all break the chain. The first record's ``prev_hash`` is
``GENESIS``. A fixed binary encoding (not JSON) keeps it unambiguous and fast (it runs for every
write on the hot path).
"""

from __future__ import annotations

import hashlib
import struct

from nds.logboek.model import Record

GENESIS = "0" * 64
_NONE = struct.pack(">I", 0xFFFFFFFF)
ENCODING_VERSION = b"nds-ldv-chain-1"


def _field(value: str | int | None) -> bytes:
    if value is None:
        return _NONE
    b = str(value).encode() if isinstance(value, int) else value.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def encode(r: Record) -> bytes:
    parts = [
        ENCODING_VERSION,
        _field(r.seq),
        _field(r.trace_id),
        _field(r.span_id),
        _field(r.parent_span_id),
        _field(r.name),
        _field(r.start_time),
        _field(r.end_time),
        _field(r.status_code),
        _field(r.activity_uri),
        _field(r.subject_pseudonym),
        _field(r.subject_key_id),
        _field(r.subject_type),
        _field(r.foreign_trace_id),
        _field(r.foreign_span_id),
        _field(r.foreign_entity),
        _field(r.external_read_api),
        _field(r.fsc_transaction_id),
        _field(len(r.resource)),
    ]
    for k in sorted(r.resource):
        parts.append(_field(k))
        parts.append(_field(r.resource[k]))
    return b"".join(parts)


def record_hash(prev_hash: str, r: Record) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + encode(r)).hexdigest()
