"""Benchmark: a measurement round over >= 200 loopback web hosts, politeness on.

Each host is its own loopback address (127.77.1.1 ... 127.77.1.N, ports 18443/18080) with an HTTPS and
an HTTP listener,
served by a separate process (the second core). The mix of configurations (documented in
docs/standards/rounds.md):

- 40% good: TLS 1.2 + 1.3, ECDHE with AES-GCM/ChaCha20, ECDSA P-256 certificate, HSTS one year,
  http:// redirects to https:// on the same host;
- 20% phase-out: TLS 1.2 only with CBC suites as well, RSA 2048 certificate, HSTS of one day;
- 15% legacy: TLS 1.0-1.2 at @SECLEVEL=0 (insufficient), no HSTS;
- 15% redirect elsewhere: http:// redirects to another host first, no security headers;
- 10% no HTTPS: nothing listens on the HTTPS port.

A tiny local DNS responder answers every query with an empty NOERROR (NODATA), so the DNS-based
families (DNSSEC, IPv6, CAA, RPKI) run against a resolver and finish quickly.

Printed: web tests per minute and TLS handshakes per TLS test for the round (concurrency 32,
2 tests at once per target IP, 130 s deadline per domain), and the same for a baseline measured in
the same run: the identical round code run sequentially (concurrency 1) over the first hosts.
Targets: >= 200 web tests/min on 2 cores, <= 30 handshakes per TLS test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import shutil
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

DOMAIN = "bench.test"
MIX = [("good", 40), ("phaseout", 20), ("legacy", 15), ("elsewhere", 15), ("nohttps", 10)]


def kind_of(i: int) -> str:
    slot = (i * 37) % 100  # a permutation of 0..99: the mix is spread evenly over any run of hosts
    acc = 0
    for name, share in MIX:
        acc += share
        if slot < acc:
            return name
    return MIX[-1][0]


def addr_of(i: int) -> str:
    return f"127.77.{1 + i // 250}.{1 + i % 250}"


def host_of(i: int) -> str:
    return f"h{i}.{DOMAIN}"


def make_certs(directory: Path) -> dict[str, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nds bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    out = {"ca": directory / "ca.pem"}
    out["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    keys: dict[str, Any] = {
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    for name, key in keys.items():
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{DOMAIN}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"*.{DOMAIN}")]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        out[f"{name}-cert"] = directory / f"{name}.pem"
        out[f"{name}-key"] = directory / f"{name}.key"
        out[f"{name}-cert"].write_bytes(
            cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
        )
        out[f"{name}-key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return out


def ssl_context(kind: str, certs: dict[str, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if kind == "good":
        ctx.load_cert_chain(certs["ec-cert"], certs["ec-key"])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    elif kind == "phaseout":
        ctx.load_cert_chain(certs["rsa-cert"], certs["rsa-key"])
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE+AESGCM:ECDHE+AES+SHA256")
    else:  # legacy and elsewhere
        ctx.load_cert_chain(certs["rsa-cert"], certs["rsa-key"])
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1 if kind == "legacy" else ssl.TLSVersion.TLSv1_2
    return ctx


def serve(n: int, certs: dict[str, Path], ports: Any, ready: Any, stop: Any) -> None:
    """Server process: an HTTP and an HTTPS listener per host address."""
    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        host = (request.host or "").split(":")[0]
        try:
            i = int(host.split(".")[0][1:])
        except ValueError:
            return web.Response(status=404)
        kind = kind_of(i)
        if request.scheme == "http" or not request.secure:
            target = f"https://{host}/" if kind != "elsewhere" else f"https://www.example.nl/{host}"
            raise web.HTTPMovedPermanently(target)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if kind == "good":
            headers.update(
                {
                    "Strict-Transport-Security": "max-age=31536000",
                    "X-Content-Type-Options": "nosniff",
                    "X-Frame-Options": "DENY",
                    "Referrer-Policy": "no-referrer",
                    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; "
                    "base-uri 'self'; form-action 'self'",
                }
            )
        elif kind == "phaseout":
            headers["Strict-Transport-Security"] = "max-age=86400"
        if request.path.startswith("/.well-known/security.txt") and kind == "good":
            exp = (dt.datetime.now(dt.UTC) + dt.timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
            return web.Response(
                text=f"Contact: mailto:security@{host}\nExpires: {exp}\n",
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        return web.Response(text="<!doctype html><title>bench</title><p>ok</p>", headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ctxs = {k: ssl_context(k, certs) for k, _ in MIX if k != "nohttps"}
        for i in range(n):
            a = addr_of(i)
            http = web.TCPSite(runner, a, 18080)
            await http.start()
            if kind_of(i) != "nohttps":
                await web.TCPSite(runner, a, 18443, ssl_context=ctxs[kind_of(i)]).start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await runner.cleanup()

    asyncio.run(main())


class NoDataDns(asyncio.DatagramProtocol):
    """Answers every DNS query with an empty NOERROR (no DNSSEC, no records)."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        import dns.message

        try:
            q = dns.message.from_wire(data)
        except Exception:
            return
        r = dns.message.make_response(q)
        self.transport.sendto(r.to_wire(), addr)


async def run_round(
    n_hosts: int, first: int, concurrency: int, certs: dict[str, Path], dns_port: int, db: str
) -> tuple[float, int, int]:
    from nds.standards import rounds, store
    from nds.standards.net import ConnectTo, NetworkConfig

    routes = []
    for i in range(first, first + n_hosts):
        routes.append(ConnectTo(host_of(i), 443, addr_of(i), 18443))
        routes.append(ConnectTo(host_of(i), 80, addr_of(i), 18080))
    net = NetworkConfig(
        connect_to=tuple(routes),
        resolver=("127.0.0.1", dns_port),
        ca_file=certs["ca"],
        timeout=5.0,
        dns_timeout=2.0,
        retries=0,
    )
    engine = store.open_store(db)
    rows = [
        {
            "organisation": f"Organisatie {i}",
            "org_type": "bench",
            "bestuursorgaan": True,
            "domain": host_of(i),
            "check_web": True,
            "check_mail": False,
        }
        for i in range(first, first + n_hosts)
    ]
    rid = store.create_round(engine, "bench", "ncsc-2025-05", "bench", rows)
    t0 = time.perf_counter()
    stats = await rounds.run_round(
        engine, rid, net, rounds.Checkers.default(), concurrency=concurrency, per_ip=2, deadline=130.0
    )
    seconds = time.perf_counter() - t0
    with engine.connect() as conn:
        outcomes = [
            r.outcome for r in conn.execute(store.results.select().where(store.results.c.round_id == rid))
        ]
    bad = sum(o != "done" for o in outcomes)
    if bad:
        print(f"  warning: {bad} of {len(outcomes)} tests did not complete", file=sys.stderr)
    return seconds, stats.web_tests, stats.handshakes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--baseline-hosts", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--keep", help="directory for certificates and the round databases (kept)")
    args = ap.parse_args()
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nds-bench-round-"))
    tmp.mkdir(parents=True, exist_ok=True)
    certs = make_certs(tmp)
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    total = args.hosts + args.baseline_hosts
    proc = ctx.Process(target=serve, args=(total, certs, None, ready, stop), daemon=True)
    proc.start()
    try:
        if not ready.wait(120):
            print("server process did not start", file=sys.stderr)
            return 1

        async def both() -> tuple[tuple[float, int, int], tuple[float, int, int]]:
            loop = asyncio.get_running_loop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            transport, _ = await loop.create_datagram_endpoint(NoDataDns, sock=sock)
            port = sock.getsockname()[1]
            try:
                base = await run_round(
                    args.baseline_hosts, args.hosts, 1, certs, port, f"sqlite:///{tmp}/base.db"
                )
                full = await run_round(
                    args.hosts, 0, args.concurrency, certs, port, f"sqlite:///{tmp}/round.db"
                )
            finally:
                transport.close()
            return base, full

        (b_s, b_tests, _b_hs), (f_s, f_tests, f_hs) = asyncio.run(both())
    finally:
        stop.set()
        proc.join(15)
        if proc.is_alive():
            proc.terminate()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    tls_tests = sum(kind_of(i) != "nohttps" for i in range(args.hosts))
    base_rate = 60.0 * b_tests / b_s
    rate = 60.0 * f_tests / f_s
    hs_per_test = f_hs / max(tls_tests, 1)
    print(
        f"mix: {', '.join(f'{k} {v}%' for k, v in MIX)}; hosts {args.hosts}, concurrency {args.concurrency}, "
        f"2 per IP"
    )
    print(f"baseline (sequential, {args.baseline_hosts} hosts): {base_rate:.0f} web tests/min")
    print(
        f"round: {f_tests} web tests in {f_s:.1f} s = {rate:.0f} web tests/min "
        f"(ratio vs baseline {rate / base_rate:.2f}x); target >= 200/min: {'ok' if rate >= 200 else 'MISSED'}"
    )
    print(
        f"TLS handshakes: {f_hs} for {tls_tests} TLS tests = {hs_per_test:.1f} per TLS test; "
        f"target <= 30: {'ok' if hs_per_test <= 30 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
