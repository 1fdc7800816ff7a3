"""Hash chaining and the stored encoding of records (pure code).

``record_hash = SHA-256(prev_hash || encode(record))``. ``encode`` joins every stored field —
*including the sequence number* — with the unit separator U+001F, ``None`` written as U+0000:

    "nds-ldv-chain-2" US <seq> US <trace_id> US <span_id> US … US <resource JSON>

Writers refuse control characters in text fields (``model.Processing.validate``) and the resource
map is stored as JSON text (which escapes them), so the encoding is unambiguous. Because the
sequence number is hashed, an edited field, a deleted record and a swapped pair all break the
chain. The first record's ``prev_hash`` is ``GENESIS``.

The part after the sequence number is the record's **body**; it is also what the database stores
(``logboek_log.body``), so a record is encoded once, by its producer, and the writer thread only
prefixes the sequence number and hashes (``link``). Decoding is a split (``decode_body``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from nds.logboek.model import Record

GENESIS = "0" * 64
GENESIS_BYTES = bytes(32)
ENCODING_VERSION = "nds-ldv-chain-2"
_SEP = "\x1f"
_NONE = "\x00"
_PREFIX = (ENCODING_VERSION + _SEP).encode()
_sha256 = hashlib.sha256

# the hashed fields in chain (= body) order; the stored row adds seq and the two hashes
FIELDS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "start_time",
    "end_time",
    "status_code",
    "activity_uri",
    "subject_pseudonym",
    "subject_key_id",
    "subject_type",
    "foreign_trace_id",
    "foreign_span_id",
    "foreign_entity",
    "external_read_api",
    "fsc_transaction_id",
    "resource",
)
_INT_FIELDS = frozenset({4, 5, 6})  # start_time, end_time, status_code


class BodyError(ValueError):
    """A stored body that cannot be decoded (damaged or edited outside the logboek)."""


def resource_json(resource: Mapping[str, str]) -> str:
    """The stored (and hashed) text of a record's resource map: keys sorted, compact."""
    if not resource:
        return "{}"
    return json.dumps(dict(resource), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode_body(fields: tuple[str | int | None, ...]) -> bytes:
    """The stored body of a record: its fields (``FIELDS`` order) without the sequence number."""
    return _SEP.join([_NONE if v is None else str(v) for v in fields]).encode("utf-8")


def decode_body(body: bytes) -> tuple[str | int | None, ...]:
    """The fields of a stored body (inverse of ``encode_body``)."""
    try:
        parts: list[Any] = bytes(body).decode("utf-8").split(_SEP)
        if len(parts) != len(FIELDS):
            raise BodyError(f"a record body has {len(parts)} fields, not {len(FIELDS)}")
        for i, v in enumerate(parts):
            if v == _NONE:
                parts[i] = None
            elif i in _INT_FIELDS:
                parts[i] = int(v)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError(f"a record body cannot be decoded: {type(exc).__name__}") from exc
    return tuple(parts)


def link(prev: bytes, seq: int, body: bytes) -> bytes:
    """The record hash (32 bytes) of ``body`` at ``seq`` after a record with hash ``prev``."""
    return _sha256(prev + _PREFIX + b"%d\x1f" % seq + body).digest()


def encode_fields(seq: int, fields: tuple[str | int | None, ...]) -> bytes:
    return _PREFIX + b"%d\x1f" % seq + encode_body(fields)


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
    return link(bytes.fromhex(prev_hash), seq, encode_body(fields)).hex()


def record_hash(prev_hash: str, r: Record) -> str:
    return chain_hash(prev_hash, r.seq, hashed_fields(r))
