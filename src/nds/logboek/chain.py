"""Hash chaining of records (pure code).

``record_hash = SHA-256(prev_hash || encode(record))``. ``encode`` joins every stored field —
*including the sequence number* — with the unit separator U+001F, ``None`` written as U+0000.
Writers refuse control characters in text fields (``model.Processing.validate``) and the resource
map is stored as JSON text (which escapes them), so the encoding is unambiguous. Because the
sequence number is hashed, an edited field, a deleted record and a swapped pair all break the
chain. The first record's ``prev_hash`` is ``GENESIS``. This runs for every write, so it is kept
to one join and one hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from nds.logboek.model import Record

GENESIS = "0" * 64
ENCODING_VERSION = "nds-ldv-chain-2"
_SEP = "\x1f"
_NONE = "\x00"


def resource_json(resource: Mapping[str, str]) -> str:
    """The stored (and hashed) text of a record's resource map: keys sorted, compact."""
    return json.dumps(dict(resource), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode_fields(seq: int, fields: tuple[str | int | None, ...]) -> bytes:
    parts = [ENCODING_VERSION, str(seq)]
    parts += [_NONE if v is None else str(v) for v in fields]
    return _SEP.join(parts).encode("utf-8")


def hashed_fields(r: Record) -> tuple[str | int | None, ...]:
    """The record's fields in chain order (everything but seq and the hashes)."""
    return (
        r.trace_id,
        r.span_id,
        r.parent_span_id,
        r.name,
        r.start_time,
        r.end_time,
        r.status_code,
        r.activity_uri,
        r.subject_pseudonym,
        r.subject_key_id,
        r.subject_type,
        r.foreign_trace_id,
        r.foreign_span_id,
        r.foreign_entity,
        r.external_read_api,
        r.fsc_transaction_id,
        resource_json(r.resource),
    )


def chain_hash(prev_hash: str, seq: int, fields: tuple[str | int | None, ...]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + encode_fields(seq, fields)).hexdigest()


def record_hash(prev_hash: str, r: Record) -> str:
    return chain_hash(prev_hash, r.seq, hashed_fields(r))
