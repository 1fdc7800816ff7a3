"""TransactionLog store: durable group commit, fsc-logging query semantics, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from nds.fsc.txlog import (
    Direction,
    LogRecord,
    QueryError,
    TransactionLog,
    TransactionLogWriteError,
    is_valid_transaction_id,
    new_transaction_id,
)

A, B, C, D = "00000001000000000001", "00000001000000000002", "00000001000000000003", "00000001000000000004"


def rec(
    outway: str = A,
    service_peer: str = B,
    *,
    svc: str = "basisregister",
    gth: str = "$1$3$x",
    sdel: str | None = None,
    ddel: str | None = None,
    t_us: int | None = None,
    direction: Direction = Direction.OUTGOING,
) -> LogRecord:
    kw = {"created_at_us": t_us} if t_us is not None else {}
    return LogRecord(
        new_transaction_id(),
        direction,
        gth,
        outway,
        service_peer,
        svc,
        source_delegator_peer_id=sdel,
        destination_delegator_peer_id=ddel,
        **kw,
    )


@pytest.mark.unit
def test_uuidv7_format() -> None:
    ids = {new_transaction_id() for _ in range(1000)}
    assert len(ids) == 1000
    for i in list(ids)[:50]:
        u = uuid.UUID(i)
        assert u.version == 7 and u.variant == uuid.RFC_4122 and is_valid_transaction_id(i)
    assert not is_valid_transaction_id(str(uuid.uuid4()))
    assert not is_valid_transaction_id("not-a-uuid")
    assert not is_valid_transaction_id(new_transaction_id().upper())
    assert is_valid_transaction_id(str(uuid.uuid4()), "uuid")


@pytest.mark.unit
def test_record_from_claims_plain_and_delegated() -> None:
    claims = {"gth": "$1$3$g", "sub": A, "iss": B, "svc": "s", "gid": "g"}
    r = LogRecord.from_token_claims("t", Direction.INCOMING, claims)
    assert (r.outway_peer_id, r.source_delegator_peer_id, r.destination_delegator_peer_id) == (A, None, None)
    api = r.to_api()
    assert api["source"] == {"type": "SOURCE_TYPE_SOURCE", "outway_peer_id": A}
    assert api["destination"] == {"type": "DESTINATION_TYPE_DESTINATION", "service_peer_id": B}
    # Delegated connection: whichever of sub/act.sub is not the Outway peer is the delegator.
    claims_d = {**claims, "sub": C, "act": {"sub": A}, "pdi": D}
    r = LogRecord.from_token_claims("t", Direction.INCOMING, claims_d, outway_peer_id=A)
    assert (r.outway_peer_id, r.source_delegator_peer_id, r.destination_delegator_peer_id) == (A, C, D)
    claims_d2 = {**claims, "sub": A, "act": {"sub": C}}
    r = LogRecord.from_token_claims("t", Direction.INCOMING, claims_d2, outway_peer_id=A)
    assert (r.outway_peer_id, r.source_delegator_peer_id) == (A, C)
    api = r.to_api()
    assert api["source"] == {
        "type": "SOURCE_TYPE_DELEGATED_SOURCE",
        "outway_peer_id": A,
        "delegator_peer_id": C,
    }


@pytest.mark.integration
def test_group_commit_is_durable_and_batches(db_url: str) -> None:
    log = TransactionLog(db_url)

    async def main() -> None:
        recs = [rec() for _ in range(300)]
        await asyncio.gather(*(log.append_durable([r]) for r in recs))
        await log.aclose()

    asyncio.run(main())
    assert log.records_written == 300
    assert log.batches_written < 300  # concurrent requests share commits
    # A fresh engine (another "process") sees every acknowledged record.
    again = TransactionLog(db_url)
    assert again.count() == 300
    again.close()


@pytest.mark.integration
def test_query_only_records_involving_caller(db_url: str) -> None:
    log = TransactionLog(db_url)
    log.append_sync([rec(A, B), rec(C, B), rec(A, B, sdel=C), rec(A, D, ddel=C), rec(B, D)])
    assert len(log.query_sync(A).records) == 3
    assert len(log.query_sync(C).records) == 3  # once as outway, twice as a delegator
    assert len(log.query_sync(D).records) == 2
    assert log.query_sync("99999999999999999999").records == []
    log.close()


@pytest.mark.integration
def test_query_filters_pagination_and_limits(db_url: str) -> None:
    log = TransactionLog(db_url)
    base = 1_800_000_000
    rows = [
        rec(svc=f"svc{i % 2}", gth=f"$1$3$g{i % 3}", t_us=(base + i) * 1_000_000 + 500) for i in range(60)
    ]
    log.append_sync(rows)
    page = log.query_sync(A)
    assert len(page.records) == 25 and page.next_cursor  # default limit 25
    seen = [r.transaction_id for r in page.records]
    while page.next_cursor:
        page = log.query_sync(A, cursor=page.next_cursor)
        seen += [r.transaction_id for r in page.records]
    assert seen == [r.transaction_id for r in rows]
    desc = log.query_sync(A, limit=1000, sort_order="SORT_ORDER_DESCENDING")
    assert [r.transaction_id for r in desc.records] == seen[::-1] and desc.next_cursor == ""
    assert len(log.query_sync(A, limit=1000, after=base + 9, before=base + 20).records) == 10  # 10..19
    assert {r.service_name for r in log.query_sync(A, limit=1000, service_name=["svc1"]).records} == {"svc1"}
    assert len(log.query_sync(A, limit=1000, grant_hash=["$1$3$g0", "$1$3$g1"]).records) == 40
    # transaction_ids ignores other filters and pagination but never the caller restriction.
    ids = [rows[0].transaction_id, rows[59].transaction_id]
    assert len(log.query_sync(A, transaction_ids=ids, service_name=["nope"], limit=1).records) == 2
    assert log.query_sync(C, transaction_ids=ids).records == []
    with pytest.raises(QueryError):
        log.query_sync(A, limit=1001)
    with pytest.raises(QueryError):
        log.query_sync(A, limit=0)
    with pytest.raises(QueryError):
        log.query_sync(A, cursor="!!garbage")
    log.close()


@pytest.mark.integration
def test_write_failure_fails_every_waiter_then_recovers(sqlite_url: str) -> None:
    log = TransactionLog(sqlite_url)
    with log.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER deny BEFORE INSERT ON fsc_txlog_records BEGIN SELECT RAISE(ABORT, 'down'); END"
        )

    async def attempt(n: int) -> list[BaseException | None]:
        res = await asyncio.gather(*(log.append_durable([rec()]) for _ in range(n)), return_exceptions=True)
        return list(res)

    async def main() -> None:
        results = await attempt(20)
        assert all(isinstance(r, TransactionLogWriteError) for r in results)
        with log.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER deny")
        assert await attempt(5) == [None] * 5
        await log.aclose()

    asyncio.run(main())
    check = TransactionLog(sqlite_url)
    with check.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from fsc_txlog_records")).scalar_one() == 5
    check.close()


@pytest.mark.unit
def test_transaction_ids_differ_across_forked_workers() -> None:
    import os

    new_transaction_id()  # the parent's generator is in use before the fork
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, ",".join(new_transaction_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    child = set(os.read(r, 1 << 16).decode().split(","))
    os.close(r)
    mine = {new_transaction_id() for _ in range(100)}
    assert len(child) == 100 and not child & mine
    # the random parts differ too, not only the timestamps
    assert not {c[15:] for c in child} & {m[15:] for m in mine}
