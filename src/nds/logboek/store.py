"""The logboek: durable, hash-chained, append-only storage of LDV records.

Writes go through one writer thread per process that batches concurrent writes into one
transaction (group commit) and acknowledges each waiting caller only after the commit has
returned — with SQLite ``synchronous=FULL`` (WAL) or PostgreSQL's default ``fsync``, that means
the record is on disk. The group-commit window is "whatever arrived while the previous commit
ran": no extra wait is added, so a lone write is committed at once.

The chain head lives in ``logboek_head``; each batch locks it (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``FOR UPDATE``), so several processes may write to one logboek in one total order.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.db import make_engine
from nds.logboek import tables as t
from nds.logboek.chain import record_hash
from nds.logboek.model import Processing, Record, RecordError, new_span_id, now_ms
from nds.logboek.pseudonym import Keyring

MAX_BATCH = 20_000
_STOP = object()


class LogboekWriteError(Exception):
    """The write was not made durable; the caller must not proceed (fail closed)."""


def records_for(processing: Processing, keyring: Keyring) -> list[Record]:
    """One record per data subject, each with its own span id, all in the same trace."""
    processing.validate()
    end = processing.end_time if processing.end_time is not None else now_ms()
    fo = processing.foreign_operation
    base: dict[str, Any] = {
        "trace_id": processing.trace_id,
        "name": processing.name,
        "start_time": processing.start_time,
        "end_time": end,
        "status_code": int(processing.status),
        "activity_uri": processing.activity_uri,
        "parent_span_id": processing.parent_span_id,
        "foreign_trace_id": fo.trace_id if fo else None,
        "foreign_span_id": fo.span_id if fo else None,
        "foreign_entity": fo.entity if fo else None,
        "external_read_api": processing.external_read_api,
        "fsc_transaction_id": processing.fsc_transaction_id,
        "resource": dict(processing.resource),
    }
    if not processing.subjects:
        return [
            Record(
                span_id=new_span_id(), subject_pseudonym=None, subject_key_id=None, subject_type=None, **base
            )
        ]
    out = []
    for subject in processing.subjects:
        if not subject.id or len(subject.id) > 200:
            raise RecordError("data subject id must be 1–200 characters")
        kid, pseudonym = keyring.pseudonym(subject)
        out.append(
            Record(
                span_id=new_span_id(),
                subject_pseudonym=pseudonym,
                subject_key_id=kid,
                subject_type=subject.type,
                **base,
            )
        )
    return out


def record_row(r: Record) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "trace_id": r.trace_id,
        "span_id": r.span_id,
        "parent_span_id": r.parent_span_id,
        "name": r.name,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "status_code": r.status_code,
        "activity_uri": r.activity_uri,
        "subject_pseudonym": r.subject_pseudonym,
        "subject_key_id": r.subject_key_id,
        "subject_type": r.subject_type,
        "foreign_trace_id": r.foreign_trace_id,
        "foreign_span_id": r.foreign_span_id,
        "foreign_entity": r.foreign_entity,
        "external_read_api": r.external_read_api,
        "fsc_transaction_id": r.fsc_transaction_id,
        "resource": r.resource,
        "prev_hash": r.prev_hash,
        "record_hash": r.record_hash,
    }


def row_record(row: Any) -> Record:
    m = row._mapping
    return Record(**{k: m[k] for k in record_row(Record("", "", "", 0, 0, 0, "", None, None, None))})


class Logboek:
    """The write interface. ``write`` (blocking) and ``awrite`` (asyncio) return the stored
    records only after they are durable; on any failure they raise ``LogboekWriteError``."""

    def __init__(self, url: str | Engine, keyring: Keyring, *, max_batch: int = MAX_BATCH) -> None:
        self.engine = make_engine(url, immediate=True) if isinstance(url, str) else url
        self.keyring = keyring
        self.max_batch = max_batch
        self._pg = self.engine.dialect.name == "postgresql"
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="logboek-writer", daemon=True)
        self._thread.start()
        self.batches = 0  # number of commits, for benchmarks and docs

    # ---- public API ---------------------------------------------------------------------
    def submit(self, processing: Processing) -> Future[list[Record]]:
        fut: Future[list[Record]] = Future()
        try:
            recs = records_for(processing, self.keyring)
        except RecordError as exc:
            fut.set_exception(exc)
            return fut
        self._queue.put((recs, fut))
        return fut

    def write(self, processing: Processing, timeout: float | None = 30) -> list[Record]:
        return self.submit(processing).result(timeout)

    async def awrite(self, processing: Processing) -> list[Record]:
        return await asyncio.wrap_future(self.submit(processing))

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self.engine.dispose()

    # ---- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            count = len(item[0])
            while count < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._commit(batch)
                    return
                batch.append(nxt)
                count += len(nxt[0])
            self._commit(batch)

    def _commit(self, batch: Sequence[tuple[list[Record], Future[list[Record]]]]) -> None:
        try:
            stored = self._append([recs for recs, _ in batch])
        except Exception as exc:  # fail closed: every waiting caller learns the write failed
            err = LogboekWriteError(f"logboek write failed: {type(exc).__name__}")
            for _, fut in batch:
                fut.set_exception(err)
            return
        self.batches += 1
        for (_, fut), recs in zip(batch, stored, strict=True):
            fut.set_result(recs)

    def _append(self, groups: Sequence[list[Record]]) -> list[list[Record]]:
        with self.engine.begin() as conn:
            q = sa.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)
            if self._pg:
                q = q.with_for_update()
            seq, h = conn.execute(q).one()
            out: list[list[Record]] = []
            rows: list[dict[str, Any]] = []
            for group in groups:
                done = []
                for r in group:
                    seq += 1
                    r = replace(r, seq=seq, prev_hash=h)
                    h = record_hash(h, r)
                    r = replace(r, record_hash=h)
                    done.append(r)
                    rows.append(record_row(r))
                out.append(done)
            conn.execute(t.records.insert(), rows)
            conn.execute(t.head.update().where(t.head.c.id == 1).values(seq=seq, hash=h))
        return out


def migrate_logboek(url: str | Engine) -> None:
    """Create or upgrade the logboek's tables."""
    from pathlib import Path

    from nds.db import migrate

    migrate(url, "logboek", Path(__file__).parent / "migrations")
