"""FSC transaction log benchmark: CPU per acknowledged record of ``TransactionLog.append_durable``.

The Inway and the Outway each write one record per request and wait until it is committed and
fsynced before forwarding. At the data path's load (a few thousand requests/s per proxy process)
a group commit holds only a few records, so the fixed cost per commit dominates. This benchmark
drives ``append_durable`` from an asyncio event loop (uvloop, as the proxies use) and reports
records/s, commits/s, records per commit and **process CPU µs per record** (``time.process_time``:
user + system time of every thread, so the writer thread, the event loop and the kernel's fsync work
all count). Two load shapes:

- closed loop, ``--concurrency``: ``C`` concurrent "requests", each awaiting one record at a time;
- open loop, ``--rate``: ``R`` new requests per second arrive whether or not earlier ones are done
  (as at a proxy: records per commit = arrivals during one commit).

Baselines, measured in the same run right after each row, with the same records per commit:

- ``bare``: a raw ``sqlite3`` connection, WAL, ``synchronous=FULL``, a table with the same columns
  and no secondary index, ``executemany`` + ``COMMIT`` in a plain loop (no threads, no asyncio);
- ``file``: ``os.write`` of the same number of ~200-byte records to an append-only file +
  ``os.fdatasync`` — the floor for "durable" on this disk.

The driver's own CPU (making tasks, the open loop's 1 ms ticks) is measured with a stub log that
acknowledges at once; ``net`` = txlog − driver, the log's own cost per record. Each row is measured
``--repeat`` times (interleaved with its baselines); the median is printed. The ratio is net CPU per
record / bare CPU per record. The machine is shared: compare within a run.

Usage: python benchmarks/fsc_txlog.py [--seconds 2] [--repeat 3] [--concurrency 1,4,16,64]
       [--rate 1000,2000,4000] [--window-ms 0] [--processes P] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    latency_ms: float = 0.0  # open loop: median time from arrival to acknowledgement

    @property
    def per_commit(self) -> float:
        return self.records / self.commits if self.commits else 0.0

    @property
    def cpu_us_per_record(self) -> float:
        return self.cpu / self.records * 1e6 if self.records else float("nan")


def _runner() -> Any:
    try:
        import uvloop

        return uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run


class _NoLog:
    """The driver's own cost: ``append_durable`` acknowledged on the next loop iteration, no writing."""

    records_written = batches_written = 0

    async def append_durable(self, records: list[LogRecord]) -> None:
        fut = asyncio.get_running_loop().create_future()
        fut.get_loop().call_soon(fut.set_result, None)
        await fut
        self.records_written += len(records)
        self.batches_written += 1

    async def aclose(self) -> None:
        return None


def run_txlog(
    url: str, load: tuple[str, int], seconds: float, *, window_ms: float = 0.0, create: bool = True
) -> Result:
    """``load`` = ("c", C): C tasks each await ``append_durable([record])`` in a loop;
    ("r", R): R requests per second arrive (in 1 ms ticks), each awaits one record.
    ``url`` = "": the driver alone (:class:`_NoLog`)."""
    log: Any = TransactionLog(url, window_ms=window_ms, create=create) if url else _NoLog()
    kind, n = load

    async def main() -> Result:
        loop = asyncio.get_running_loop()
        stop = False
        latencies: list[float] = []

        # Records are made before the clock starts: the transaction ID and the record are the
        # proxy's work, the log's cost starts at append_durable.
        pool = [[_record()] for _ in range(int(seconds * (n if kind == "r" else 40_000)) + 1000)]
        it = iter(pool)

        async def worker() -> None:
            while not stop:
                await log.append_durable(next(it, None) or [_record()])

        async def request(t0: float) -> None:
            await log.append_durable(next(it, None) or [_record()])
            latencies.append(time.perf_counter() - t0)

        # warm up: the writer thread, the connection, the prepared statements
        await asyncio.gather(*(log.append_durable([_record()]) for _ in range(8)))
        r0, b0 = log.records_written, log.batches_written
        c0, w0 = time.process_time(), time.perf_counter()
        if kind == "c":
            tasks = [asyncio.ensure_future(worker()) for _ in range(n)]
            await asyncio.sleep(seconds)
            stop = True
        else:
            tasks, due, t = [], 0.0, w0
            while t < w0 + seconds:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                due += (now - t) * n
                t = now
                while due >= 1:
                    due -= 1
                    tasks.append(loop.create_task(request(now)))
        await asyncio.gather(*tasks)
        c1, w1 = time.process_time(), time.perf_counter()
        lat = statistics.median(latencies) * 1e3 if latencies else 0.0
        res = Result(log.records_written - r0, log.batches_written - b0, w1 - w0, c1 - c0, lat)
        await log.aclose()
        return res

    return _runner()(main())


def _txlog_proc(url: str, load: tuple[str, int], seconds: float, window_ms: float, q: Any) -> None:
    r = run_txlog(url, load, seconds, window_ms=window_ms, create=False)
    q.put((r.records, r.commits, r.wall, r.cpu, r.latency_ms))


def run_txlog_processes(
    url: str, processes: int, load: tuple[str, int], seconds: float, window_ms: float
) -> Result:
    """``processes`` writer processes on one database (as several workers of one peer)."""
    TransactionLog(url).close()  # create the tables once, as the proxies' parent process does
    ctx = multiprocessing.get_context("fork")
    q: Any = ctx.Queue()
    args = (url, load, seconds, window_ms, q)
    procs = [ctx.Process(target=_txlog_proc, args=args) for _ in range(processes)]
    for p in procs:
        p.start()
    try:
        parts = [q.get(timeout=seconds + 60) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return Result(
        sum(p[0] for p in parts),
        sum(p[1] for p in parts),
        max(p[2] for p in parts),
        sum(p[3] for p in parts),
        max(p[4] for p in parts),
    )


def _bare_rows(batch: int) -> list[tuple[object, ...]]:
    now = time.time_ns() // 1000
    return [
        (new_transaction_id(), "DIRECTION_OUTGOING", GRANT, A, None, B, D, "basisregister", now)
        for _ in range(batch)
    ]


def run_bare(path: Path, batch: int, seconds: float) -> Result:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(
        "CREATE TABLE IF NOT EXISTS r (id INTEGER PRIMARY KEY, transaction_id TEXT, direction TEXT, "
        "grant_hash TEXT, outway_peer_id TEXT, source_delegator_peer_id TEXT, service_peer_id TEXT, "
        "destination_delegator_peer_id TEXT, service_name TEXT, created_at_us INT)"
    )
    sql = "INSERT INTO r VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    n = commits = 0
    c0, w0 = time.process_time(), time.perf_counter()
    end = w0 + seconds
    while time.perf_counter() < end:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, _bare_rows(batch))
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
        data = b"".join("\t".join(map(str, row)).encode() + b"\n" for row in _bare_rows(batch))
        os.write(fd, data)
        os.fdatasync(fd)
        n += batch
        commits += 1
    res = Result(n, commits, time.perf_counter() - w0, time.process_time() - c0)
    os.close(fd)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", default="1,4,16,64", help="closed-loop rows ('' for none)")
    ap.add_argument("--rate", default="1000,2000,4000", help="open-loop rows, requests/s ('' for none)")
    ap.add_argument("--window-ms", type=float, default=0.0, help="TransactionLog(window_ms=...)")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--url", default="", help="a database URL instead of a fresh SQLite file per row")
    ap.add_argument("--dir", default="", help="where the files go (default: .nds/bench in the repository)")
    args = ap.parse_args()
    base = Path(args.dir) if args.dir else Path(__file__).resolve().parents[1] / ".nds" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    loads = [("c", int(x)) for x in args.concurrency.split(",") if x] + [
        ("r", int(x)) for x in args.rate.split(",") if x
    ]
    print(
        f"load average at start: {os.getloadavg()[0]:.2f}; {args.processes} writer process(es); "
        f"window {args.window_ms} ms; median of {args.repeat} x {args.seconds} s"
    )
    hdr = (
        f"{'load':>8} {'rec/s':>7} {'cmt/s':>6} {'rec/cmt':>7} {'p50 ms':>6} {'µs CPU/rec':>10}"
        f" {'net µs/rec':>10} {'net µs/cmt':>10} | {'bare µs/rec':>11} {'file µs/rec':>11} | {'net/bare':>8}"
    )
    print(hdr)
    print("-" * len(hdr))
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        d = Path(tmp)
        for i, load in enumerate(loads):
            runs: list[Result] = []
            drivers: list[Result] = []
            bares: list[Result] = []
            files: list[Result] = []
            for k in range(args.repeat):
                url = args.url or f"sqlite:///{d / f'txlog{i}_{k}.db'}"
                if args.processes > 1:
                    r = run_txlog_processes(url, args.processes, load, args.seconds, args.window_ms)
                else:
                    r = run_txlog(url, load, args.seconds, window_ms=args.window_ms)
                runs.append(r)
                drivers.append(run_txlog("", load, args.seconds))
                batch = max(1, round(r.per_commit))
                bares.append(run_bare(d / f"bare{i}_{k}.db", batch, args.seconds))
                files.append(run_file(d / f"file{i}_{k}.log", batch, args.seconds))

            def med(xs: list[Result], f: Any) -> float:
                return statistics.median(f(x) for x in xs)

            cpu = med(runs, lambda r: r.cpu_us_per_record)
            net = cpu - med(drivers, lambda r: r.cpu_us_per_record)
            bare = med(bares, lambda r: r.cpu_us_per_record)
            label = f"C={load[1]}" if load[0] == "c" else f"{load[1]}/s"
            print(
                f"{label:>8} {med(runs, lambda r: r.records / r.wall):>7.0f}"
                f" {med(runs, lambda r: r.commits / r.wall):>6.0f} {med(runs, lambda r: r.per_commit):>7.1f}"
                f" {med(runs, lambda r: r.latency_ms):>6.2f} {cpu:>10.1f} {net:>10.1f}"
                f" {net * med(runs, lambda r: r.per_commit):>10.1f}"
                f" | {bare:>11.1f} {med(files, lambda r: r.cpu_us_per_record):>11.1f} | {net / bare:>8.2f}",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
