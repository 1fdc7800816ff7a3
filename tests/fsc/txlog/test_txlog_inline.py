"""The inline commit of a request that is alone in its process (``append_durable(..., alone=True)``).

It must keep every promise of the group commit: durable when it returns, an error instead of an
acknowledgement when the commit fails, and it must never block the event loop behind the writer thread
or another process: when either is writing, the records go through the group commit instead.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from pathlib import Path

import pytest
from txlog_helpers import add_poison_trigger, ids_in_db, rec

from nds.fsc.txlog import TransactionLog, TransactionLogWriteError


@pytest.mark.integration
def test_alone_commits_on_the_calling_thread(sqlite_url: str) -> None:
    """SQLite: committed on the caller's thread, not handed to the writer thread."""
    log = TransactionLog(sqlite_url)
    records = [rec(), rec()]
    sink = log._writer._sink
    write = sink.write
    committed_on: list[str] = []

    def recording_write(rows: list) -> None:
        committed_on.append(threading.current_thread().name)
        write(rows)

    sink.write = recording_write  # type: ignore[method-assign]

    async def main() -> None:
        await log.append_durable(records, alone=True)

    try:
        asyncio.run(main())
        assert committed_on == [threading.current_thread().name]
        assert log.batches_written == 1 and log.records_written == 2
    finally:
        log.close()
    assert ids_in_db(sqlite_url) == [r.transaction_id for r in records]


@pytest.mark.integration
def test_alone_never_blocks_the_loop_on_a_database_server(pg_url: str) -> None:
    """PostgreSQL: a round trip to the server is not made on the event loop, even when alone."""
    log = TransactionLog(pg_url)
    r = rec()

    async def main() -> None:
        await log.append_durable([r], alone=True)

    try:
        asyncio.run(main())
        assert log._writer._thread is not None  # committed by the writer thread
    finally:
        log.close()
    assert ids_in_db(pg_url) == [r.transaction_id]


@pytest.mark.integration
def test_alone_uses_the_group_commit_while_the_writer_is_busy(sqlite_url: str) -> None:
    """The writer thread (or ``write_sync``) holds the write lock: the caller must not wait for it on
    its event loop; its records join the next group commit and are acknowledged after that."""
    log = TransactionLog(sqlite_url)
    lock = log._writer._write_lock
    r = rec()

    async def main() -> None:
        lock.acquire()  # as if a commit were under way
        try:
            task = asyncio.ensure_future(log.append_durable([r], alone=True))
            await asyncio.sleep(0.2)  # the loop keeps running: append_durable did not block it
            assert not task.done()  # not acknowledged while its commit cannot have happened
            assert ids_in_db(sqlite_url) == []
        finally:
            lock.release()
        await asyncio.wait_for(task, 10)

    try:
        asyncio.run(main())
        assert log._writer._thread is not None  # it went through the writer thread
    finally:
        log.close()
    assert ids_in_db(sqlite_url) == [r.transaction_id]


@pytest.mark.integration
def test_alone_does_not_wait_for_another_process_on_its_loop(tmp_path: Path) -> None:
    """Another process holds the SQLite file's write lock: no inline commit (which would block the
    event loop on the lock); the group commit waits for the lock on its own thread."""
    db = tmp_path / "txlog.db"
    url = f"sqlite:///{db}"
    log = TransactionLog(url)
    other = os.open(f"{db}.writelock", os.O_RDWR | os.O_CREAT, 0o600)  # its own open file description
    fcntl.flock(other, fcntl.LOCK_EX)
    r = rec()

    async def main() -> None:
        task = asyncio.ensure_future(log.append_durable([r], alone=True))
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the other process holds the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not task.done()
        fcntl.flock(other, fcntl.LOCK_UN)
        await asyncio.wait_for(task, 10)

    try:
        asyncio.run(main())
    finally:
        os.close(other)
        log.close()
    assert ids_in_db(url) == [r.transaction_id]


@pytest.mark.integration
def test_alone_failure_is_reported_and_the_log_recovers(db_url: str) -> None:
    log = TransactionLog(db_url)
    add_poison_trigger(log)
    good = rec()

    async def main() -> None:
        with pytest.raises(TransactionLogWriteError):
            await log.append_durable([rec("poison")], alone=True)
        await log.append_durable([good], alone=True)  # a fresh connection after the failure

    try:
        asyncio.run(main())
    finally:
        log.close()
    assert ids_in_db(db_url) == [good.transaction_id]


@pytest.mark.integration
def test_alone_after_close_is_refused(sqlite_url: str) -> None:
    log = TransactionLog(sqlite_url)

    async def main() -> None:
        await log.aclose()
        with pytest.raises(TransactionLogWriteError):
            await log.append_durable([rec()], alone=True)

    asyncio.run(main())
    assert ids_in_db(sqlite_url) == []
