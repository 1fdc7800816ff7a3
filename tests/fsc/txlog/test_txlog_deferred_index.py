"""Deferred indexing (migration fsc_txlog_0003): a durable commit changes only the table's leaf page;
the writer puts records into the partial secondary indexes afterwards. What must hold:

- a one-record commit appends exactly one page to SQLite's WAL (the reason for all of this);
- ``GET /logs`` finds every record at every moment: before, during and after indexing, with every
  filter, both sort orders and pagination across the boundary between indexed and waiting records;
- the writer indexes by itself: when idle, and in chunks while busy;
- queries use the partial indexes for indexed records and the row ID range for the rest;
- a reader never takes the write lock; an indexing failure is reported, retried, and loses nothing;
- the migration keeps existing records, up and down, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from txlog_helpers import A, B, C, D, rec

from nds.db import make_engine, migrate
from nds.fsc.txlog import Direction, LogRecord, TransactionLog, new_transaction_id
from nds.fsc.txlog import writer as writer_mod
from nds.fsc.txlog.store import _COLUMNS, MIGRATIONS_DIR, _row_tuple

FRAME = 4096 + 24  # one WAL frame: a 4 KiB page and its header


@pytest.fixture
def no_idle_indexing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer thread does not index by itself during the test (unless a chunk is full)."""
    monkeypatch.setattr(writer_mod, "INDEX_IDLE_SECONDS", 3600.0)


def _mixed_records(n: int) -> list[LogRecord]:
    """Records with every party combination GET /logs distinguishes, two grants and two services."""
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            r = rec()
        elif kind == 1:
            r = rec("other", sdel=C)
        elif kind == 2:
            r = rec(ddel=D)
        elif kind == 3:
            r = rec(sdel=C, ddel=D)
        else:
            r = LogRecord(new_transaction_id(), Direction.INCOMING, "$1$4$h", C, A, "basisregister")
        out.append(r)
    return out


def _involves(r: LogRecord, peer: str) -> bool:
    return peer in (
        r.outway_peer_id,
        r.service_peer_id,
        r.source_delegator_peer_id,
        r.destination_delegator_peer_id,
    )


def _pages(log: TransactionLog, peer: str, limit: int, **filters: Any) -> Iterator[list[str]]:
    cursor = None
    while True:
        page = log.query_sync(peer, limit=limit, cursor=cursor, **filters)
        yield [r.transaction_id for r in page.records]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _assert_queries_match(log: TransactionLog, written: list[LogRecord]) -> None:
    """Every query answers what the written records say it must, whatever is indexed yet."""
    for peer in (A, B, C, D, "00000001000000000099"):
        expected = [r.transaction_id for r in written if _involves(r, peer)]
        for limit in (1, 3, 1000):
            got = list(itertools.chain.from_iterable(_pages(log, peer, limit)))
            assert got == expected, (peer, limit)
            got = list(
                itertools.chain.from_iterable(_pages(log, peer, limit, sort_order="SORT_ORDER_DESCENDING"))
            )
            assert got == expected[::-1], (peer, limit, "descending")
        assert [
            r.transaction_id for r in log.query_sync(peer, limit=1000, service_name=["other"]).records
        ] == [r.transaction_id for r in written if _involves(r, peer) and r.service_name == "other"]
        assert [
            r.transaction_id for r in log.query_sync(peer, limit=1000, grant_hash=["$1$4$h"]).records
        ] == [r.transaction_id for r in written if _involves(r, peer) and r.grant_hash == "$1$4$h"]
        some = [r.transaction_id for r in written[::3]]
        assert [r.transaction_id for r in log.query_sync(peer, transaction_ids=some).records] == [
            r.transaction_id for r in written[::3] if _involves(r, peer)
        ]
    assert log.query_sync(A, limit=1000).records == [r for r in written if _involves(r, A)]  # every field


def _indexed_flags(log: TransactionLog) -> list[int]:
    with log.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT indexed FROM fsc_txlog_records ORDER BY id")).scalars())


@pytest.mark.integration
def test_a_one_record_commit_appends_one_wal_frame(sqlite_url: str, no_idle_indexing: None) -> None:
    log = TransactionLog(sqlite_url)
    wal = Path(sqlite_url.split("///", 1)[1] + "-wal")
    try:
        log.append_sync([rec()])  # the WAL exists from here on
        before = wal.stat().st_size
        for _ in range(5):
            log.append_sync([rec(sdel=C, ddel=D)])  # all five indexes would take this record
        assert wal.stat().st_size - before == 5 * FRAME
        assert _indexed_flags(log) == [0] * 6
        log.index_pending()
        assert _indexed_flags(log) == [1] * 6
    finally:
        log.close()


@pytest.mark.integration
def test_records_are_found_before_during_and_after_indexing(
    db_url: str, no_idle_indexing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_mod, "INDEX_CHUNK", 10_000)  # the writer leaves them all waiting
    log = TransactionLog(db_url)
    try:
        first = _mixed_records(23)
        log.append_sync(first)
        _assert_queries_match(log, first)  # SQLite: none indexed yet
        if log.engine.dialect.name == "sqlite":
            assert set(_indexed_flags(log)) == {0}
            monkeypatch.setattr(writer_mod, "INDEX_CHUNK", 7)
            with log._writer._write_lock:
                assert log._writer._index_chunk() == 16  # 7 indexed, 16 wait
            monkeypatch.setattr(writer_mod, "INDEX_CHUNK", 10_000)
            assert _indexed_flags(log) == [1] * 7 + [0] * 16
        _assert_queries_match(log, first)  # partly indexed
        second = _mixed_records(11)
        log.append_sync(second)
        _assert_queries_match(log, first + second)
        log.index_pending()
        assert set(_indexed_flags(log)) == {1}
        _assert_queries_match(log, first + second)  # all indexed
    finally:
        log.close()


@pytest.mark.integration
def test_the_writer_indexes_when_idle(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_mod, "INDEX_IDLE_SECONDS", 0.05)
    log = TransactionLog(sqlite_url)

    async def write() -> None:
        for i in range(6):
            await log.append_durable([rec()], alone=i % 2 == 0)  # inline and through the thread

    try:
        asyncio.run(write())
        deadline = time.monotonic() + 10
        while set(_indexed_flags(log)) != {1} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _indexed_flags(log) == [1] * 6
        with log.engine.connect() as conn:
            through = conn.execute(sa.text("SELECT indexed_through FROM fsc_txlog_index_state")).scalar_one()
            top = conn.execute(sa.text("SELECT max(id) FROM fsc_txlog_records")).scalar_one()
        assert through == top
    finally:
        log.close()


@pytest.mark.integration
def test_a_busy_writer_indexes_in_chunks(
    sqlite_url: str, no_idle_indexing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never idle, the log still indexes once a chunk waits: what waits stays below a chunk or two."""
    monkeypatch.setattr(writer_mod, "INDEX_CHUNK", 8)
    log = TransactionLog(sqlite_url)

    async def write() -> None:
        for i in range(40):
            await log.append_durable([rec()], alone=i % 3 != 0)

    try:
        asyncio.run(write())
        deadline = time.monotonic() + 10
        while _indexed_flags(log).count(0) >= 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        flags = _indexed_flags(log)
        assert flags.count(1) >= 32 and flags.count(0) < 8
        assert flags == sorted(flags, reverse=True)  # indexed oldest first: a prefix
    finally:
        log.close()
    # Closing the log indexes what was left.
    reopened = TransactionLog(sqlite_url)
    try:
        assert set(_indexed_flags(reopened)) == {1}
    finally:
        reopened.close()


_PARTY_COLUMNS = (
    "outway_peer_id",
    "service_peer_id",
    "source_delegator_peer_id",
    "destination_delegator_peer_id",
)


def _captured_selects(log: TransactionLog) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    @sa.event.listens_for(log._read_engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    return statements


@pytest.mark.integration
def test_a_page_walks_each_party_index_in_id_order(sqlite_url: str, no_idle_indexing: None) -> None:
    """SQLite: one query per party column, each through its partial index, already in ID order (no
    sort of all the caller's rows), with the cursor as an index range; the rest by row-ID range."""
    log = TransactionLog(sqlite_url)
    statements = _captured_selects(log)
    try:
        log.append_sync(_mixed_records(40))
        log.index_pending()
        log.append_sync(_mixed_records(5))
        first = log.query_sync(C, limit=3)
        statements.clear()
        log.query_sync(C, limit=3, cursor=first.next_cursor, sort_order="SORT_ORDER_DESCENDING")
        assert len(statements) == len(_PARTY_COLUMNS) + 1
        raw = log._read_engine.raw_connection()
        try:
            plans = [
                " | ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, params))
                for statement, params in statements
            ]
        finally:
            raw.close()
        for col, plan in zip(_PARTY_COLUMNS, plans, strict=False):
            assert f"USING INDEX ix_fsc_txlog_records_{col} ({col}=? AND rowid<?)" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        assert "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plans[-1], plans[-1]
    finally:
        log.close()


@pytest.mark.integration
def test_postgresql_party_indexes_give_id_order(pg_url: str) -> None:
    """PostgreSQL (migration fsc_txlog_0004): the party indexes are (column, id), so a page is an
    index scan in ID order without sorting the caller's rows."""
    log = TransactionLog(pg_url)
    statements = _captured_selects(log)
    try:
        log.append_sync(_mixed_records(40))
        log.query_sync(C, limit=3, sort_order="SORT_ORDER_DESCENDING")
        assert len(statements) == len(_PARTY_COLUMNS)  # nothing waits for an index on PostgreSQL
        with log.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask what the index can do
            for col, (statement, params) in zip(_PARTY_COLUMNS, statements, strict=True):
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
                assert f"ix_fsc_txlog_records_{col}" in plan, plan
                assert "Sort" not in plan, plan
    finally:
        log.close()


@pytest.mark.integration
def test_a_reader_does_not_hold_the_write_lock(sqlite_url: str, no_idle_indexing: None) -> None:
    log = TransactionLog(sqlite_url)
    done = threading.Event()
    try:
        log.append_sync([rec()])
        with log._read_engine.connect() as conn:  # a GET /logs read transaction in progress
            assert conn.execute(sa.text("SELECT count(*) FROM fsc_txlog_records")).scalar_one() == 1

            def write() -> None:
                log.append_sync([rec()])
                done.set()

            t = threading.Thread(target=write, daemon=True)
            t.start()
            assert done.wait(10), "a commit waited for a reader"
        assert log.count() == 2
    finally:
        log.close()


@pytest.mark.integration
def test_an_indexing_failure_is_retried_and_loses_nothing(
    sqlite_url: str, no_idle_indexing: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = TransactionLog(sqlite_url)
    try:
        written = _mixed_records(12)
        log.append_sync(written)
        with log.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER no_index BEFORE UPDATE ON fsc_txlog_records "
                "BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        with pytest.raises(writer_mod.TransactionLogWriteError):
            log.index_pending()
        log._writer._index()  # what the thread does: logged, not raised
        assert log._writer.index_errors == 2
        assert "indexing failed" in caplog.text
        assert set(_indexed_flags(log)) == {0}
        _assert_queries_match(log, written)
        with log.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER no_index")
        log.index_pending()
        assert set(_indexed_flags(log)) == {1}
        _assert_queries_match(log, written)
    finally:
        log.close()


@pytest.mark.integration
def test_migration_0003_up_and_down_keeps_records(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "fsc_txlog", MIGRATIONS_DIR, revision="fsc_txlog_0002")
    engine.dispose()
    old = _mixed_records(10)
    _insert_plain(db_url, old)

    log = TransactionLog(db_url)  # upgrades to head
    try:
        assert set(_indexed_flags(log)) == {1}  # existing records count as indexed
        with log.engine.connect() as conn:
            through = conn.execute(sa.text("SELECT indexed_through FROM fsc_txlog_index_state")).scalar_one()
            top = conn.execute(sa.text("SELECT max(id) FROM fsc_txlog_records")).scalar_one()
        assert through == top
        new = _mixed_records(6)
        log.append_sync(new)
        _assert_queries_match(log, old + new)
    finally:
        log.close()

    engine = make_engine(db_url)
    try:
        migrate_down(engine, "fsc_txlog_0002")
        insp = sa.inspect(engine)
        assert "indexed" not in {c["name"] for c in insp.get_columns("fsc_txlog_records")}
        assert "fsc_txlog_index_state" not in insp.get_table_names()
        with engine.connect() as conn:
            ids = list(
                conn.execute(sa.text("SELECT transaction_id FROM fsc_txlog_records ORDER BY id")).scalars()
            )
        assert ids == [r.transaction_id for r in old + new]  # records waiting for the index survived too
        migrate(engine, "fsc_txlog", MIGRATIONS_DIR)  # and up again
    finally:
        engine.dispose()
    log = TransactionLog(db_url)
    try:
        _assert_queries_match(log, old + new)
    finally:
        log.close()


def _insert_plain(url: str, records: list[LogRecord]) -> None:
    """Insert records as a version before fsc_txlog_0003 did (the same nine columns, no ``indexed``)."""
    marks = ", ".join("?" for _ in _COLUMNS)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            sql = f"INSERT INTO fsc_txlog_records ({', '.join(_COLUMNS)}) VALUES ({marks})"
            if engine.dialect.name != "sqlite":
                sql = sql.replace("?", "%s")
            conn.exec_driver_sql(sql, [_row_tuple(r) for r in records])
    finally:
        engine.dispose()


def migrate_down(engine: sa.Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["version_table"] = "alembic_version_fsc_txlog"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
