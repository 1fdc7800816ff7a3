"""The per-peer TransactionLog store: durable group commit and the ``GET /logs`` query.

Durability: :meth:`TransactionLog.append_durable` returns only after the records are committed and
fsynced (SQLite in WAL mode with ``synchronous=FULL`` fsyncs the WAL on every commit; PostgreSQL
with its default ``fsync=on``/``synchronous_commit=on`` flushes the WAL before COMMIT returns).

Group commit: one writer per process. Requests that arrive while a commit is in flight queue up
and are written together in the next transaction, so N concurrent requests cost one fsync instead
of N. The default window is zero: a batch is exactly what accumulated during the previous commit
(no added delay when idle; under load the batch grows by itself). ``window_ms`` adds an optional
wait before each batch to trade latency for fewer fsyncs. A failed batch fails every request in
it (each gets TRANSACTION_LOG_WRITE_ERROR); the next batch tries again.

Every process (Inway/Outway worker, Manager) may open the same database; SQLite serialises the
writers with ``BEGIN IMMEDIATE`` and a busy timeout, PostgreSQL needs nothing special.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.db import component_metadata, is_sqlite, make_engine, migrate
from nds.fsc.txlog.model import Direction, LogRecord

metadata = component_metadata()
_ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias

records_table = sa.Table(
    "fsc_txlog_records",
    metadata,
    sa.Column("id", _ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("transaction_id", sa.String(64), nullable=False, index=True),
    sa.Column("direction", sa.String(24), nullable=False),
    sa.Column("grant_hash", sa.String(1024), nullable=False, index=True),
    sa.Column("outway_peer_id", sa.String(64), nullable=False, index=True),
    sa.Column("source_delegator_peer_id", sa.String(64), nullable=True, index=True),
    sa.Column("service_peer_id", sa.String(64), nullable=False, index=True),
    sa.Column("destination_delegator_peer_id", sa.String(64), nullable=True, index=True),
    sa.Column("service_name", sa.String(255), nullable=False, index=True),
    sa.Column("created_at_us", sa.BigInteger(), nullable=False, index=True),
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
MAX_TRANSACTION_IDS = 1000
SORT_ASCENDING = "SORT_ORDER_ASCENDING"
SORT_DESCENDING = "SORT_ORDER_DESCENDING"


class TransactionLogWriteError(Exception):
    """The records could not be written durably (maps to TRANSACTION_LOG_WRITE_ERROR)."""


class QueryError(ValueError):
    """Invalid query parameters (bad cursor, limit out of range, ...)."""


@dataclass(frozen=True)
class LogPage:
    records: list[LogRecord]
    next_cursor: str  # "" when there are no more results (as fsc-logging's paginationResult says)

    def to_api(self) -> dict[str, Any]:
        return {
            "records": [r.to_api() for r in self.records],
            "pagination": {"next_cursor": self.next_cursor},
        }


def _encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{row_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _, num = raw.partition(":")
        if prefix != "v1" or not num.isdigit():
            raise ValueError(cursor)
        return int(num)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise QueryError("invalid cursor") from exc


_COLUMNS = (
    "transaction_id",
    "direction",
    "grant_hash",
    "outway_peer_id",
    "source_delegator_peer_id",
    "service_peer_id",
    "destination_delegator_peer_id",
    "service_name",
    "created_at_us",
)


def _row_tuple(r: LogRecord) -> tuple[Any, ...]:
    return (
        r.transaction_id,
        str(r.direction),
        r.grant_hash,
        r.outway_peer_id,
        r.source_delegator_peer_id,
        r.service_peer_id,
        r.destination_delegator_peer_id,
        r.service_name,
        r.created_at_us,
    )


def _insert_sql(paramstyle: str) -> str:
    marks = ", ".join("?" if paramstyle == "qmark" else "%s" for _ in _COLUMNS)
    return f"INSERT INTO fsc_txlog_records ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constants


def _from_row(row: Any) -> LogRecord:
    return LogRecord(
        transaction_id=row.transaction_id,
        direction=Direction(row.direction),
        grant_hash=row.grant_hash,
        outway_peer_id=row.outway_peer_id,
        service_peer_id=row.service_peer_id,
        service_name=row.service_name,
        source_delegator_peer_id=row.source_delegator_peer_id,
        destination_delegator_peer_id=row.destination_delegator_peer_id,
        created_at_us=row.created_at_us,
    )


class TransactionLog:
    """One peer's TransactionLog.

    Interface used by the Inway, the Outway and the Manager's ``GET /logs``:

    - ``await append_durable(records)``: returns once committed and fsynced, or raises
      :class:`TransactionLogWriteError`;
    - ``await query(caller_peer_id, ...)`` / ``query_sync(...)``: a :class:`LogPage` of the records
      that involve the caller (source, destination or either delegator), with fsc-logging filters.
    """

    def __init__(
        self, url: str, *, window_ms: float = 0.0, max_batch: int = 2048, create: bool = True
    ) -> None:
        self.url = url
        self.window_ms = window_ms
        self.max_batch = max_batch
        self._engine: Engine = make_engine(url, immediate=True)
        if create:
            migrate(self._engine, "fsc_txlog", MIGRATIONS_DIR)
        self._sqlite = is_sqlite(url)
        self._insert_sql = _insert_sql(self._engine.dialect.paramstyle)
        self._raw: Any = None
        # One thread does all writes (fsync off the event loop); reads get their own threads.
        self._read_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="txlog-reader")
        self._cond = threading.Condition()
        self._queue: list[_Waiter] = []  # guarded by _cond
        self._idle = False  # the writer thread waits on _cond
        self._closing = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one writer per process: the writer thread or append_sync
        self._lock_fd: int | None = None
        self._lock_path: str | None = None
        if is_sqlite(url):
            db = url.split("///", 1)[-1]
            if db and db != ":memory:":
                self._lock_path = db + ".writelock"
        self.batches_written = 0  # for tests and the benchmark's report
        self.records_written = 0

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """SQLite: serialise writers of all processes on a lock file (``flock``).

        SQLite's own busy handler polls with growing sleeps when another process holds the write
        lock; with several worker processes committing back to back that costs far more than the
        commit itself. A blocking ``flock`` hands the lock over as soon as it is released.
        """
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @property
    def engine(self) -> Engine:
        return self._engine

    # -- writing ---------------------------------------------------------------------------

    def append_sync(self, records: Iterable[LogRecord]) -> None:
        """Write records in one transaction (committed and fsynced when this returns)."""
        rows = [_row_tuple(r) for r in records]
        if rows:
            self._write_rows(rows)

    def _write_rows(self, rows: list[tuple[Any, ...]]) -> None:
        with self._lock, self._file_lock():
            self._write_locked(rows)

    def _write_locked(self, rows: list[tuple[Any, ...]]) -> None:
        """One transaction on the writer's own DBAPI connection (little Python work per commit)."""
        try:
            conn = self._raw_connection()
            cur = conn.cursor()
            try:
                if self._sqlite:
                    cur.execute("BEGIN IMMEDIATE")
                cur.executemany(self._insert_sql, rows)
                if self._sqlite:
                    cur.execute("COMMIT")
                else:
                    conn.commit()
            finally:
                cur.close()
        except Exception as exc:
            self._drop_raw_connection()
            raise TransactionLogWriteError(str(exc.__class__.__name__)) from exc
        self.batches_written += 1
        self.records_written += len(rows)

    def _raw_connection(self) -> Any:
        if self._raw is None:
            self._raw = self._engine.raw_connection()
        return self._raw

    def _drop_raw_connection(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.rollback()
            with contextlib.suppress(Exception):
                raw.invalidate()

    async def append_durable(self, records: Sequence[LogRecord]) -> None:
        """Queue ``records`` for the next group commit and wait until they are on disk."""
        if not records:
            return
        rows = [_row_tuple(r) for r in records]
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._closing:
                raise TransactionLogWriteError("the transaction log is closed")
            self._queue.append((rows, fut, loop))
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer_main, name="txlog-writer", daemon=True)
                self._thread.start()
            elif self._idle:
                self._cond.notify()
        await fut

    def _writer_main(self) -> None:
        """The writer thread: wait for queued records, take the (cross-process) write lock, and only
        then take everything queued so far; records that arrive while another process holds the lock
        join this commit instead of waiting for the next one. Waiters are woken with one
        ``call_soon_threadsafe`` per batch and event loop."""
        cond = self._cond
        while True:
            with cond:
                while not self._queue and not self._closing:
                    self._idle = True
                    cond.wait()
                self._idle = False
                if not self._queue:  # closing and drained
                    return
            if self.window_ms > 0:
                time.sleep(self.window_ms / 1000)
            outcomes: list[tuple[list[_Waiter], BaseException | None]] = []
            with self._lock, self._file_lock():
                with cond:
                    batch, self._queue = self._queue, []
                start = 0
                while start < len(batch):
                    count, end = 0, start
                    while end < len(batch) and (end == start or count + len(batch[end][0]) <= self.max_batch):
                        count += len(batch[end][0])
                        end += 1
                    chunk = batch[start:end]
                    start = end
                    error: BaseException | None = None
                    try:
                        self._write_locked([row for rows, _, _ in chunk for row in rows])
                    except TransactionLogWriteError as exc:
                        error = exc
                    except Exception as exc:  # defensive: every waiter must get an answer
                        error = TransactionLogWriteError(exc.__class__.__name__)
                    outcomes.append((chunk, error))
            for chunk, error in outcomes:
                by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
                for _, fut, loop in chunk:
                    by_loop.setdefault(loop, []).append(fut)
                for loop, futs in by_loop.items():
                    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                        loop.call_soon_threadsafe(_settle, futs, error)

    # -- reading ---------------------------------------------------------------------------

    def query_sync(
        self,
        caller_peer_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        grant_hash: Sequence[str] = (),
        service_name: Sequence[str] = (),
        transaction_ids: Sequence[str] = (),
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        sort_order: str = SORT_ASCENDING,
    ) -> LogPage:
        """Records involving ``caller_peer_id``, filtered as in fsc-logging's ``GET /logs``.

        ``after``/``before`` are Unix seconds compared with the record's ``created_at`` (whole
        seconds, exclusive bounds). ``transaction_ids`` overrides the other filters and pagination
        (as the spec says), but never the restriction to the caller.
        """
        t = records_table
        involves = sa.or_(
            t.c.outway_peer_id == caller_peer_id,
            t.c.service_peer_id == caller_peer_id,
            t.c.source_delegator_peer_id == caller_peer_id,
            t.c.destination_delegator_peer_id == caller_peer_id,
        )
        if sort_order not in (SORT_ASCENDING, SORT_DESCENDING):
            raise QueryError(f"sort_order must be {SORT_ASCENDING} or {SORT_DESCENDING}")
        descending = sort_order == SORT_DESCENDING
        if transaction_ids:
            if len(transaction_ids) > MAX_TRANSACTION_IDS:
                raise QueryError(f"at most {MAX_TRANSACTION_IDS} transaction_ids")
            stmt = sa.select(t).where(involves, t.c.transaction_id.in_(list(transaction_ids)))
            stmt = stmt.order_by(t.c.id.desc() if descending else t.c.id)
            with self._engine.connect() as conn:
                rows = conn.execute(stmt).all()
            return LogPage([_from_row(r) for r in rows], "")
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        conds: list[Any] = [involves]
        if after is not None:
            conds.append(t.c.created_at_us >= (after + 1) * 1_000_000)
        if before is not None:
            conds.append(t.c.created_at_us < before * 1_000_000)
        if grant_hash:
            conds.append(t.c.grant_hash.in_(list(grant_hash)))
        if service_name:
            conds.append(t.c.service_name.in_(list(service_name)))
        if cursor:
            last = _decode_cursor(cursor)
            conds.append(t.c.id < last if descending else t.c.id > last)
        stmt = sa.select(t).where(*conds).order_by(t.c.id.desc() if descending else t.c.id).limit(limit + 1)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1].id) if more and rows else ""
        return LogPage([_from_row(r) for r in rows], next_cursor)

    async def query(self, caller_peer_id: str, **filters: Any) -> LogPage:
        """:meth:`query_sync` on a reader thread (for aiohttp handlers)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._read_executor, lambda: self.query_sync(caller_peer_id, **filters)
        )

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(records_table)).scalar_one())

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Flush what is queued, stop the writer, release the database."""
        thread = self._stop_writer()
        while thread is not None and thread.is_alive():
            await asyncio.sleep(0.001)
        self.close()

    def _stop_writer(self) -> threading.Thread | None:
        with self._cond:
            self._closing = True
            self._cond.notify()
            return self._thread

    def close(self) -> None:
        thread = self._stop_writer()
        if thread is not None:
            thread.join(timeout=60)
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.close()
            self._raw = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self._read_executor.shutdown(wait=True)
        self._engine.dispose()


_Waiter = tuple[list[tuple[Any, ...]], "asyncio.Future[None]", asyncio.AbstractEventLoop]


def _settle(futs: list[asyncio.Future[None]], error: BaseException | None) -> None:
    """On the waiters' event loop: acknowledge a commit (or fail it). Cancelled waiters are skipped."""
    for fut in futs:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
