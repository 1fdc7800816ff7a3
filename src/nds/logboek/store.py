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
import contextlib
import json
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.db import make_engine
from nds.logboek import tables as t
from nds.logboek.chain import chain_hash, resource_json
from nds.logboek.model import Processing, Record, RecordError, new_span_id, now_ms
from nds.logboek.pseudonym import Keyring

MAX_BATCH = 20_000
_STOP = object()


class LogboekWriteError(Exception):
    """The write was not made durable; the caller must not proceed (fail closed)."""


# Stored columns in order; the first is seq, the last two are the chain hashes.
COLUMNS = (
    "seq",
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
    "prev_hash",
    "record_hash",
)
Pending = tuple[Any, ...]  # COLUMNS[1:-2]: a record before it has a place in the chain


def pending_records(processing: Processing, keyring: Keyring) -> list[Pending]:
    """One record per data subject, each with its own span id, all in the same trace."""
    processing.validate()
    end = processing.end_time if processing.end_time is not None else now_ms()
    fo = processing.foreign_operation
    head = (processing.trace_id,)
    mid = (
        processing.parent_span_id,
        processing.name,
        processing.start_time,
        end,
        int(processing.status),
        processing.activity_uri,
    )
    tail = (
        fo.trace_id if fo else None,
        fo.span_id if fo else None,
        fo.entity if fo else None,
        processing.external_read_api,
        processing.fsc_transaction_id,
        resource_json(processing.resource),
    )
    if not processing.subjects:
        return [(*head, new_span_id(), *mid, None, None, None, *tail)]
    out = []
    for subject in processing.subjects:
        if not subject.id or len(subject.id) > 200:
            raise RecordError("data subject id must be 1–200 characters")
        kid, pseudonym = keyring.pseudonym(subject)
        out.append((*head, new_span_id(), *mid, pseudonym, kid, subject.type, *tail))
    return out


def _record(row: tuple[Any, ...]) -> Record:
    d = dict(zip(COLUMNS, row, strict=True))
    d["resource"] = json.loads(d["resource"]) if d["resource"] else {}
    return Record(**d)


def records_for(processing: Processing, keyring: Keyring) -> list[Record]:
    """The records a processing becomes (not yet in the chain: seq 0, no hashes)."""
    return [_record((0, *p, "", "")) for p in pending_records(processing, keyring)]


def record_row(r: Record) -> dict[str, Any]:
    d = {c: getattr(r, c) for c in COLUMNS}
    d["resource"] = resource_json(r.resource)
    return d


def row_record(row: Any) -> Record:
    m = row._mapping
    return _record(tuple(m[c] for c in COLUMNS))


class Logboek:
    """The write interface. ``write`` (blocking) and ``awrite`` (asyncio) return the stored
    records only after they are durable; on any failure they raise ``LogboekWriteError``."""

    def __init__(self, url: str | Engine, keyring: Keyring, *, max_batch: int = MAX_BATCH) -> None:
        self.engine = make_engine(url, immediate=True) if isinstance(url, str) else url
        self.keyring = keyring
        self.max_batch = max_batch
        self._pg = self.engine.dialect.name == "postgresql"
        mark = "%s" if self._pg else "?"
        # built from the constant COLUMNS only, never from input
        self._insert_sql = (
            f"INSERT INTO logboek_records ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(COLUMNS))})"
        )
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="logboek-writer", daemon=True)
        self._thread.start()
        self.batches = 0  # number of commits, for benchmarks and docs

    # ---- public API ---------------------------------------------------------------------
    def submit(self, processing: Processing) -> Future[list[tuple[Any, ...]]]:
        """Queue a processing; the future resolves to the stored rows (``COLUMNS`` order) once
        durable. ``write``/``awrite`` turn them into ``Record``s in the caller's thread, keeping the
        single writer thread (the chain's serial section) as short as possible."""
        fut: Future[list[tuple[Any, ...]]] = Future()
        try:
            recs = pending_records(processing, self.keyring)
            self._check_open()
        except (RecordError, LogboekWriteError) as exc:
            fut.set_exception(exc)
            return fut
        self._queue.put((recs, fut))
        return fut

    def write(self, processing: Processing, timeout: float | None = 30) -> list[Record]:
        return [_record(r) for r in self.submit(processing).result(timeout)]

    async def awrite_rows(self, processing: Processing) -> list[tuple[Any, ...]]:
        """As ``awrite`` but returns the stored rows. Acknowledgements reach an event loop once per
        committed batch (one ``call_soon_threadsafe`` for all of that loop's waiters), not per write."""
        loop = asyncio.get_running_loop()
        recs = pending_records(processing, self.keyring)  # RecordError propagates: nothing queued
        self._check_open()
        fut: asyncio.Future[list[tuple[Any, ...]]] = loop.create_future()
        self._queue.put((recs, (loop, fut)))
        return await fut

    async def awrite(self, processing: Processing) -> list[Record]:
        return [_record(r) for r in await self.awrite_rows(processing)]

    def _check_open(self) -> None:
        """A write after ``close`` (or with no writer thread) fails at once instead of waiting forever."""
        if self._closed or not self._thread.is_alive():
            raise LogboekWriteError("logboek is closed")

    def close(self) -> None:
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self.engine.dispose()

    # ---- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item] if _claim(item) else []
            count = len(item[0])
            stop = False
            while count < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                if _claim(nxt):
                    batch.append(nxt)
                    count += len(nxt[0])
            if batch:
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: Sequence[tuple[list[Pending], Any]]) -> None:
        try:
            stored: list[Any] = self._append([recs for recs, _ in batch])
            error: Exception | None = None
        except Exception as exc:  # fail closed: every waiting caller learns the write failed
            stored = [None] * len(batch)
            error = LogboekWriteError(f"logboek write failed: {type(exc).__name__}")
        else:
            self.batches += 1
        per_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for (_, waiter), rows in zip(batch, stored, strict=True):
            if isinstance(waiter, Future):
                if error is not None:
                    waiter.set_exception(error)
                else:
                    waiter.set_result(rows)
            else:
                loop, afut = waiter
                per_loop.setdefault(loop, []).append((afut, rows))
        for loop, items in per_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, items, error)

    def _append(self, groups: Sequence[list[Pending]]) -> list[list[tuple[Any, ...]]]:
        with self.engine.begin() as conn:
            q = sa.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)
            if self._pg:
                q = q.with_for_update()
            seq, h = conn.execute(q).one()
            rows: list[tuple[Any, ...]] = []
            for group in groups:
                for p in group:
                    seq += 1
                    prev = h
                    h = chain_hash(prev, seq, p)
                    rows.append((seq, *p, prev, h))
            # raw executemany: this is the hot path, SQLAlchemy's per-row processing is not needed
            conn.exec_driver_sql(self._insert_sql, rows)
            conn.execute(t.head.update().where(t.head.c.id == 1).values(seq=seq, hash=h))
        out: list[list[tuple[Any, ...]]] = []
        i = 0
        for group in groups:
            out.append(rows[i : i + len(group)])
            i += len(group)
        return out


def _claim(item: tuple[list[Pending], Any]) -> bool:
    """Take a queued write into a batch. A ``submit`` future its caller cancelled is dropped (not
    written); once claimed it can no longer be cancelled, so resolving it cannot fail and stop the
    writer thread."""
    waiter = item[1]
    return not isinstance(waiter, Future) or waiter.set_running_or_notify_cancel()


def _resolve(items: list[tuple[asyncio.Future[Any], Any]], error: Exception | None) -> None:
    for fut, rows in items:
        if fut.done():  # cancelled by its caller
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(rows)


def migrate_logboek(url: str | Engine) -> None:
    """Create or upgrade the logboek's tables."""
    from pathlib import Path

    from nds.db import migrate

    migrate(url, "logboek", Path(__file__).parent / "migrations")
