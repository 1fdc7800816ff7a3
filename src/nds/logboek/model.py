"""The LDV record and W3C Trace Context (pure code).

Field names follow the standard (``Logius-standaarden/logboek-dataverwerkingen``,
§Component: Logboek): ``trace_id`` (16 bytes, hex), ``span_id`` (8 bytes, hex; the standard's
"operation"), ``parent_span_id``, ``status_code`` (0 UNSET, 1 OK, 2 ERROR), ``name``,
``start_time``/``end_time`` (ms since the epoch), ``foreign_operation`` (trace, span, entity URI),
``resource`` and the ``dpl.*`` attributes. The read extension adds ``dpl.read.externalReadAPI_id``.

A record carries the data subject only as a keyed pseudonym (see ``pseudonym.py``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

ATTR_ACTIVITY = "dpl.core.processing_activity_id"
ATTR_SUBJECT = "dpl.core.data_subject_id"
ATTR_SUBJECT_TYPE = "dpl.core.data_subject_id_type"
ATTR_EXTERNAL_READ_API = "dpl.read.externalReadAPI_id"
ATTR_FSC_TRANSACTION = "dpl.fsc.transaction_id"  # our own namespace: links to the FSC transaction log

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class StatusCode(IntEnum):
    UNSET = 0
    OK = 1
    ERROR = 2


class RecordError(ValueError):
    """A record that may not be written (the write is refused, nothing is stored)."""


# Random IDs come from a per-thread buffer of os.urandom bytes (hex), refilled 4 KiB at a time:
# one getrandom() call per ~300 IDs instead of one each. os.urandom releases the GIL, and on a busy
# writer every release is a thread hand-off; the bytes are the same CSPRNG output. A forked child
# starts with an empty buffer, so parent and child never hand out the same IDs.
_RANDOM_BYTES = 4096
_random = threading.local()


def _fresh_random() -> None:
    global _random
    _random = threading.local()


os.register_at_fork(after_in_child=_fresh_random)


def _random_hex(nbytes: int) -> str:
    loc = _random
    buf: str = getattr(loc, "buf", "")
    pos: int = getattr(loc, "pos", 0)
    end = pos + 2 * nbytes
    if end > len(buf):
        buf, pos, end = os.urandom(_RANDOM_BYTES).hex(), 0, 2 * nbytes
        loc.buf = buf
    loc.pos = end
    return buf[pos:end]


def new_trace_id() -> str:
    while True:
        t = _random_hex(16)
        if t != "0" * 32:
            return t


def new_span_id() -> str:
    while True:
        s = _random_hex(8)
        if s != "0" * 16:
            return s


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class TraceParent:
    """A parsed W3C ``traceparent`` header (version 00). Flags are kept but never used to
    skip logging: LDV forbids sampling, so ``sampled=0`` requests are logged too."""

    trace_id: str
    parent_id: str
    flags: str = "01"
    version: str = "00"

    @classmethod
    def parse(cls, header: str | None) -> TraceParent | None:
        """Parse a header; invalid values give None (W3C: start a new trace)."""
        if not header:
            return None
        m = _TRACEPARENT.match(header.strip().lower())
        if not m:
            return None
        version, trace_id, parent_id, flags = m.groups()
        if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
            return None
        return cls(trace_id=trace_id, parent_id=parent_id, flags=flags, version=version)

    def header(self) -> str:
        return f"{self.version}-{self.trace_id}-{self.parent_id}-{self.flags}"


@dataclass(frozen=True)
class ForeignOperation:
    trace_id: str
    span_id: str
    entity: str  # URI of the calling organisation/application


@dataclass(frozen=True)
class DataSubject:
    """A data subject in clear; exists only in memory between the application and the logboek."""

    id: str
    type: str = "BSN"

    def __repr__(self) -> str:  # never show the id in logs or tracebacks
        return f"DataSubject(type={self.type!r}, id=<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class Processing:
    """What an application reports: one processing action, possibly about several subjects.

    ``Logboek.write`` turns it into one record per data subject (each its own span id, all
    sharing the trace), as the standard requires.
    """

    name: str
    activity_uri: str
    subjects: tuple[DataSubject, ...]
    trace_id: str
    parent_span_id: str | None = None
    start_time: int = field(default_factory=now_ms)
    end_time: int | None = None
    status: StatusCode = StatusCode.UNSET
    foreign_operation: ForeignOperation | None = None
    external_read_api: str | None = None
    fsc_transaction_id: str | None = None
    resource: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.name or len(self.name) > 200:
            raise RecordError("name must be 1–200 characters")
        texts = [self.name, self.activity_uri]
        if self.external_read_api is not None:
            texts.append(self.external_read_api)
        if self.fsc_transaction_id is not None:
            texts.append(self.fsc_transaction_id)
        for s in self.subjects:
            texts += (s.type, s.id)
        if self.foreign_operation is not None:
            texts.append(self.foreign_operation.entity)
        if _CONTROL.search("".join(texts)):  # one scan over all text fields
            raise RecordError("text fields may not contain control characters")
        if not _HEX32.match(self.trace_id) or self.trace_id == "0" * 32:
            raise RecordError("trace_id must be 32 lowercase hex characters, not all zero")
        if self.parent_span_id is not None and not _HEX16.match(self.parent_span_id):
            raise RecordError("parent_span_id must be 16 lowercase hex characters")
        if not self.activity_uri.startswith(("https://", "http://", "urn:")):
            raise RecordError("processing activity id must be a URI of one register version")
        if self.end_time is not None and self.end_time < self.start_time:
            raise RecordError("end_time before start_time")
        fo = self.foreign_operation
        if fo is not None and (
            not _HEX32.match(fo.trace_id) or not _HEX16.match(fo.span_id) or not fo.entity
        ):
            raise RecordError("foreign_operation needs trace_id, span_id and entity")


@dataclass(frozen=True)
class Record:
    """One stored LDV record (one data subject). ``seq`` and hashes are set by the store."""

    trace_id: str
    span_id: str
    name: str
    start_time: int
    end_time: int
    status_code: int
    activity_uri: str
    subject_pseudonym: str | None
    subject_key_id: str | None
    subject_type: str | None
    parent_span_id: str | None = None
    foreign_trace_id: str | None = None
    foreign_span_id: str | None = None
    foreign_entity: str | None = None
    external_read_api: str | None = None
    fsc_transaction_id: str | None = None
    resource: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    prev_hash: str = ""
    record_hash: str = ""

    def to_ldv(self) -> dict[str, Any]:
        """The record in the read extension's shape (``ProcessingActivity``)."""
        attributes: dict[str, Any] = {ATTR_ACTIVITY: self.activity_uri}
        if self.subject_pseudonym is not None:
            attributes[ATTR_SUBJECT] = self.subject_pseudonym
            attributes[ATTR_SUBJECT_TYPE] = self.subject_type
        if self.external_read_api:
            attributes[ATTR_EXTERNAL_READ_API] = self.external_read_api
        if self.fsc_transaction_id:
            attributes[ATTR_FSC_TRANSACTION] = self.fsc_transaction_id
        out: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "status": ("Unset", "Ok", "Error")[self.status_code],
            "name": self.name,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "attributes": attributes,
        }
        if self.parent_span_id:
            out["parentSpanId"] = self.parent_span_id
        if self.foreign_trace_id:
            out["foreignOperation"] = {
                "traceId": self.foreign_trace_id,
                "spanId": self.foreign_span_id,
                "entity": self.foreign_entity,
            }
        if self.resource:
            out["resource"] = dict(self.resource)
        return out
