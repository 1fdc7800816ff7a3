"""Group commit for the TransactionLog: one writer thread per process, durable before acknowledging.

Cost model (docs/fsc/dataplane.md, "Transaction log"; ``benchmarks/fsc_txlog.py``): at the data path's
load a commit holds only a few records, so what is paid *per commit* dominates: the fsync (60–110 µs
of kernel CPU on this machine's virtual disk), the hand-off between the event loop and the writer
thread, and every time the writer gives up the GIL and has to wait to get it back while the event loop
runs. This module keeps that small:

- the queue is a C ``queue.SimpleQueue``; the writer blocks in ``get()`` with the GIL released, a
  producer wakes it with a single ``put`` (no Python-level ``Condition``);
- SQLite: one multi-row autocommit ``INSERT`` per commit, changing only the table's leaf page; the
  records are indexed afterwards, by this thread, when idle or a chunk at a time
  (:mod:`nds.fsc.txlog.sinks`, migration fsc_txlog_0003);
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
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from nds.fsc.txlog.sinks import CHUNK_ROWS, SQLITE_CACHED_STATEMENTS, DbapiSink, Row, SqliteSink

__all__ = [
    "CHUNK_ROWS",
    "INDEX_CHUNK",
    "INDEX_IDLE_SECONDS",
    "SQLITE_CACHED_STATEMENTS",
    "DbapiSink",
    "GroupCommitWriter",
    "SqliteSink",
    "TransactionLogWriteError",
]

# Deferred indexing (SQLite; migration fsc_txlog_0003): records are committed unindexed and put into
# the secondary indexes afterwards by the writer thread, INDEX_CHUNK at a time, once the log has been
# idle for INDEX_IDLE_SECONDS or as soon as INDEX_CHUNK records wait. GET /logs finds the rest by ID.
INDEX_CHUNK = 1024
INDEX_IDLE_SECONDS = 0.2
_Waiter = tuple[list[Row], "asyncio.Future[None]", asyncio.AbstractEventLoop]
_STOP: Any = object()  # queued by stop(); nothing can be queued after it
_INDEX: Any = object()  # queued after an inline commit when INDEX_CHUNK records wait to be indexed


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
log = logging.getLogger("nds.fsc.txlog")


class TransactionLogWriteError(Exception):
    """The records could not be written durably (maps to TRANSACTION_LOG_WRITE_ERROR)."""


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
        # Deferred indexing: records this process committed that may still wait to be indexed
        # (an estimate: other processes index too), and when it last committed. Both change only
        # under _write_lock.
        self._unindexed = 0
        self._last_write = 0.0
        self._index_requested = False
        self.index_errors = 0

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
            self._start_thread()
        return fut

    def _start_thread(self) -> None:
        """Start the writer thread if it is not running (call with ``_state`` held)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="txlog-writer", daemon=True)
            self._thread.start()

    def _after_direct_commit(self) -> None:
        """After a commit made outside the writer thread: the thread indexes what it left behind."""
        if not self._sink.deferred_indexing:
            return
        if self._thread is None:
            with self._state:
                if not self._closed:
                    self._start_thread()
        if self._unindexed >= INDEX_CHUNK and not self._index_requested:
            self._index_requested = True
            self._queue.put(_INDEX)

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
        finally:
            self._write_lock.release()
        self._after_direct_commit()
        return True

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
        self._after_direct_commit()

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        q = self._queue
        stop = False
        # With deferred indexing the thread wakes now and then to index what waits (when idle).
        wait = INDEX_IDLE_SECONDS if self._sink.deferred_indexing else None
        while not stop:
            try:
                first = q.get(timeout=wait)  # blocks with the GIL released
            except queue.Empty:
                if self._unindexed and time.monotonic() - self._last_write >= INDEX_IDLE_SECONDS:
                    self._index(everything=True)
                continue
            if first is _STOP:
                self._index(everything=True)
                return
            if first is _INDEX:
                self._index_requested = False
                if self._unindexed >= INDEX_CHUNK:
                    self._index()
                continue
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
                        if item is _INDEX:
                            self._index_requested = False
                            continue
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
            if self._unindexed >= INDEX_CHUNK and not stop:  # after the waiters were released
                self._index()
        self._index(everything=True)

    def _index(self, *, everything: bool = False) -> None:
        """Index waiting records, INDEX_CHUNK per transaction (all of them if ``everything`` and
        nothing is queued meanwhile). Skipped while another process holds the write lock; a
        failure is logged and retried later: the records are durable and found without the index."""
        if not (self._sink.deferred_indexing and self._unindexed):
            return
        while True:
            with self._write_lock:
                if not self._try_lock_file_now():
                    return
                try:
                    left = self._index_chunk()
                finally:
                    self._unlock_file()
            if left is None or not (everything and left and self._queue.empty()):
                return

    def _index_chunk(self) -> int | None:
        """One indexing transaction (``_write_lock`` and the file lock held); None if it failed."""
        try:
            left = self._sink.index(INDEX_CHUNK)
        except Exception as exc:
            self._sink.reset()
            self.index_errors += 1
            if self.index_errors == 1 or self.index_errors % 1000 == 0:
                log.warning("transaction log: indexing failed (%d times): %s", self.index_errors, exc)
            return None
        self._unindexed = left
        return left

    def index_pending(self) -> None:
        """Index every waiting record now, waiting for the write lock if another process holds it
        (maintenance and tests). Raises :class:`TransactionLogWriteError` if that fails."""
        if not self._sink.deferred_indexing:
            return
        while True:
            with self._write_lock:
                lock_error = self._try_lock_file()
                if lock_error is not None:
                    raise lock_error
                try:
                    errors = self.index_errors
                    left = self._index_chunk()
                finally:
                    self._unlock_file()
            if left is None:
                raise TransactionLogWriteError(f"indexing failed ({self.index_errors - errors})")
            if not left:
                return

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
        if self._sink.deferred_indexing:
            self._unindexed += len(rows)
            self._last_write = time.monotonic()

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
