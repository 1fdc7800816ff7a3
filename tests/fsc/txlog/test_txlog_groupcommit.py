"""TransactionLog group commit and schema: behaviour the data path relies on (SQLite and PostgreSQL).

- a commit is all or nothing (also when it spans several multi-row INSERTs), a request is never split;
- batches respect ``max_batch``; what ``aclose`` finds queued is still written; afterwards writes fail;
- several event loops and several processes may write to one log; every acknowledged record survives
  a SIGKILL of its writer;
- migration fsc_txlog_0002 (lean indexes) keeps existing records and the GET /logs semantics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from txlog_helpers import A, B, C, D, add_poison_trigger, ids_in_db, rec

from nds.db import make_engine, migrate
from nds.fsc.txlog import Direction, LogRecord, TransactionLog, TransactionLogWriteError, new_transaction_id
from nds.fsc.txlog.store import MIGRATIONS_DIR
from nds.fsc.txlog.writer import CHUNK_ROWS


@pytest.mark.integration
def test_large_request_is_one_atomic_commit(db_url: str) -> None:
    """More records than one multi-row INSERT holds: all of them in one transaction, or none."""
    log = TransactionLog(db_url)
    add_poison_trigger(log)
    n = 3 * CHUNK_ROWS + 5
    good = [rec() for _ in range(n)]
    bad = [rec() for _ in range(n - 1)] + [rec("poison")]  # the last chunk fails: the first ones roll back

    async def main() -> None:
        await log.append_durable(good)
        with pytest.raises(TransactionLogWriteError):
            await log.append_durable(bad)
        await log.append_durable(good[:1])  # the log works again after a failed commit
        await log.aclose()

    asyncio.run(main())
    assert ids_in_db(db_url) == [r.transaction_id for r in good] + [good[0].transaction_id]


@pytest.mark.integration
def test_failed_commit_fails_its_whole_batch_only(db_url: str) -> None:
    """A poisoned record fails every request committed with it; requests in other commits succeed.
    With ``max_batch=1`` every request is its own commit, so only the poisoned one fails."""
    for max_batch in (2048, 1):
        log = TransactionLog(db_url, max_batch=max_batch)
        if max_batch == 2048:
            add_poison_trigger(log)
        before = set(ids_in_db(db_url))
        # 17 requests queued at once: the writer takes the first and batches what queued meanwhile.
        reqs = [[rec()] for _ in range(11)] + [[rec("poison")]] + [[rec()] for _ in range(5)]

        async def main(log: TransactionLog = log, reqs: list[list[LogRecord]] = reqs) -> list[object]:
            res = await asyncio.gather(*(log.append_durable(r) for r in reqs), return_exceptions=True)
            await log.aclose()
            return list(res)

        results = asyncio.run(main())
        assert all(r is None or isinstance(r, TransactionLogWriteError) for r in results)
        assert isinstance(results[11], TransactionLogWriteError)
        acked = {req[0].transaction_id for req, res in zip(reqs, results, strict=True) if res is None}
        assert set(ids_in_db(db_url)) - before == acked  # exactly the acknowledged ones, nothing partial
        if max_batch == 2048:
            # the 17 requests are queued within one loop iteration, so the poisoned one shares its
            # commit with others, and they all failed with it
            assert len(acked) < 16
        else:
            assert len(acked) == 16 and log.batches_written == 16  # one commit per request


@pytest.mark.integration
def test_max_batch_splits_between_requests_never_inside(sqlite_url: str) -> None:
    log = TransactionLog(sqlite_url, max_batch=8)

    async def main() -> None:
        reqs = [[rec() for _ in range(3)] for _ in range(40)] + [[rec() for _ in range(20)]]
        await asyncio.gather(*(log.append_durable(r) for r in reqs))
        await log.aclose()

    asyncio.run(main())
    assert log.records_written == 140
    # a 20-record request exceeds max_batch but is written whole; the others go at most 2 per commit
    assert log.batches_written >= 40 // 2 + 1
    assert len(set(ids_in_db(sqlite_url))) == 140


@pytest.mark.integration
def test_aclose_writes_what_is_queued_and_then_refuses(sqlite_url: str) -> None:
    log = TransactionLog(sqlite_url)
    records = [rec() for _ in range(50)]

    async def main() -> None:
        pending = [asyncio.ensure_future(log.append_durable([r])) for r in records]
        await asyncio.sleep(0)  # every request is queued
        await log.aclose()
        await asyncio.gather(*pending)  # all were acknowledged
        with pytest.raises(TransactionLogWriteError):
            await log.append_durable([rec()])

    asyncio.run(main())
    assert sorted(ids_in_db(sqlite_url)) == sorted(r.transaction_id for r in records)


@pytest.mark.integration
def test_cancelled_waiter_does_not_disturb_others(sqlite_url: str) -> None:
    log = TransactionLog(sqlite_url)

    async def main() -> None:
        tasks = [asyncio.ensure_future(log.append_durable([rec()])) for _ in range(30)]
        await asyncio.sleep(0)
        tasks[3].cancel()
        tasks[17].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 2
        assert [r for r in results if not isinstance(r, asyncio.CancelledError)] == [None] * 28
        await log.append_durable([rec()])
        await log.aclose()

    asyncio.run(main())
    assert 29 <= len(ids_in_db(sqlite_url)) <= 31  # a cancelled request's record may still be written


@pytest.mark.integration
def test_several_event_loops_share_one_writer(db_url: str) -> None:
    log = TransactionLog(db_url)
    acked: list[list[str]] = [[] for _ in range(3)]

    def run(i: int) -> None:
        async def main() -> None:
            recs = [rec() for _ in range(100)]
            await asyncio.gather(*(log.append_durable([r]) for r in recs))
            acked[i] = [r.transaction_id for r in recs]

        asyncio.run(main())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    log.close()
    assert sorted(ids_in_db(db_url)) == sorted(x for a in acked for x in a)
    assert len(ids_in_db(db_url)) == 300


def _child_writer(url: str, wfd: int) -> None:
    """A forked writer process: append forever, report each acknowledged ID on the pipe."""
    log = TransactionLog(url, create=False)

    async def one() -> None:
        r = rec()
        await log.append_durable([r])
        os.write(wfd, r.transaction_id.encode() + b"\n")

    async def main() -> None:
        while True:
            await asyncio.gather(*(one() for _ in range(8)))

    asyncio.run(main())


@pytest.mark.integration
def test_processes_share_one_file_and_acknowledged_records_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'txlog.db'}"
    TransactionLog(url).close()  # tables created once, as the proxies' parent process does
    children: list[tuple[int, int]] = []
    try:
        for _ in range(3):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                try:
                    os.close(r)
                    _child_writer(url, w)
                finally:
                    os._exit(1)
            os.close(w)
            children.append((pid, r))
        deadline = time.monotonic() + 30
        acked: list[set[str]] = [set() for _ in children]
        buffers = [b"" for _ in children]
        while time.monotonic() < deadline and min(len(a) for a in acked) < 200:
            for i, (_, r) in enumerate(children):
                os.set_blocking(r, False)
                with contextlib.suppress(BlockingIOError):
                    buffers[i] += os.read(r, 1 << 16)
                *lines, buffers[i] = buffers[i].split(b"\n")
                acked[i].update(x.decode() for x in lines)
            time.sleep(0.01)
        for pid, _ in children:
            os.kill(pid, signal.SIGKILL)  # mid-commit, most likely
        for i, (pid, r) in enumerate(children):
            os.waitpid(pid, 0)
            os.set_blocking(r, True)
            rest = buffers[i] + os.read(r, 1 << 20)
            acked[i].update(x.decode() for x in rest.split(b"\n")[:-1])  # complete lines only
    finally:
        for pid, r in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(r)
    assert min(len(a) for a in acked) >= 200, "the writers made too little progress"
    stored = ids_in_db(url)  # opening the database recovers the WAL of the killed writers
    assert len(stored) == len(set(stored))
    every_acked = set().union(*acked)
    assert every_acked <= set(stored)  # nothing acknowledged was lost


@pytest.mark.integration
def test_migration_0002_keeps_records_and_query_semantics(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "fsc_txlog", MIGRATIONS_DIR, revision="fsc_txlog_0001")
    rows = [
        rec(),
        rec("other"),
        rec(sdel=C),
        rec(ddel=D),
        rec(sdel=C, ddel=D),
        LogRecord(new_transaction_id(), Direction.INCOMING, "$1$4$h", C, A, "basisregister"),
    ]
    cols = (
        "transaction_id, direction, grant_hash, outway_peer_id, source_delegator_peer_id, service_peer_id, "
        "destination_delegator_peer_id, service_name, created_at_us"
    )
    with engine.begin() as conn:
        for r in rows:
            conn.execute(
                sa.text(
                    f"INSERT INTO fsc_txlog_records ({cols}) VALUES (:t, :d, :g, :o, :sd, :sp, :dd, :s, :c)"
                ),
                {
                    "t": r.transaction_id,
                    "d": str(r.direction),
                    "g": r.grant_hash,
                    "o": r.outway_peer_id,
                    "sd": r.source_delegator_peer_id,
                    "sp": r.service_peer_id,
                    "dd": r.destination_delegator_peer_id,
                    "s": r.service_name,
                    "c": r.created_at_us,
                },
            )
    engine.dispose()

    log = TransactionLog(db_url)  # upgrades to head
    ids = [r.transaction_id for r in rows]
    assert [r.transaction_id for r in log.query_sync(A, limit=1000).records] == ids
    assert log.query_sync(A, limit=1000).records == rows  # every field survived
    assert [r.transaction_id for r in log.query_sync(C).records] == [ids[2], ids[4], ids[5]]
    assert [r.transaction_id for r in log.query_sync(D).records] == [ids[3], ids[4]]
    assert [r.transaction_id for r in log.query_sync(A, service_name=["other"]).records] == [ids[1]]
    assert [r.transaction_id for r in log.query_sync(A, grant_hash=["$1$4$h"]).records] == [ids[5]]
    assert [r.transaction_id for r in log.query_sync(D, transaction_ids=ids).records] == [ids[3], ids[4]]
    indexes = {ix["name"] for ix in sa.inspect(log.engine).get_indexes("fsc_txlog_records")}
    assert indexes == {
        f"ix_fsc_txlog_records_{c}"
        for c in (
            "transaction_id",
            "outway_peer_id",
            "service_peer_id",
            "source_delegator_peer_id",
            "destination_delegator_peer_id",
        )
    }
    with log.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version_fsc_txlog")).scalar_one()
    assert version == "fsc_txlog_0004"
    log.append_sync([rec(sdel=B)])
    assert len(log.query_sync(B, limit=1000).records) == 6  # 5 as the service peer, 1 as a delegator
    log.close()

    # and back down: the old indexes return, the records stay
    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["version_table"] = "alembic_version_fsc_txlog"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "fsc_txlog_0001")
    assert len(sa.inspect(engine).get_indexes("fsc_txlog_records")) == 8
    engine.dispose()
    assert len(ids_in_db(db_url)) == 7


@pytest.mark.integration
def test_unusable_write_lock_fails_requests_instead_of_hanging(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'txlog.db'}"
    log = TransactionLog(url)
    lock = tmp_path / "txlog.db.writelock"
    lock.mkdir()  # the lock file cannot be opened

    async def main() -> None:
        res = await asyncio.gather(*(log.append_durable([rec()]) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, TransactionLogWriteError) for r in res)
        with pytest.raises(TransactionLogWriteError):
            log.append_sync([rec()])
        lock.rmdir()
        ok = [rec() for _ in range(3)]
        await asyncio.gather(*(log.append_durable([r]) for r in ok))
        await log.aclose()
        assert sorted(ids_in_db(url)) == sorted(r.transaction_id for r in ok)  # nothing from the failures

    asyncio.run(asyncio.wait_for(main(), 60))
