"""The logboek: durable, hash-chained, append-only storage of LDV records.

Writes go through one writer thread per process that batches concurrent writes into one
transaction (group commit) and acknowledges each waiting caller only after the commit has
returned — with SQLite ``synchronous=FULL`` (WAL) or PostgreSQL's default ``fsync``, that means
the record is on disk. The group-commit window is "whatever arrived while the previous commit
ran": no extra wait is added, so a lone write is committed at once.

The chain head lives in ``logboek_head``; each batch locks it (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``FOR UPDATE``), so several processes may write to one logboek in one total order.

Producers (``prepare``) validate, pseudonymise, encode and key each record in their own thread; the
writer thread only numbers, links (one SHA-256 per record) and inserts — the stored layout and the
two-level lookup index are described in ``tables.py`` and docs/logboek.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection, Engine

from nds.db import make_engine
from nds.logboek.chain import FIELDS, decode_body, encode_body, hashed_fields, link, resource_json
from nds.logboek.keys import activity_key, subject_key, trace_key
from nds.logboek.model import Processing, Record, RecordError, new_span_id, now_ms
from nds.logboek.pseudonym import Keyring

MAX_BATCH = 20_000
MERGE_EVERY = 20_000  # records; see tables.keys_recent
_SEP, _NUL = "\x1f", "\x00"  # chain.encode_body's separator and None
_STOP = object()
log = logging.getLogger(__name__)


class LogboekWriteError(Exception):
    """The write was not made durable; the caller must not proceed (fail closed)."""


# The fields of a stored row as ``write``/``awrite_rows`` return it: seq, the chain fields
# (``chain.FIELDS``), then the two chain hashes (hex).
COLUMNS = ("seq", *FIELDS, "prev_hash", "record_hash")
Pending = tuple[Any, ...]  # COLUMNS[1:-2]: a record before it has a place in the chain
# A record prepared by its producer for the writer thread: its fields, its encoded body and its
# index keys (subject or None, trace, activity). The writer only numbers, links and inserts.
Prepared = tuple[Pending, bytes, int | None, int, int]
# A queued write: its prepared records and who waits — ``(recs, concurrent Future)`` from ``submit``,
# ``(recs, asyncio Future, loop)`` from ``awrite_rows``.
Item = tuple[Any, ...]


def prepare(processing: Processing, keyring: Keyring) -> tuple[Prepared, ...]:
    """One record per data subject, each with its own span id, all in the same trace; encoded
    and keyed here, in the caller's thread, so the writer thread's serial section stays short.
    A tuple, not a list: the garbage collector stops tracking a tuple of plain values, and this one
    lives until the write is acknowledged."""
    processing.validate()
    trace, parent, name, start, act = (
        processing.trace_id,
        processing.parent_span_id,
        processing.name,
        processing.start_time,
        processing.activity_uri,
    )
    end = processing.end_time if processing.end_time is not None else now_ms()
    status = int(processing.status)
    fo = processing.foreign_operation
    ft, fs, fe = (fo.trace_id, fo.span_id, fo.entity) if fo is not None else (None, None, None)
    ext, fsc = processing.external_read_api, processing.fsc_transaction_id
    res = resource_json(processing.resource)
    kt = trace_key(trace)
    ka = activity_key(act)
    # the body (chain.encode_body of the fields, None as U+0000) from two pieces shared by all subjects
    mid_s = (
        f"{_NUL if parent is None else parent}{_SEP}{name}{_SEP}{start}{_SEP}{end}{_SEP}{status}{_SEP}{act}"
    )
    tail_s = (
        f"{_NUL if ft is None else ft}{_SEP}{_NUL if fs is None else fs}{_SEP}{_NUL if fe is None else fe}"
        f"{_SEP}{_NUL if ext is None else ext}{_SEP}{_NUL if fsc is None else fsc}{_SEP}{res}"
    )
    if not processing.subjects:
        span = new_span_id()
        p: Pending = (
            trace,
            span,
            parent,
            name,
            start,
            end,
            status,
            act,
            None,
            None,
            None,
            ft,
            fs,
            fe,
            ext,
            fsc,
            res,
        )
        body = f"{trace}\x1f{span}\x1f{mid_s}\x1f\x00\x1f\x00\x1f\x00\x1f{tail_s}".encode()
        return ((p, body, None, kt, ka),)
    out: list[Prepared] = []
    kid = keyring.active
    mac = keyring.mac
    for subject in processing.subjects:
        sid, stype = subject.id, subject.type
        if not sid or len(sid) > 200:
            raise RecordError("data subject id must be 1–200 characters")
        digest = mac(kid, f"{stype}:{sid}".encode())
        pseudonym = digest.hex()
        span = new_span_id()
        p = (
            trace,
            span,
            parent,
            name,
            start,
            end,
            status,
            act,
            pseudonym,
            kid,
            stype,
            ft,
            fs,
            fe,
            ext,
            fsc,
            res,
        )
        body = f"{trace}\x1f{span}\x1f{mid_s}\x1f{pseudonym}\x1f{kid}\x1f{stype}\x1f{tail_s}".encode()
        # the subject key (keys.subject_key of the pseudonym) straight from the digest's first 8 bytes
        out.append((p, body, int.from_bytes(digest[:8], "big", signed=True), kt, ka))
    return tuple(out)


def pending_records(processing: Processing, keyring: Keyring) -> list[Pending]:
    """The fields of the records a processing becomes (``COLUMNS[1:-2]`` order)."""
    return [p for p, *_ in prepare(processing, keyring)]


def _record(row: tuple[Any, ...]) -> Record:
    d = dict(zip(COLUMNS, row, strict=True))
    res = d["resource"]
    d["resource"] = json.loads(res) if res and res != "{}" else {}
    return Record(**d)


def _rows(pending: Sequence[Prepared], stored: Sequence[Any], at: int) -> list[tuple[Any, ...]]:
    """Returned rows (``COLUMNS`` order) of a write's records, the batch's ``at``-th record onwards;
    ``stored`` is the batch's flat parameter list (``Logboek._append``: seq, body, prev_hash,
    record_hash of each record)."""
    i = 4 * at
    out = []
    for p in pending:
        out.append((stored[i], *p[0], stored[i + 2].hex(), stored[i + 3].hex()))
        i += 4
    return out


def records_for(processing: Processing, keyring: Keyring) -> list[Record]:
    """The records a processing becomes (not yet in the chain: seq 0, no hashes)."""
    return [_record((0, *p, "", "")) for p in pending_records(processing, keyring)]


def record_row(r: Record) -> dict[str, Any]:
    """The stored ``logboek_log`` row of a record (for tests and tools)."""
    return {
        "seq": r.seq,
        "body": encode_body(hashed_fields(r)),
        "prev_hash": bytes.fromhex(r.prev_hash),
        "record_hash": bytes.fromhex(r.record_hash),
    }


def record_keys(fields: Sequence[Any]) -> list[int]:
    """The index keys of a record with these chain fields (``chain.FIELDS`` order)."""
    out = [trace_key(fields[0]), activity_key(fields[7])]
    if fields[8] is not None:
        out.append(subject_key(fields[8]))
    return out


def row_record(row: Any) -> Record:
    """A ``logboek_log`` row (seq, body, prev_hash, record_hash) as a ``Record``; raises
    ``chain.BodyError`` for a body that cannot be decoded."""
    seq, body, prev, h = row[0], row[1], row[2], row[3]
    return _record((seq, *decode_body(body), bytes(prev).hex(), bytes(h).hex()))


class Logboek:
    """The write interface. ``write`` (blocking) and ``awrite`` (asyncio) return the stored
    records only after they are durable; on any failure they raise ``LogboekWriteError``."""

    def __init__(self, url: str | Engine, keyring: Keyring, *, max_batch: int = MAX_BATCH) -> None:
        self.engine = make_engine(url, immediate=True) if isinstance(url, str) else url
        self.keyring = keyring
        self.max_batch = max_batch
        self._pg = self.engine.dialect.name == "postgresql"
        # constant SQL (no input), executed raw: SQLAlchemy's per-row processing is not needed
        self.merge_every = MERGE_EVERY
        self._unmerged = 0
        merge = "INTO logboek_keys (k, seq) SELECT k, seq FROM logboek_keys_recent ORDER BY k, seq"
        if self._pg:
            self._merge_sql = f"INSERT {merge} ON CONFLICT DO NOTHING"
            self._head_sql = "SELECT seq, hash FROM logboek_head WHERE id = 1 FOR UPDATE"
            self._set_head_sql = "UPDATE logboek_head SET seq = %s, hash = %s WHERE id = 1"
        else:
            self._merge_sql = f"INSERT OR IGNORE {merge}"
            self._head_sql = "SELECT seq, hash FROM logboek_head WHERE id = 1"
            self._set_head_sql = "UPDATE logboek_head SET seq = ?, hash = ? WHERE id = 1"
        self._writers_lock = _WritersLock(self.engine)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._running = True  # False once the writer thread has ended
        self._thread = threading.Thread(target=self._run, name="logboek-writer", daemon=True)
        self._thread.start()
        self.batches = 0  # number of commits, for benchmarks and docs

    # ---- public API ---------------------------------------------------------------------
    def submit(self, processing: Processing) -> Future[list[tuple[Any, ...]]]:
        """Queue a processing; the future resolves to the stored rows (``COLUMNS`` order) once
        durable."""
        fut: Future[list[tuple[Any, ...]]] = Future()
        try:
            recs = prepare(processing, self.keyring)
            self._check_open()
        except (RecordError, LogboekWriteError) as exc:
            fut.set_exception(exc)
            return fut
        self._queue.put((recs, fut))
        return fut

    def write(self, processing: Processing, timeout: float | None = 30) -> list[Record]:
        return [_record(r) for r in self.submit(processing).result(timeout)]

    async def awrite_rows(self, processing: Processing) -> list[tuple[Any, ...]]:
        """As ``awrite`` but returns the stored rows (``COLUMNS`` order). The record is built,
        pseudonymised and encoded here, in the caller's thread; acknowledgements reach an event loop
        once per committed batch (one ``call_soon_threadsafe`` for all of that loop's waiters)."""
        loop = asyncio.get_running_loop()
        recs = prepare(processing, self.keyring)  # RecordError propagates: nothing queued
        del processing  # not held across the wait (fewer live objects for the garbage collector)
        self._check_open()
        fut: asyncio.Future[list[tuple[Any, ...]]] = loop.create_future()
        self._queue.put((recs, fut, loop))
        return await fut  # the rows are built on this loop by _resolve

    async def awrite(self, processing: Processing) -> list[Record]:
        return [_record(r) for r in await self.awrite_rows(processing)]

    def _check_open(self) -> None:
        """A write after ``close`` (or with no writer thread) fails at once instead of waiting forever."""
        if self._closed or not self._running:
            raise LogboekWriteError("logboek is closed")

    def close(self) -> None:
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self._writers_lock.close()
        self.engine.dispose()

    # ---- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self._running = False
            self._fail_queued()

    def _fail_queued(self) -> None:
        """Writes queued after ``close`` (or after the writer thread died) fail instead of waiting
        forever."""
        err = LogboekWriteError("logboek is closed")
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is _STOP or not _claim(item):
                continue
            if len(item) == 2:
                item[1].set_exception(err)
            else:
                with contextlib.suppress(RuntimeError):
                    item[2].call_soon_threadsafe(_resolve, [item[1]], [item[0]], [0], None, err)

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch: list[Item] = [item] if _claim(item) else []
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

    def _commit(self, batch: Sequence[Item]) -> None:
        stored: list[Any] = []
        error: Exception | None = None
        try:
            stored = self._append([item[0] for item in batch])
        except Exception as exc:  # fail closed: every waiting caller learns the write failed
            error = LogboekWriteError(f"logboek write failed: {type(exc).__name__}")
        else:
            self.batches += 1
        # each event loop gets one call for all its waiters: their futures, records and places
        per_loop: dict[asyncio.AbstractEventLoop, tuple[list[Any], list[Any], list[int]]] = {}
        at = 0
        for item in batch:
            recs = item[0]
            if len(item) == 2:
                if error is not None:
                    item[1].set_exception(error)
                else:
                    item[1].set_result(_rows(recs, stored, at))
            else:
                w = per_loop.get(item[2])
                if w is None:
                    w = per_loop[item[2]] = ([], [], [])
                w[0].append(item[1])
                w[1].append(recs)
                w[2].append(at)
            at += len(recs)
        for loop, (futs, recss, ats) in per_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, futs, recss, ats, stored, error)
        if error is None:
            self._unmerged += at
        if self._unmerged >= self.merge_every:  # after the acknowledgements, not before
            self.merge_index()

    def merge_index(self) -> None:
        """Move the recent index level into the main index, in key order, under the head lock (so
        no writer adds to the recent level meanwhile). A failed merge loses nothing: the entries stay
        in the recent level, which lookups read too, and the next merge takes them."""
        try:
            with self._writers_lock, self.engine.begin() as conn:
                conn.exec_driver_sql(self._head_sql).one()
                conn.exec_driver_sql(self._merge_sql)
                conn.exec_driver_sql("DELETE FROM logboek_keys_recent")
        except Exception:
            log.warning("logboek: merging the recent index level failed; will retry", exc_info=True)
        self._unmerged = 0

    def _append(self, groups: Sequence[Sequence[Prepared]]) -> list[Any]:
        """The chain's serial section: number, link and insert the batch, move the head, commit.
        Returns the ``logboek_log`` rows as one flat list (seq, body, prev_hash, record_hash of each
        record, in chain order): the statements' parameters, built without a tuple per row or per
        index entry (which would only feed the garbage collector). On SQLite the blobs are
        ``bytearray``, which pysqlite binds directly, where each ``bytes`` costs it a lookup in the
        adapter registry (measured: 3 blobs per row, 1.2–2.0 µs against 0.4 µs per row)."""
        blob: Any = bytes if self._pg else bytearray
        with self._writers_lock, self.engine.begin() as conn:
            seq, head = conn.exec_driver_sql(self._head_sql).one()
            prev = bytes.fromhex(head)
            prev_b = blob(prev)
            rows: list[Any] = []
            keys: list[int] = []  # k, seq of each index entry
            for group in groups:
                for _, body, ks, kt, ka in group:
                    seq += 1
                    h = link(prev, seq, body)
                    h_b = blob(h)
                    rows += (seq, blob(body), prev_b, h_b)
                    keys += (kt, seq, ka, seq) if ks is None else (kt, seq, ka, seq, ks, seq)
                    prev, prev_b = h, h_b
            bulk_insert(conn, LOG_INSERT, rows, 4)
            bulk_insert(conn, KEYS_INSERT, keys, 2)
            conn.exec_driver_sql(self._set_head_sql, (seq, prev.hex()))
        return rows


class _WritersLock:
    """Orders the writer threads of several processes on one SQLite file before they ask SQLite for
    its write lock. A process that finds the database locked waits in SQLite's busy handler, which
    sleeps 1, 2, 5, 10 … ms between tries; on a file lock it wakes as soon as the other commit is
    done. SQLite's own lock (``BEGIN IMMEDIATE``) stays the guarantee; this only makes waiting
    cheap. PostgreSQL (``FOR UPDATE`` waits without polling) and in-memory databases need none."""

    def __init__(self, engine: Engine) -> None:
        self._fd: int | None = None
        db = engine.url.database if engine.dialect.name == "sqlite" else None
        if db and db != ":memory:" and not db.startswith("file:"):
            with contextlib.suppress(OSError):  # no lock file (read-only directory): SQLite waits
                self._fd = os.open(f"{db}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


LOG_INSERT = "INSERT INTO logboek_log (seq, body, prev_hash, record_hash) VALUES "
KEYS_INSERT = "INSERT INTO logboek_keys_recent (k, seq) VALUES "
_CHUNKS = (4096, 1024, 256, 64, 16, 4, 1)


def bulk_insert(conn: Connection, insert: str, flat: Sequence[Any], width: int) -> None:
    """Insert rows of ``width`` columns, given as one flat parameter list, with few statements. On
    SQLite each statement is one multi-row ``VALUES`` (chunks of fixed sizes, so the prepared
    statements are reused): a statement runs as one ``sqlite3_step`` with the GIL released, where
    ``executemany`` releases and re-takes the GIL for every row (a hand-off to the producers' thread
    each time). PostgreSQL: ``executemany`` (pipelined by psycopg). Index keys may repeat (a prefix
    collision): ignored, not an error."""
    if not flat:
        return
    keys = insert.startswith("INSERT INTO logboek_keys")
    if conn.dialect.name == "postgresql":
        marks = ", ".join(["%s"] * width)
        tail = " ON CONFLICT DO NOTHING" if keys else ""
        it = iter(flat)
        conn.exec_driver_sql(f"{insert}({marks}){tail}", list(zip(*[it] * width, strict=True)))
        return
    if keys:
        insert = insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
    i, n = 0, len(flat) // width
    for size in _CHUNKS:
        while n - i >= size:
            part = tuple(flat[i * width : (i + size) * width])
            conn.exec_driver_sql(_values_sql(insert, width, size), part)
            i += size


@lru_cache(maxsize=64)
def _values_sql(insert: str, width: int, size: int) -> str:
    one = "(" + ", ".join(["?"] * width) + ")"
    return insert + ", ".join([one] * size)


def _claim(item: Item) -> bool:
    """Take a queued write into a batch. A ``submit`` future its caller cancelled is dropped (not
    written); once claimed it can no longer be cancelled, so resolving it cannot fail and stop the
    writer thread."""
    return len(item) == 3 or item[1].set_running_or_notify_cancel()


def _resolve(
    futs: list[asyncio.Future[Any]],
    recss: list[Sequence[Prepared]],
    ats: list[int],
    stored: list[Any],
    error: Exception | None,
) -> None:
    """On an event loop: hand each waiter its rows (or the error) once its batch is durable."""
    for fut, recs, at in zip(futs, recss, ats, strict=True):
        if fut.done():  # cancelled by its caller
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(_rows(recs, stored, at))


def migrate_logboek(url: str | Engine) -> None:
    """Create or upgrade the logboek's tables."""
    from pathlib import Path

    from nds.db import migrate

    migrate(url, "logboek", Path(__file__).parent / "migrations")
