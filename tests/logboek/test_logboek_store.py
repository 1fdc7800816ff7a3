from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

import pytest
import sqlalchemy as sa
from logboek_tamper import count, stored
from sqlalchemy.engine import Engine

from nds.logboek import tables as t
from nds.logboek.chain import record_hash
from nds.logboek.model import (
    DataSubject,
    ForeignOperation,
    Processing,
    RecordError,
    TraceParent,
    new_trace_id,
)
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import Query, find
from nds.logboek.store import Logboek, LogboekWriteError, prepare

ACT = "https://gemeente.digilab.example/register/verwerkingsactiviteiten/verhuizing/versies/1"
BSNS = ("999993653", "999990019", "999991589")


@pytest.mark.unit
@pytest.mark.parametrize("size", [32, 64, 65, 100])
def test_pseudonym_is_hmac_sha256_of_type_and_id(size: int) -> None:
    """The keyring computes HMAC-SHA256 from pre-keyed SHA-256 states (RFC 2104); it must give what
    the ``hmac`` module gives, also for keys longer than a block, and the subject key is the start
    of that digest."""
    import hashlib
    import hmac

    from nds.logboek.keys import subject_key

    key = bytes((7 * i + size) % 256 for i in range(size))
    ring = Keyring(active="k1", keys={"k1": key, "k0": bytes(32)})
    for sid in ("999993653", "1", "x" * 200, "é"):
        subject = DataSubject(sid, "BSN")
        want = hmac.new(key, f"BSN:{sid}".encode(), hashlib.sha256).hexdigest()
        assert ring.pseudonym(subject) == ("k1", want)
        other = hmac.new(bytes(32), f"BSN:{sid}".encode(), "sha256").hexdigest()
        assert ring.pseudonym(subject, "k0") == ("k0", other)
        ((fields, _, ks, _, _),) = prepare(Processing("x", ACT, (subject,), new_trace_id()), ring)
        assert fields[8] == want and ks == subject_key(want)


def test_one_record_per_subject_sharing_the_trace(logboek: Logboek, engine: Engine, keyring: Keyring) -> None:
    trace = new_trace_id()
    recs = logboek.write(Processing("adres wijzigen", ACT, tuple(DataSubject(b) for b in BSNS), trace))
    assert len(recs) == 3
    assert {r.trace_id for r in recs} == {trace}
    assert len({r.span_id for r in recs}) == 3
    assert [r.seq for r in recs] == [1, 2, 3]
    with engine.connect() as conn:
        raw = conn.execute(sa.select(t.log).order_by(t.log.c.seq)).all()
        rows = stored(conn)
    assert len(raw) == 3 and rows == recs
    # no BSN anywhere in the stored rows or the index: only keyed pseudonyms with their key id
    flat = b" ".join(bytes(v) if isinstance(v, bytes) else str(v).encode() for r in raw for v in r)
    assert not any(b.encode() in flat for b in BSNS)
    assert {r.subject_key_id for r in rows} == {keyring.active}
    # each subject finds exactly its own record
    for bsn in BSNS:
        found, nxt = find(engine, keyring, Query(subject=DataSubject(bsn)))
        assert len(found) == 1 and nxt is None
        assert found[0].subject_pseudonym == keyring.pseudonym(DataSubject(bsn))[1]


def test_incoming_traceparent_continues_trace_and_sets_foreign_operation(
    logboek: Logboek, engine: Engine, keyring: Keyring
) -> None:
    # flags 00 (not sampled) is logged all the same: LDV forbids sampling
    tp = TraceParent.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
    assert tp is not None and tp.flags == "00"
    p = Processing(
        "persoon opvragen",
        ACT,
        (DataSubject(BSNS[0]),),
        tp.trace_id,
        foreign_operation=ForeignOperation(tp.trace_id, tp.parent_id, "https://gemeente.example"),
    )
    (rec,) = logboek.write(p)
    assert rec.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (rec.foreign_trace_id, rec.foreign_span_id) == (tp.trace_id, tp.parent_id)
    found, _ = find(engine, keyring, Query(trace_id=tp.trace_id))
    assert [f.span_id for f in found] == [rec.span_id]


def test_traceparent_parsing_rejects_invalid() -> None:
    assert TraceParent.parse("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    assert TraceParent.parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") is None
    assert TraceParent.parse("garbage") is None


def test_invalid_processing_is_refused_and_stores_nothing(logboek: Logboek, engine: Engine) -> None:
    with pytest.raises(RecordError):
        logboek.write(Processing("x", "not a uri", (DataSubject("1"),), new_trace_id()))
    with pytest.raises(RecordError):
        logboek.write(Processing("x", ACT, (DataSubject("1"),), "abc"))
    with engine.connect() as conn:
        assert count(conn) == 0


def test_concurrent_writers_form_one_contiguous_chain(logboek: Logboek, engine: Engine) -> None:
    def work() -> None:
        for _ in range(25):
            logboek.write(
                Processing("x", ACT, (DataSubject("999993653"), DataSubject("999990019")), new_trace_id())
            )

    threads = [threading.Thread(target=work) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with engine.connect() as conn:
        rows = stored(conn)
    assert [r.seq for r in rows] == list(range(1, 301))
    prev = "0" * 64
    for r in rows:
        assert r.prev_hash == prev and record_hash(prev, r) == r.record_hash
        prev = r.record_hash
    assert logboek.batches < 300  # concurrent writes were grouped into fewer commits


def test_key_rotation_keeps_old_records_findable(
    logboek: Logboek, engine: Engine, keyring: Keyring, tmp_path
) -> None:
    logboek.write(Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id()))
    rotated = keyring.rotate(tmp_path / "keys" / "pseudonyms.json")
    assert rotated.active != keyring.active and keyring.active in rotated.keys
    lb2 = Logboek(engine, rotated)
    try:
        lb2.write(Processing("y", ACT, (DataSubject(BSNS[0]),), new_trace_id()))
    finally:
        lb2.close()
    found, _ = find(engine, rotated, Query(subject=DataSubject(BSNS[0])))
    assert [f.name for f in found] == ["x", "y"]
    assert found[0].subject_key_id != found[1].subject_key_id
    assert Keyring.load(tmp_path / "keys" / "pseudonyms.json").active == rotated.active


def test_pagination_by_cursor(logboek: Logboek, engine: Engine, keyring: Keyring) -> None:
    for i in range(7):
        logboek.write(Processing(f"n{i}", ACT, (DataSubject(BSNS[1]),), new_trace_id()))
    seen, cursor = [], 0
    while True:
        page, nxt = find(engine, keyring, Query(subject=DataSubject(BSNS[1]), after_seq=cursor, limit=3))
        seen += [p.name for p in page]
        if nxt is None:
            break
        cursor = nxt
    assert seen == [f"n{i}" for i in range(7)]
    with pytest.raises(ValueError):
        find(engine, keyring, Query())


def test_write_failure_fails_closed(engine: Engine, keyring: Keyring) -> None:
    lb = Logboek(engine, keyring)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE logboek_head"))
        with pytest.raises(LogboekWriteError):
            lb.write(Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id()))
    finally:
        lb.close()


def test_a_cancelled_waiter_does_not_stop_the_writer(logboek: Logboek, engine: Engine) -> None:
    """A ``submit`` future its caller cancelled before the writer reached it: that write is dropped
    and the writer thread keeps serving everyone else (it used to die resolving the cancelled
    future, after which every write hung)."""
    gone: Future[list] = Future()
    gone.cancel()
    # queued as ``submit`` queues it, but already cancelled: no race with the writer thread
    logboek._queue.put(
        (
            prepare(Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id()), logboek.keyring),
            gone,
        )
    )
    recs = logboek.write(Processing("y", ACT, (DataSubject(BSNS[1]),), new_trace_id()), timeout=15)
    assert [r.name for r in recs] == ["y"] and recs[0].seq == 1
    # and through the public interface: whether or not the cancel wins the race, nothing hangs
    fut = logboek.submit(Processing("z", ACT, (DataSubject(BSNS[2]),), new_trace_id()))
    cancelled = fut.cancel()
    last = logboek.write(Processing("w", ACT, (DataSubject(BSNS[1]),), new_trace_id()), timeout=15)
    with engine.connect() as conn:
        names = [r.name for r in stored(conn)]
    assert names == (["y", "w"] if cancelled else ["y", "z", "w"]) and last[0].name == "w"


def test_async_writers_on_two_loops_get_their_own_stored_rows(logboek: Logboek, engine: Engine) -> None:
    """Writers on two event loops share group commits; each ``awrite_rows`` returns exactly its own
    stored rows (sequence numbers and hashes as in the database), a task cancelled while it waits
    does not disturb the others, and the chain stays contiguous."""
    from nds.logboek.store import COLUMNS

    got: dict[str, list[tuple]] = {}

    async def one(name: str, subjects: int) -> None:
        got[name] = await logboek.awrite_rows(
            Processing(name, ACT, tuple(DataSubject(b) for b in BSNS[:subjects]), new_trace_id())
        )

    async def run(tag: str) -> None:
        victim = asyncio.ensure_future(one(f"{tag}-cancelled", 1))
        tasks = [asyncio.ensure_future(one(f"{tag}{i}", 1 + i % 3)) for i in range(60)]
        await asyncio.sleep(0)  # the victim's write is queued, then its caller gives up
        victim.cancel()
        await asyncio.gather(*tasks)
        with pytest.raises(asyncio.CancelledError):
            await victim

    other = threading.Thread(target=lambda: asyncio.run(run("b")))
    other.start()
    asyncio.run(run("a"))
    other.join(timeout=60)
    with engine.connect() as conn:
        rows = {r.seq: r for r in stored(conn)}
    assert sorted(rows) == list(range(1, len(rows) + 1))
    assert sum(len(v) for v in got.values()) == 2 * (20 + 40 + 60)
    for name, returned in got.items():
        assert name.endswith(tuple("0123456789"))  # the cancelled callers got nothing
        for row in returned:
            r = dict(zip(COLUMNS, row, strict=True))
            s = rows[r["seq"]]
            assert (s.name, s.span_id, s.prev_hash, s.record_hash) == (
                name,
                r["span_id"],
                r["prev_hash"],
                r["record_hash"],
            )
    prev = "0" * 64
    for seq in sorted(rows):
        assert rows[seq].prev_hash == prev and record_hash(prev, rows[seq]) == rows[seq].record_hash
        prev = rows[seq].record_hash


def test_async_write_failure_fails_closed(engine: Engine, keyring: Keyring) -> None:
    lb = Logboek(engine, keyring)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE logboek_head"))

        async def write() -> None:
            p = Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id())
            await asyncio.wait_for(lb.awrite(p), 15)

        with pytest.raises(LogboekWriteError):
            asyncio.run(write())
    finally:
        lb.close()


def test_write_after_close_fails_at_once(engine: Engine, keyring: Keyring) -> None:
    lb = Logboek(engine, keyring)
    lb.close()
    with pytest.raises(LogboekWriteError):
        lb.write(Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id()), timeout=5)

    async def later() -> None:
        await asyncio.wait_for(lb.awrite(Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id())), 5)

    with pytest.raises(LogboekWriteError):
        asyncio.run(later())


_WRITER = """
import sys
from pathlib import Path
from nds.logboek.model import DataSubject, Processing, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.store import Logboek
lb = Logboek(sys.argv[1], Keyring.load(Path(sys.argv[2])))
two = (DataSubject("999993653"), DataSubject("999990019"))
for i in range(40):
    lb.write(Processing("p", sys.argv[3], two, new_trace_id()))
lb.close()
"""


@pytest.mark.integration
def test_writer_processes_share_one_chain(db_url: str, engine: Engine, tmp_path) -> None:
    """Three OS processes, each with its own writer thread, append to one logboek: one contiguous,
    verifiable chain (the head row lock orders them) on SQLite and PostgreSQL."""
    import subprocess
    import sys

    Keyring.create(tmp_path / "ring.json")
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, db_url, str(tmp_path / "ring.json"), ACT])
        for _ in range(3)
    ]
    try:
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    with engine.connect() as conn:
        rows = stored(conn)
        head = conn.execute(sa.select(t.head.c.seq, t.head.c.hash)).one()
    assert [r.seq for r in rows] == list(range(1, 241))
    prev = "0" * 64
    for r in rows:
        assert r.prev_hash == prev and record_hash(prev, r) == r.record_hash
        prev = r.record_hash
    assert tuple(head) == (240, prev)


@pytest.mark.unit
def test_prepared_body_is_the_chain_encoding_and_decodes_back(keyring: Keyring) -> None:
    """The producer builds each record's stored body directly; it must be exactly the chain's
    encoding of the fields (what is hashed and what verify and the readers decode)."""
    from nds.logboek.chain import decode_body, encode_body
    from nds.logboek.keys import activity_key, subject_key, trace_key
    from nds.logboek.model import StatusCode

    cases = [
        Processing("x", ACT, (DataSubject(BSNS[0]),), new_trace_id()),
        Processing("geen betrokkene", "urn:nds:activiteit:1", (), new_trace_id(), end_time=None),
        Processing(
            "adres wijzigen — één",
            ACT,
            (DataSubject(BSNS[1]), DataSubject("12345678", type="KVK")),
            new_trace_id(),
            parent_span_id="00f067aa0ba902b7",
            start_time=5,
            end_time=7,
            status=StatusCode.ERROR,
            foreign_operation=ForeignOperation(new_trace_id(), "00f067aa0ba902b7", "urn:nds:fsc:peer:1"),
            external_read_api="https://x.example/ldv",
            fsc_transaction_id="0194a6f2-7d61-7b3a-9a64-5b8f0c1d2e3f",
            resource={"z": "ü\u001f", "a": "1"},
        ),
    ]
    for p in cases:
        for fields, body, ks, kt, ka in prepare(p, keyring):
            assert body == encode_body(fields)
            assert decode_body(body) == fields
            assert (kt, ka) == (trace_key(p.trace_id), activity_key(p.activity_uri))
            assert ks == (subject_key(fields[8]) if fields[8] is not None else None)


def test_index_levels_merge_and_lookups_read_both(logboek: Logboek, engine: Engine, keyring: Keyring) -> None:
    """New index entries go to the small recent level; every ``merge_every`` records the writer moves
    them into the main index. Lookups find records in either level, also across a page boundary."""
    logboek.merge_every = 6
    for i in range(4):
        logboek.write(Processing(f"a{i}", ACT, (DataSubject(BSNS[0]), DataSubject(BSNS[1])), new_trace_id()))
    with engine.connect() as conn:
        main = conn.execute(sa.select(sa.func.count()).select_from(t.keys)).scalar_one()
        recent = conn.execute(sa.select(sa.func.count()).select_from(t.keys_recent)).scalar_one()
    # 8 records x 3 keys (trace, activity, subject); two processings share a trace and activity
    assert main > 0 and recent > 0, (main, recent)
    assert main + recent == 8 * 3
    seen, cursor = [], 0
    while True:
        page, nxt = find(engine, keyring, Query(subject=DataSubject(BSNS[0]), after_seq=cursor, limit=3))
        seen += [r.name for r in page]
        if nxt is None:
            break
        cursor = nxt
    assert seen == ["a0", "a1", "a2", "a3"]
    logboek.merge_index()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.keys_recent)).scalar_one() == 0
    assert [r.name for r in find(engine, keyring, Query(activity_uri=ACT))[0]] == [
        f"a{i}" for i in range(4) for _ in range(2)
    ]


@pytest.mark.parametrize("n", [0, 1, 5, 63, 4097, 9000])
def test_bulk_insert_writes_every_row_once(engine: Engine, n: int) -> None:
    """The multi-row statements come in fixed chunk sizes (4096, 1024, … 1): every row of any batch
    size is inserted exactly once; a repeated index key is ignored, not an error."""
    from nds.logboek.store import KEYS_INSERT, bulk_insert

    rows = [(k * 7919 - 2**62, k) for k in range(n)]
    flat = [v for row in rows for v in row]  # the parameters as one flat list, two per row
    with engine.begin() as conn:
        bulk_insert(conn, KEYS_INSERT, flat, 2)
        bulk_insert(conn, KEYS_INSERT, flat[:6], 2)  # repeated keys
        got = conn.execute(
            sa.select(t.keys_recent.c.k, t.keys_recent.c.seq).order_by(t.keys_recent.c.seq)
        ).all()
    assert [tuple(r) for r in got] == rows
