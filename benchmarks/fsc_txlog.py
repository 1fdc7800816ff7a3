"""FSC transaction log benchmark: CPU per acknowledged record of ``TransactionLog.append_durable``.

The Inway and the Outway each write one record per request and wait until it is committed and
fsynced before forwarding. At the data path's load (a few thousand requests/s per proxy process,
a handful of concurrent requests) a group commit holds only 2–8 records, so the fixed cost per
commit dominates. This benchmark drives ``append_durable`` from an asyncio event loop (uvloop when
installed, as the proxies use) with ``C`` concurrent "requests", each awaiting one record at a time
in a loop, and reports records/s, commits/s, records per commit and **process CPU µs per record**
(``time.process_time``: user + system time of every thread, so the writer thread, the event loop
and the kernel's fsync work all count).

Baselines, measured in the same run right after each row, with the same batch size:

- ``bare``: a raw ``sqlite3`` connection, WAL, ``synchronous=FULL``, a table with the same columns
  and no secondary index, ``executemany`` + ``COMMIT`` in a plain loop (no threads, no asyncio);
- ``file``: ``os.write`` of the same number of ~200-byte records to an append-only file +
  ``os.fdatasync`` — the floor for "durable" on this disk.

The ratio printed is txlog CPU per record / bare CPU per record.

Usage: python benchmarks/fsc_txlog.py [--seconds 3] [--concurrency 1,4,16,64] [--url URL]
       [--processes P]   (P writer processes sharing one SQLite file, C requests each)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nds.fsc.txlog import Direction, LogRecord, TransactionLog, new_transaction_id

A, B, D = "00000001000000000001", "00000001000000000002", "00000001000000000004"
GRANT = "$1$4$" + "q" * 43  # the size of a real grant hash


def _record() -> LogRecord:
    return LogRecord(new_transaction_id(), Direction.OUTGOING, GRANT, A, B, "basisregister", None, D)


@dataclass
class Result:
    records: int
    commits: int
    wall: float
    cpu: float

    @property
    def per_commit(self) -> float:
        return self.records / self.commits if self.commits else 0.0

    @property
    def cpu_us_per_record(self) -> float:
        return self.cpu / self.records * 1e6 if self.records else float("nan")


def run_txlog(url: str, concurrency: int, seconds: float, *, create: bool = True) -> Result:
    """``concurrency`` tasks each await ``append_durable([record])`` in a loop for ``seconds``."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    log = TransactionLog(url, create=create)

    async def main() -> Result:
        stop = False

        async def worker() -> None:
            while not stop:
                await log.append_durable([_record()])

        # warm up: the writer thread, the connection, the prepared statement
        await asyncio.gather(*(log.append_durable([_record()]) for _ in range(concurrency)))
        r0, b0 = log.records_written, log.batches_written
        c0, w0 = time.process_time(), time.perf_counter()
        tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        await asyncio.sleep(seconds)
        stop = True
        await asyncio.gather(*tasks)
        c1, w1 = time.process_time(), time.perf_counter()
        res = Result(log.records_written - r0, log.batches_written - b0, w1 - w0, c1 - c0)
        await log.aclose()
        return res

    return runner(main())


def _txlog_proc(url: str, concurrency: int, seconds: float, q: multiprocessing.Queue[tuple]) -> None:
    r = run_txlog(url, concurrency, seconds, create=False)
    q.put((r.records, r.commits, r.wall, r.cpu))


def run_txlog_processes(url: str, processes: int, concurrency: int, seconds: float) -> Result:
    """``processes`` writer processes on one database (as the Inway and Outway workers of a peer)."""
    TransactionLog(url).close()  # create the tables once, as the proxies' parent process does
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue[tuple] = ctx.Queue()
    procs = [ctx.Process(target=_txlog_proc, args=(url, concurrency, seconds, q)) for _ in range(processes)]
    for p in procs:
        p.start()
    parts = [q.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return Result(
        sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts), sum(p[3] for p in parts)
    )


def run_bare(path: Path, batch: int, seconds: float) -> Result:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(
        "CREATE TABLE r (id INTEGER PRIMARY KEY, transaction_id TEXT, direction TEXT, grant_hash TEXT, "
        "outway_peer_id TEXT, source_delegator_peer_id TEXT, service_peer_id TEXT, "
        "destination_delegator_peer_id TEXT, service_name TEXT, created_at_us INT)"
    )
    sql = "INSERT INTO r VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

    def rows() -> list[tuple[object, ...]]:
        now = time.time_ns() // 1000
        return [
            (new_transaction_id(), "DIRECTION_OUTGOING", GRANT, A, None, B, D, "basisregister", now)
            for _ in range(batch)
        ]

    n = commits = 0
    c0, w0 = time.process_time(), time.perf_counter()
    end = w0 + seconds
    while time.perf_counter() < end:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows())
        con.execute("COMMIT")
        n += batch
        commits += 1
    res = Result(n, commits, time.perf_counter() - w0, time.process_time() - c0)
    con.close()
    return res


def run_file(path: Path, batch: int, seconds: float) -> Result:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    n = commits = 0
    c0, w0 = time.process_time(), time.perf_counter()
    end = w0 + seconds
    while time.perf_counter() < end:
        data = b"".join(
            f"{new_transaction_id()}\tDIRECTION_OUTGOING\t{GRANT}\t{A}\t\t{B}\t{D}\tbasisregister\t"
            f"{time.time_ns()}\n".encode()
            for _ in range(batch)
        )
        os.write(fd, data)
        os.fdatasync(fd)
        n += batch
        commits += 1
    res = Result(n, commits, time.perf_counter() - w0, time.process_time() - c0)
    os.close(fd)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--url", default="", help="a database URL instead of a fresh SQLite file per row")
    ap.add_argument("--dir", default="", help="where the SQLite files go (default: a temp dir under /work)")
    args = ap.parse_args()
    base = Path(args.dir) if args.dir else Path(__file__).resolve().parents[1] / ".nds" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.processes} writer process(es)")
    hdr = (
        f"{'C':>4} {'rec/s':>8} {'commit/s':>8} {'rec/cmt':>7} {'µs CPU/rec':>10} {'µs CPU/cmt':>10}"
        f" | {'bare µs/rec':>11} {'file µs/rec':>11} | {'txlog/bare':>10}"
    )
    print(hdr)
    print("-" * len(hdr))
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        d = Path(tmp)
        for i, c in enumerate(int(x) for x in args.concurrency.split(",")):
            url = args.url or f"sqlite:///{d / f'txlog{i}.db'}"
            if args.processes > 1:
                r = run_txlog_processes(url, args.processes, c, args.seconds)
            else:
                r = run_txlog(url, c, args.seconds)
            batch = max(1, round(r.per_commit))
            bare = run_bare(d / f"bare{i}.db", batch, args.seconds)
            raw = run_file(d / f"file{i}.log", batch, args.seconds)
            print(
                f"{c:>4} {r.records / r.wall:>8.0f} {r.commits / r.wall:>8.0f} {r.per_commit:>7.1f}"
                f" {r.cpu_us_per_record:>10.1f} {r.cpu / max(r.commits, 1) * 1e6:>10.1f}"
                f" | {bare.cpu_us_per_record:>11.1f} {raw.cpu_us_per_record:>11.1f}"
                f" | {r.cpu_us_per_record / bare.cpu_us_per_record:>10.2f}",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
