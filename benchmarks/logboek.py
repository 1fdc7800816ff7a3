"""Logboek benchmark: acknowledged writes/s and citizen-view query latency.

Writes go through the real write interface (``Logboek.submit``: validation, HMAC pseudonym,
one record per subject, hash chaining, group commit, acknowledgement after commit with SQLite
``synchronous=FULL`` in WAL mode, i.e. fsynced). Baseline, same run, same machine: a plain indexed
``executemany`` insert of equally sized rows in batches of the same size, also committed with
``synchronous=FULL`` — what a bare table costs without any of the guarantees.

Queries: the citizen view's query (all records of one data subject, newest page) at 1M and 10M
records, p50/p95 over random subjects, against a plain indexed select on the baseline table.

Usage: python benchmarks/logboek.py [--writes N] [--concurrency K] [--processes P]
                                   [--sizes 1000000,10000000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nds.logboek.model import DataSubject, Processing, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import Query, find
from nds.logboek.store import Logboek, migrate_logboek

ACT = "https://gemeente.digilab.example/register/verwerkingsactiviteiten/verhuizing/versies/1"
SUBJECTS = 100_000


def _writer_process(
    url: str, keyfile: str, first: int, n: int, concurrency: int, loop: str, start: Any, results: Any
) -> None:
    """One application process: its own ``Logboek`` (writer thread) and ``concurrency`` asyncio
    tasks (as request handlers in an aiohttp/uvicorn worker would be), each ``await
    Logboek.awrite_rows(...)`` in a loop until this process's ``n`` records are acknowledged."""
    import asyncio

    lb = Logboek(url, Keyring.load(Path(keyfile)))
    counter = iter(range(first, first + n))

    async def worker() -> None:
        for i in counter:
            await lb.awrite_rows(
                Processing("opvragen", ACT, (DataSubject(str(900_000_000 + i % SUBJECTS)),), new_trace_id())
            )

    async def run() -> None:
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    results.put(("ready", 0, 0.0, 0.0))
    start.wait()
    cpu0 = time.process_time()
    if loop == "uvloop":  # what uvicorn (the apps' server) runs on when uvloop is installed
        import uvloop

        uvloop.run(run())
    else:
        asyncio.run(run())
    done = time.monotonic()
    results.put(("done", lb.batches, done, time.process_time() - cpu0))
    lb.close()


def bench_writes(
    d: Path,
    n: int,
    concurrency: int,
    processes: int = 1,
    loop: str = "uvloop",
    db: str = "w",
) -> dict[str, float]:
    """``processes`` application processes (each with ``concurrency / processes`` writers) append
    ``n`` records in total to one logboek (one chain; the head row lock orders the processes):
    a fresh one, or the filled database ``<db>.db`` with its key file ``k<db>.json``."""
    import multiprocessing as mp

    url = f"sqlite:///{d / f'{db}.db'}"
    keyfile = d / f"k{db}.json"
    migrate_logboek(url)
    if not keyfile.exists():
        Keyring.create(keyfile)
    ctx = mp.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    per = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    firsts = [sum(per[:i]) for i in range(processes)]
    conc = max(concurrency // processes, 1)
    procs = [
        ctx.Process(target=_writer_process, args=(url, str(keyfile), f, k, conc, loop, start, results))
        for f, k in zip(firsts, per, strict=True)
    ]
    for pr in procs:
        pr.start()
    try:
        for _ in procs:
            results.get(timeout=120)  # ready
        t0 = time.monotonic()
        start.set()
        ends, batches, cpu = [], 0, 0.0
        for _ in procs:
            _, b, end, c = results.get(timeout=3600)
            ends.append(end)
            batches += b
            cpu += c
        for pr in procs:
            pr.join(timeout=60)
    finally:
        for pr in procs:
            if pr.is_alive():
                pr.kill()
    el = max(ends) - t0
    size = sum(f.stat().st_size for f in d.glob(f"{db}.db*"))
    return {"wps": n / el, "batches": batches, "size": size, "cpu_us": cpu / n * 1e6}


def bench_baseline_writes(d: Path, n: int, batch: int) -> float:
    con = sqlite3.connect(d / "b.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(
        "CREATE TABLE r (seq INTEGER PRIMARY KEY, trace_id TEXT, span_id TEXT, name TEXT, start_time INT, "
        "end_time INT, status_code INT, activity_uri TEXT, subject TEXT, key_id TEXT, subject_type TEXT, "
        "resource TEXT, prev_hash TEXT, record_hash TEXT)"
    )
    con.execute("CREATE INDEX ix_s ON r(subject, seq)")
    con.execute("CREATE INDEX ix_t ON r(trace_id)")
    con.execute("CREATE INDEX ix_a ON r(activity_uri, seq)")
    t0 = time.perf_counter()
    seq = 0
    while seq < n:
        rows = []
        for _ in range(min(batch, n - seq)):
            seq += 1
            rows.append(
                (
                    seq,
                    os.urandom(16).hex(),
                    os.urandom(8).hex(),
                    "opvragen",
                    1,
                    2,
                    0,
                    ACT,
                    os.urandom(32).hex(),
                    "k1",
                    "BSN",
                    "{}",
                    "0" * 64,
                    "1" * 64,
                )
            )
        con.execute("BEGIN")
        con.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.execute("COMMIT")
    el = time.perf_counter() - t0
    con.close()
    return n / el


def bench_queries(d: Path, size: int, samples: int = 200) -> dict[str, float]:
    """Fill a logboek to ``size`` records in the stored layout (the writer's own encoding, chaining
    and index keys, inserted in 50k-record transactions instead of through the group-commit queue),
    then time the citizen view's query: ``query.find`` by data subject, first page of 100."""
    from nds.db import make_engine
    from nds.logboek import tables as t
    from nds.logboek.chain import GENESIS_BYTES, link
    from nds.logboek.store import prepare

    url = f"sqlite:///{d / f'q{size}.db'}"
    migrate_logboek(url)
    ring = Keyring.create(d / f"kq{size}.json")  # bench_writes(db=f"q{size}") finds it
    engine = make_engine(url, immediate=True)
    t0 = time.perf_counter()
    h, seq, chunk = GENESIS_BYTES, 0, 50_000
    subjects_per = max(size // 20, 1)  # ~20 records per person
    while seq < size:
        rows, keys = [], []
        for _ in range(min(chunk, size - seq)):
            seq += 1
            ((_, body, ks, kt, ka),) = prepare(
                Processing(
                    "opvragen",
                    ACT,
                    (DataSubject(str(900_000_000 + seq % subjects_per)),),
                    new_trace_id(),
                    start_time=seq,
                    end_time=seq,
                ),
                ring,
            )
            prev, h = h, link(h, seq, body)
            rows.append((seq, body, prev, h))
            keys += [(kt, seq), (ka, seq), (ks, seq)]
        keys.sort()  # key order: each index page is written once per chunk
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO logboek_log VALUES (?, ?, ?, ?)", rows)
            conn.exec_driver_sql("INSERT OR IGNORE INTO logboek_keys (k, seq) VALUES (?, ?)", keys)
            conn.execute(t.head.update().values(seq=seq, hash=h.hex()))
    gen = time.perf_counter() - t0
    lat = []
    for _ in range(samples):
        who = DataSubject(str(900_000_000 + random.randrange(subjects_per)))
        q0 = time.perf_counter()
        found, _ = find(engine, ring, Query(subject=who, limit=100))
        lat.append((time.perf_counter() - q0) * 1000)
        if not found:
            raise SystemExit(f"benchmark error: no records found for a subject at size {size}")
    # baseline: the same index read as one plain SQL select (no pseudonyms, decoding or filtering)
    from nds.logboek.keys import subject_key

    keys_ = [
        subject_key(ring.pseudonym(DataSubject(str(900_000_000 + random.randrange(subjects_per))))[1])
        for _ in range(samples)
    ]
    con = sqlite3.connect(d / f"q{size}.db")
    base = []
    for k in keys_:
        q0 = time.perf_counter()
        con.execute(
            "SELECT l.* FROM logboek_keys k JOIN logboek_log l ON l.seq = k.seq "
            "WHERE k.k = ? ORDER BY k.seq LIMIT 101",
            (k,),
        ).fetchall()
        base.append((time.perf_counter() - q0) * 1000)
    con.close()
    engine.dispose()
    size_mb = sum(f.stat().st_size for f in d.glob(f"q{size}.db*")) / 1e6
    return {
        "gen_s": gen,
        "p50": statistics.median(lat),
        "p95": statistics.quantiles(lat, n=20)[18],
        "base_p95": statistics.quantiles(base, n=20)[18],
        "disk_mb": size_mb,
    }


def _positive(text: str) -> int:
    try:
        v = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return v


def _sizes(text: str) -> list[int]:
    """Comma-separated record counts for the query measurement; empty (or "none") skips it."""
    if text.strip().lower() in ("", "none"):
        return []
    return [_positive(x.strip()) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writes", type=_positive, default=200_000, help="records to write (>= 1)")
    ap.add_argument("--concurrency", type=_positive, default=8192, help="concurrent writers in total (>= 1)")
    ap.add_argument(
        "--processes",
        type=_positive,
        default=os.cpu_count() or 1,
        help="application processes writing (>= 1; default one per CPU, as an application server runs "
        "its workers: one Python process is bound by its GIL)",
    )
    ap.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the writers' event loop (uvicorn, the apps' server, uses uvloop when installed)",
    )
    ap.add_argument(
        "--sizes",
        type=_sizes,
        default=os.environ.get("NDS_BENCH_LOGBOEK_SIZES", "1000000,10000000"),
        help="record counts for the query measurement, comma-separated (>= 1 each); empty skips it",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nds-bench-lb-") as tmp:
        d = Path(tmp)
        w = bench_writes(d, args.writes, args.concurrency, args.processes, args.loop)
        wps, batches = w["wps"], int(w["batches"])
        base = bench_baseline_writes(d, args.writes, max(args.writes // max(batches, 1), 1))
        print(
            f"logboek writes: {wps:,.0f} acknowledged records/s ({args.processes} process(es), {args.loop}, "
            f"concurrency {args.concurrency} in total, one data subject per processing, "
            f"~{w['size'] / args.writes:.0f} B/record on disk, {batches} group commits, "
            f"{args.writes / max(batches, 1):.0f} records/commit, {w['cpu_us']:.1f} µs CPU/record)"
        )
        print(f"baseline plain indexed insert, same batch size: {base:,.0f} rows/s")
        print(
            f"ratio logboek/baseline writes: {wps / base:.2f}   "
            f"target: >= 50,000/s ({'met' if wps >= 50_000 else 'NOT met'})"
        )
        for s in args.sizes:
            r = bench_queries(d, s)
            full = bench_writes(d, args.writes, args.concurrency, args.processes, args.loop, db=f"q{s}")
            print(
                f"citizen-view query at {s:,} records: p50 {r['p50']:.2f} ms, p95 {r['p95']:.2f} ms "
                f"(baseline plain select p95 {r['base_p95']:.2f} ms, ratio {r['p95'] / r['base_p95']:.2f}); "
                f"generated in {r['gen_s']:.0f} s, {r['disk_mb']:.0f} MB on disk; "
                f"target p95 <= 50 ms ({'met' if r['p95'] <= 50 else 'NOT met'})"
            )
            print(
                f"logboek writes into that logboek (already {s:,} records): {full['wps']:,.0f} "
                f"acknowledged records/s, {args.writes / max(full['batches'], 1):.0f} records/commit, "
                f"{full['cpu_us']:.1f} µs CPU/record"
            )


if __name__ == "__main__":
    main()
