"""Group commit for the TransactionLog: one writer thread per process, durable before acknowledging.

Cost model (docs/fsc/dataplane.md, "Transaction log"; ``benchmarks/fsc_txlog.py``): at the data path's
load a commit holds only a few records, so what is paid *per commit* dominates: the fsync (60–110 µs
of kernel CPU on this machine's virtual disk), the hand-off between the event loop and the writer
thread, and every time the writer gives up the GIL and has to wait to get it back while the event loop
runs. This module keeps that small:

- the queue is a C ``queue.SimpleQueue``; the writer blocks in ``get()`` with the GIL released, a
  producer wakes it with a single ``put`` (no Python-level ``Condition``);
- SQLite: up to :data:`CHUNK_ROWS` records are written with **one** multi-row ``INSERT`` in autocommit
  mode: one ``sqlite3_step`` begins, inserts, commits and fsyncs. The ``sqlite3`` module releases
  the GIL twice per statement (step and reset); ``executemany`` inside ``BEGIN``/``COMMIT`` did so
  twice per row plus four times. The statements (one per row count) stay prepared in the
  connection's statement cache; the connection lives as long as the log (reopened after an error);
- the cross-process ``flock`` is first tried without blocking through ``ctypes.PyDLL`` (which keeps the
  GIL); only when another process holds it does the writer block in ``fcntl.flock``;
- waiters are released with one ``call_soon_threadsafe`` per batch and event loop.

Durability is unchanged: SQLite in WAL mode with ``synchronous=FULL`` syncs the WAL at every commit,
PostgreSQL commits with its default ``synchronous_commit=on``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

CHUNK_ROWS = 64  # rows per multi-row INSERT (9 columns: 576 parameters, below SQLite's oldest limit of 999)
# The statement cache must hold one INSERT per row count 1..CHUNK_ROWS plus BEGIN/COMMIT/ROLLBACK.
SQLITE_CACHED_STATEMENTS = 2 * CHUNK_ROWS + 16

Row = tuple[Any, ...]
_Waiter = tuple[list[Row], "asyncio.Future[None]", asyncio.AbstractEventLoop]
_STOP: Any = object()  # queued by stop(); nothing can be queued after it


def _load_flock_nogil() -> Callable[[int, int], int] | None:
    """libc ``flock`` called *with* the GIL held (``ctypes.PyDLL``), for non-blocking use only."""
    try:
        fn = ctypes.PyDLL(None).flock
    except (OSError, AttributeError):  # pragma: no cover - not glibc/musl
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


_flock_nogil = _load_flock_nogil()


class TransactionLogWriteError(Exception):
    """The records could not be written durably (maps to TRANSACTION_LOG_WRITE_ERROR)."""


class SqliteSink:
    """Writes batches on one long-lived ``sqlite3`` connection (autocommit, WAL, synchronous=FULL)."""

    def __init__(self, connect: Callable[[], Any], table: str, columns: tuple[str, ...]) -> None:
        # ``connect`` returns a pool-proxied connection whose driver connection has the log's pragmas
        # and autocommit (``isolation_level=None``); we call the ``sqlite3`` connection directly.
        self._connect = connect
        self._proxy: Any = None
        self._conn: Any = None
        self._head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 - constants
        self._one = "(" + ", ".join("?" for _ in columns) + ")"
        self._sql: dict[int, str] = {}

    def _insert_sql(self, n: int) -> str:
        sql = self._sql.get(n)
        if sql is None:
            sql = self._sql[n] = self._head + ", ".join(itertools.repeat(self._one, n))
        return sql

    def write(self, rows: list[Row]) -> None:
        conn = self._conn
        if conn is None:
            self._proxy = self._connect()
            conn = self._conn = self._proxy.driver_connection
        n = len(rows)
        if n <= CHUNK_ROWS:
            # Autocommit: one statement is one transaction, committed and fsynced inside this call.
            conn.execute(self._insert_sql(n), list(itertools.chain.from_iterable(rows)))
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, n, CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS]
                conn.execute(self._insert_sql(len(part)), list(itertools.chain.from_iterable(part)))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise

    def reset(self) -> None:
        """After an error: drop the connection (a fresh one is opened for the next batch)."""
        proxy, self._proxy, self._conn = self._proxy, None, None
        if proxy is not None:
            with contextlib.suppress(Exception):
                proxy.invalidate()

    def close(self) -> None:
        proxy, self._proxy, self._conn = self._proxy, None, None
        if proxy is not None:
            with contextlib.suppress(Exception):
                proxy.close()


class DbapiSink:
    """Any other database (PostgreSQL): ``executemany`` + ``commit`` on one pooled DBAPI connection."""

    def __init__(self, connect: Callable[[], Any], insert_sql: str) -> None:
        self._connect = connect  # returns a pool-proxied DBAPI connection (has .invalidate())
        self._conn: Any = None
        self._sql = insert_sql

    def write(self, rows: list[Row]) -> None:
        if self._conn is None:
            self._conn = self._connect()
        cur = self._conn.cursor()
        try:
            cur.executemany(self._sql, rows)
            self._conn.commit()
        finally:
            cur.close()

    def reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.invalidate()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class GroupCommitWriter:
    """Queue rows from any event loop; one thread commits them in batches; waiters learn the outcome.

    ``lock_path``: with several processes on one SQLite file, writers serialise on a blocking
    ``flock`` of that file (SQLite's busy handler sleeps and polls, which costs far more than a
    commit). The writer takes the lock first and only then drains the queue, so records that
    arrive while another process commits join this commit.
    """

    def __init__(
        self,
        sink: SqliteSink | DbapiSink,
        *,
        window_ms: float = 0.0,
        max_batch: int = 2048,
        lock_path: str | None = None,
    ) -> None:
        self._sink = sink
        self.window_ms = window_ms
        self.max_batch = max(1, max_batch)
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._state = threading.Lock()  # guards _closed and the start of the thread
        self._closed = False
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()  # one writer per process: the thread or write_sync
        self.batches_written = 0  # for tests and the benchmarks
        self.records_written = 0

    # -- producers ---------------------------------------------------------------------------

    def submit(self, rows: list[Row]) -> asyncio.Future[None]:
        """Queue ``rows`` for the next commit. The future (of the running event loop) resolves once
        they are durable, or fails with :class:`TransactionLogWriteError`."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._state:
            if self._closed:
                raise TransactionLogWriteError("the transaction log is closed")
            self._queue.put((rows, fut, loop))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="txlog-writer", daemon=True)
                self._thread.start()
        return fut

    def try_write_inline(self, rows: list[Row]) -> bool:
        """Commit ``rows`` on the calling thread if this process writes nothing else right now.

        True: durable (or :class:`TransactionLogWriteError` was raised). False: the writer thread is
        busy, rows are queued, or another process holds the write lock; nothing was written, so
        :meth:`submit` them. For a request that is alone in its process the hand-off to the writer
        thread and back costs more than the commit blocks its event loop (docs/fsc/dataplane.md);
        under load the caller must not use this, or commits stop being shared.
        """
        if self._closed:
            raise TransactionLogWriteError("the transaction log is closed")
        if not self._queue.empty() or not self._write_lock.acquire(blocking=False):
            return False
        try:
            if not self._queue.empty() or not self._try_lock_file_now():
                return False
            try:
                self._commit(rows)
            finally:
                self._unlock_file()
            return True
        finally:
            self._write_lock.release()

    def write_sync(self, rows: list[Row]) -> None:
        """Commit ``rows`` on the calling thread (durable when this returns)."""
        with self._write_lock:
            lock_error = self._try_lock_file()
            if lock_error is not None:
                raise lock_error
            try:
                self._commit(rows)
            finally:
                self._unlock_file()

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        q = self._queue
        stop = False
        while not stop:
            first = q.get()  # blocks with the GIL released
            if first is _STOP:
                return
            if self.window_ms > 0:
                time.sleep(self.window_ms / 1000)
            batch: list[_Waiter] = [first]
            with self._write_lock:
                lock_error = self._try_lock_file()
                try:
                    # Drain only now: what queued while another process held the lock joins this commit.
                    for _ in range(q.qsize()):  # exact: this thread is the only consumer
                        item = q.get_nowait()
                        if item is _STOP:  # write what came before it, then stop
                            stop = True
                            break
                        batch.append(item)
                    outcomes = self._write_batch(batch) if lock_error is None else [(batch, lock_error)]
                finally:
                    if lock_error is None:
                        self._unlock_file()
            for chunk, error in outcomes:
                futs = [w[1] for w in chunk]
                loops = {w[2] for w in chunk}
                for loop in loops:  # one per process in practice
                    mine = futs if len(loops) == 1 else [w[1] for w in chunk if w[2] is loop]
                    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                        loop.call_soon_threadsafe(_settle, mine, error)

    def _write_batch(self, batch: list[_Waiter]) -> list[tuple[list[_Waiter], BaseException | None]]:
        """Commit a batch: one transaction, or several of at most ``max_batch`` records each (a
        request's records are never split over two commits). Returns each part's outcome."""
        rows = batch[0][0] if len(batch) == 1 else [r for w in batch for r in w[0]]
        if len(rows) <= self.max_batch:
            return [(batch, self._try_commit(rows))]
        outcomes = []
        start = 0
        while start < len(batch):
            count, end = 0, start
            while end < len(batch) and (end == start or count + len(batch[end][0]) <= self.max_batch):
                count += len(batch[end][0])
                end += 1
            part = batch[start:end]
            outcomes.append((part, self._try_commit([r for w in part for r in w[0]])))
            start = end
        return outcomes

    def _try_commit(self, rows: list[Row]) -> BaseException | None:
        try:
            self._commit(rows)
        except TransactionLogWriteError as exc:
            return exc
        except BaseException as exc:  # defensive: every waiter must get an answer
            return TransactionLogWriteError(exc.__class__.__name__)
        return None

    def _commit(self, rows: list[Row]) -> None:
        try:
            self._sink.write(rows)
        except Exception as exc:
            self._sink.reset()
            raise TransactionLogWriteError(exc.__class__.__name__) from exc
        self.batches_written += 1
        self.records_written += len(rows)

    def _try_lock_file(self) -> TransactionLogWriteError | None:
        """Take the cross-process write lock; the error if that is impossible (nothing is written then).

        First without blocking and without releasing the GIL (the usual, uncontended case: releasing
        the GIL lets the event loop in and the writer then waits to get it back); only if another
        process holds the lock, block in ``fcntl.flock``."""
        if self._lock_path is None:
            return None
        try:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            if _flock_nogil is None or _flock_nogil(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB) != 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        except OSError as exc:
            return TransactionLogWriteError(f"write lock: {exc.__class__.__name__}")
        return None

    def _try_lock_file_now(self) -> bool:
        """Take the cross-process write lock only if it is free; never blocks."""
        if self._lock_path is None:
            return True
        try:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            if _flock_nogil is not None:
                return _flock_nogil(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB) == 0
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held elsewhere, or unusable: the writer thread reports that
        return True

    def _unlock_file(self) -> None:
        fd = self._lock_fd
        if fd is not None and (_flock_nogil is None or _flock_nogil(fd, fcntl.LOCK_UN) != 0):
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> threading.Thread | None:
        """Refuse new rows; the thread writes what is queued, then ends. Returns the thread."""
        with self._state:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
            return self._thread

    def close(self) -> None:
        thread = self.stop()
        if thread is not None:
            thread.join(timeout=60)
        self._sink.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _settle(futs: list[asyncio.Future[None]], error: BaseException | None) -> None:
    """On the waiters' event loop: acknowledge a commit (or fail it). Cancelled waiters are skipped."""
    for fut in futs:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
