"""FSC data-path benchmark: client → Outway → Inway → service, against two baselines, in one run.

1. direct:  client → service (plain HTTP, keep-alive)
2. fsc:     client → Outway → (mTLS, token cached) → Inway → service, durable transaction logging on
            (both peers' records committed and fsynced before forwarding)
3. nginx:   client → nginx → (mTLS, keep-alive upstream) → nginx → service (Debian nginx, two hops)

All on this machine's loopback; the service is the same process for all three (DigiLab sample
service, fixed 1 KiB response). Load generator: wrk (keep-alive), its own CPU use is reported.
Two phases per setup:

- throughput: ``--connections`` (32) keep-alive connections; requests/s, p50/p99. At this load the
  fsc chain is CPU-bound, so its p50 is mostly time spent queueing (Little's law: connections ÷
  throughput), not time the hops add to a request;
- latency: one connection, one request at a time (an unloaded path): the p50 the two hops add to a
  single request, against the direct call. The latency target is checked here.

Prints requests/s, p50/p99 latency, the added p50 latency and the throughput ratios.

    python benchmarks/fsc_datapath.py [--duration 10] [--connections 32] [--workers N] [--profile]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nds.digilab.orchestrator import DigiLab  # noqa: E402
from nds.fsc.localgroup import free_port  # noqa: E402
from nds.fsc.txlog import TransactionLog  # noqa: E402
from nds.pki.issue import ca_files, issue_peer_certificate  # noqa: E402

TARGET_ADDED_P50_MS = 1.0
TARGET_NGINX_SHARE = 0.25


def group_cpu(pgids: list[int]) -> float:
    """CPU seconds (user+system) used so far by every process in the given process groups."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    wanted = set(pgids)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) in wanted:  # field 5 (pgrp), counted after the command name
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    loadgen_cpu: float  # share of one core used by wrk
    proxy_cpu_us: float = float("nan")  # CPU microseconds per request spent in the proxies
    parts_us: dict[str, float] | None = None  # the same, per component


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value.strip())
    if not m:
        return float("nan")
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def run_wrk(
    name: str,
    url: str,
    duration: int,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
    proxies: dict[str, int] | None = None,
) -> Result:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proxy_before = {k: group_cpu([v]) for k, v in (proxies or {}).items()}
    t0 = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = {k: group_cpu([v]) - proxy_before[k] for k, v in (proxies or {}).items()}
    proxy_cpu = sum(used.values()) if proxies else float("nan")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    err = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        err += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        err += sum(int(x) for x in m.groups())
    requests = rps * duration
    per = {k: v / requests * 1e6 for k, v in used.items()} if requests else {}
    return Result(
        name, rps, p50, p99, err, cpu, proxy_cpu / requests * 1e6 if requests else float("nan"), per
    )


NGINX_CONF = """
user root;
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    upstream service {{ server {service}; keepalive 128; }}
    upstream hop2 {{ server {host2}:{port2}; keepalive 128; }}
    # hop 1 (like an Outway): plain HTTP in, mTLS out with the consumer's certificate
    server {{
        listen 127.0.0.1:{port1} reuseport;
        location / {{
            proxy_pass https://hop2;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_certificate {client_cert};
            proxy_ssl_certificate_key {client_key};
            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_verify on;
            proxy_ssl_name hop2.bench.test;
            proxy_ssl_server_name off;
            proxy_ssl_session_reuse on;
        }}
    }}
    # hop 2 (like an Inway): mTLS in against the Group CA, plain HTTP to the service
    server {{
        listen {host2}:{port2} ssl reuseport;
        ssl_certificate {server_cert};
        ssl_certificate_key {server_key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        keepalive_requests 100000;
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(
    tmp: Path,
    service: str,
    ca: str,
    client: tuple[str, str],
    server: tuple[str, str],
    host2: str,
    workers: int,
) -> tuple[subprocess.Popen[bytes], int]:
    """hop 2 listens on the provider's own loopback address: its certificate names that address."""
    port1, port2 = free_port("127.0.0.1"), free_port(host2)
    d = tmp / "nginx"
    d.mkdir()
    conf = d / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            workers=workers,
            dir=d,
            service=service,
            port1=port1,
            port2=port2,
            host2=host2,
            client_cert=client[0],
            client_key=client[1],
            ca=ca,
            server_cert=server[0],
            server_key=server[1],
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen(
        [nginx, "-p", str(d), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port1}/bench/1k", timeout=2).status_code == 200:
                return proc, port1
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    log = (d / "error.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"nginx chain did not come up: {log}")


def records(url: str) -> int:
    log = TransactionLog(url, create=False)
    try:
        return log.count()
    finally:
        log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=int(os.environ.get("NDS_BENCH_DURATION", "8")))
    ap.add_argument("--connections", type=int, default=32, help="connections in the throughput phase")
    ap.add_argument(
        "--latency-duration",
        type=int,
        default=int(os.environ.get("NDS_BENCH_LATENCY_DURATION", "5")),
        help="seconds per setup in the latency phase (one connection, one request at a time)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes per Inway and per Outway (default: half the CPUs, at least 1: the two "
        "proxies share this machine, so together they run one process per CPU)",
    )
    ap.add_argument(
        "--nginx-workers",
        type=int,
        default=0,
        help="nginx worker processes (default: one per CPU; each nginx worker serves both hops)",
    )
    ap.add_argument(
        "--profile", action="store_true", help="profile Outway/Inway workers (cProfile) and print"
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the run's directory (DigiLab state and logs, nginx config, profiles); removed otherwise",
    )
    args = ap.parse_args()
    cpus = os.cpu_count() or 1
    args.workers = args.workers or max(1, cpus // 2)
    args.nginx_workers = args.nginx_workers or cpus
    if not shutil.which("wrk"):
        print("wrk is not installed: run 'make system-deps' (Debian package wrk)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="nds-bench-fsc-"))
    try:
        return run(args, cpus, tmp)
    finally:
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, cpus: int, tmp: Path) -> int:
    """One benchmark run in ``tmp`` (which the caller removes)."""
    prof_dir = tmp / "profiles"
    if args.profile:
        prof_dir.mkdir()
        os.environ["NDS_FSC_PROFILE_DIR"] = str(prof_dir)
    lab = DigiLab(tmp / "lab", workers=args.workers, token_lifetime=3600, timeout=120, host_prefix="127.0.5.")
    nginx: subprocess.Popen[bytes] | None = None
    try:
        data = lab.up()
        os.environ.pop("NDS_FSC_PROFILE_DIR", None)
        orgs = {o["slug"]: o for o in data["organisations"]}
        grant = next(g for g in data["grants"] if g["consumer"] == "gemeente" and g["service"] == "personen")
        service = next(s for s in data["services"] if s["name"] == "personen")["endpoint"]
        outway = orgs["gemeente"]["outway_address"]
        hdr = {"Fsc-Grant-Hash": grant["hash"]}
        r = httpx.get(f"{outway}/bench/1k", headers=hdr, timeout=30)  # fetch and cache the token
        assert r.status_code == 200 and len(r.content) == 1024, (r.status_code, r.text[:200])
        # nginx checks upstream names against DNS SANs only: give hop 2 a certificate with a DNS name,
        # from the same Group CA and with the provider's key type.
        hop2 = issue_peer_certificate(
            ca_files(Path(data["group_rules"]).parent / "ca"),
            orgs["brp"]["peer_id"],
            orgs["brp"]["name"],
            ["hop2.bench.test"],
            tmp / "hop2",
            ip_addresses=[orgs["brp"]["host"]],
        )
        nginx, nport = start_nginx(
            tmp,
            service.removeprefix("http://"),
            data["trust_anchor"],
            (orgs["gemeente"]["certificate_chain"], orgs["gemeente"]["key"]),
            (str(hop2.chain), str(hop2.key)),
            orgs["brp"]["host"],
            args.nginx_workers,
        )
        logs = [orgs["gemeente"]["transaction_log"], orgs["brp"]["transaction_log"]]
        before = [records(u) for u in logs]
        c, d = args.connections, args.duration
        fsc_pgids = {
            "outway": lab.process("outway Gemeente Voorbeeldstad").pid,
            "inway": lab.process("inway Basisregistratie Personen").pid,
        }
        service_pg = {"service": lab.process("service personen").pid}
        results = [
            run_wrk("direct (client → service)", f"{service}/bench/1k", d, c, 1, None, service_pg),
            run_wrk("fsc (outway → inway → service)", f"{outway}/bench/1k", d, c, 1, hdr, fsc_pgids),
            run_wrk(
                "nginx two-hop mTLS chain",
                f"http://127.0.0.1:{nport}/bench/1k",
                d,
                c,
                1,
                None,
                {"nginx": nginx.pid},
            ),
        ]
        written = [records(u) - b for u, b in zip(logs, before, strict=True)]
        ld = args.latency_duration
        unloaded = [
            run_wrk("direct", f"{service}/bench/1k", ld, 1, 1),
            run_wrk("fsc", f"{outway}/bench/1k", ld, 1, 1, hdr),
            run_wrk("nginx", f"http://127.0.0.1:{nport}/bench/1k", ld, 1, 1),
        ]
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        lab.down_started()
    direct, fsc, ngx = results
    print(
        f"FSC data path, {c} keep-alive connections, {d} s each, 1 KiB responses, "
        f"{args.workers} worker(s) per FSC proxy, {args.nginx_workers} nginx worker(s), {cpus} CPUs, "
        "load generator wrk -t1"
    )
    print(
        f"{'setup':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'wrk CPU':>9}"
        f"{'proxy CPU/req':>15}"
    )
    for x in results:
        cpu = "" if x.proxy_cpu_us != x.proxy_cpu_us else f"{x.proxy_cpu_us:.0f} µs"
        print(
            f"{x.name:<34}{x.rps:>10.0f}{x.p50_ms:>9.2f}{x.p99_ms:>9.2f}{x.errors:>8}{x.loadgen_cpu:>8.0%}{cpu:>15}"
        )
    load = os.getloadavg()[0]
    print(
        f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs "
        "(other work on the machine skews all rows)"
    )
    print("latency phase: one connection, one request at a time (unloaded)")
    print(f"{'setup':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for x in unloaded:
        print(f"{x.name:<34}{x.rps:>10.0f}{x.p50_ms:>9.2f}{x.p99_ms:>9.2f}{x.errors:>8}")
    u_direct, u_fsc, u_ngx = unloaded
    added_fsc = u_fsc.p50_ms - u_direct.p50_ms
    added_ngx = u_ngx.p50_ms - u_direct.p50_ms
    added_fsc_loaded = fsc.p50_ms - direct.p50_ms
    share = fsc.rps / ngx.rps if ngx.rps else float("nan")
    print(
        f"durable log records written during the fsc run: consumer {written[0]}, provider {written[1]} "
        f"(requests ≈ {fsc.rps * d:.0f})"
    )
    print(f"ratio fsc/direct throughput: {fsc.rps / direct.rps:.3f}")
    print(f"ratio fsc/nginx proxy CPU per request: {fsc.proxy_cpu_us / ngx.proxy_cpu_us:.1f}")
    if fsc.parts_us:
        parts = ", ".join(f"{k} {v:.0f} µs" for k, v in fsc.parts_us.items())
        alone = f"{direct.proxy_cpu_us:.0f} µs"
        print(f"fsc proxy CPU per request by component: {parts} (the service alone: {alone})")
    print(
        f"ratio fsc/nginx throughput: {share:.3f} (target ≥ {TARGET_NGINX_SHARE}) "
        f"{'MET' if share >= TARGET_NGINX_SHARE else 'NOT MET'}"
    )
    print(
        f"added p50 latency, unloaded: fsc {added_fsc:.2f} ms (target ≤ {TARGET_ADDED_P50_MS} ms) "
        f"{'MET' if added_fsc <= TARGET_ADDED_P50_MS else 'NOT MET'}; nginx {added_ngx:.2f} ms"
    )
    print(
        f"p50 at {c} connections, fsc minus direct: {added_fsc_loaded:.2f} ms "
        f"(queueing in a CPU-bound chain; ≈ {c} / {fsc.rps:.0f} req/s = {c / fsc.rps * 1000:.1f} ms)"
    )
    if args.profile:
        import pstats

        files = sorted(str(p) for p in prof_dir.glob("*.prof"))
        for component in ("outway", "inway"):
            mine = [f for f in files if Path(f).name.startswith(component)]
            if mine:
                print(f"\n== profile: {component} workers (cumulative, top 25)")
                pstats.Stats(*mine).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
