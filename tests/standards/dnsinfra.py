"""Offline DNS lab for the standards tests: NSD (authoritative) behind a validating Unbound.

Everything lives under our own signed TLD ``test.``: Unbound gets *our* trust anchor for it and a
stub zone per test zone (all served by one NSD on its own loopback address and port). Child zones
are signed with dnspython (ECDSA P-256) in the modes

- ``secure``: signed, DS at the parent;
- ``insecure``: unsigned, no DS;
- ``expired``: signed with signatures that expired yesterday, DS at the parent (bogus);
- ``stripped``: DS at the parent but served unsigned (bogus: DNSKEY/RRSIG missing).

Processes run in the foreground as children of the test process and are always terminated.
Only loopback addresses are used (127.0.53.x and ::1).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec

NSD_ADDR = "127.0.53.2"
UNBOUND_ADDR = "127.0.53.1"
TLD = "test."


def free_port(host: str) -> int:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as u, socket.socket(fam, socket.SOCK_STREAM) as t:
        t.bind((host, 0))
        port = t.getsockname()[1]
        u.bind((host, port))  # free for UDP as well
        return int(port)


def tools_available() -> bool:
    return all(shutil.which(t) or Path("/usr/sbin", t).exists() for t in ("nsd", "unbound"))


@dataclass
class ZoneSpec:
    name: str  # absolute, e.g. "secure.test."
    records: list[str]  # zone-file lines relative to the origin (no SOA/NS needed)
    mode: str = "secure"  # secure | insecure | expired | stripped


@dataclass
class _Key:
    private: ec.EllipticCurvePrivateKey
    dnskey: object


def _make_key(flags: int = 257) -> _Key:
    priv = ec.generate_private_key(ec.SECP256R1())
    return _Key(
        priv, dns.dnssec.make_dnskey(priv.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256, flags=flags)
    )


def _zone_text(origin: str, records: list[str]) -> str:
    head = [
        f"$ORIGIN {origin}",
        "$TTL 60",
        f"@ SOA ns1.{TLD} hostmaster.{TLD} 1 3600 600 86400 60",
        f"@ NS ns1.{TLD}",
        f"@ NS ns2.{TLD}",
    ]
    return "\n".join(head + records) + "\n"


def _sign(zone: dns.zone.Zone, key: _Key, *, expired: bool = False) -> None:
    now = dt.datetime.now(dt.UTC)
    if expired:
        inception, expiration = now - dt.timedelta(days=30), now - dt.timedelta(days=1)
    else:
        inception, expiration = now - dt.timedelta(hours=1), now + dt.timedelta(days=14)
    dns.dnssec.sign_zone(
        zone,
        keys=[(key.private, key.dnskey)],
        inception=inception,  # type: ignore[list-item]
        expiration=expiration,
    )


@dataclass
class DnsLab:
    zones: list[ZoneSpec]
    tld_records: list[str] = field(default_factory=list)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nds-dnslab-")))
    nsd_port: int = 0
    unbound_port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def resolver(self) -> tuple[str, int]:
        return UNBOUND_ADDR, self.unbound_port

    @property
    def nsd(self) -> tuple[str, int]:
        return NSD_ADDR, self.nsd_port

    def build(self) -> None:
        tld_key = _make_key()
        tld_lines = [f"ns1 A {NSD_ADDR}", "ns1 AAAA ::1", f"ns2 A {NSD_ADDR}", *self.tld_records]
        files: dict[str, Path] = {}
        for spec in self.zones:
            rel = spec.name[: -len(TLD) - 1]
            tld_lines += [f"{rel} NS ns1.{TLD}", f"{rel} NS ns2.{TLD}"]
            zone = dns.zone.from_text(
                _zone_text(spec.name, spec.records), origin=spec.name, relativize=False, check_origin=True
            )
            if spec.mode != "insecure":
                key = _make_key()
                tld_lines.append(f"{rel} DS " + dns.dnssec.make_ds(spec.name, key.dnskey, "SHA256").to_text())
                if spec.mode in ("secure", "expired"):
                    _sign(zone, key, expired=spec.mode == "expired")
            files[spec.name] = self.root / f"{spec.name.rstrip('.')}.zone"
            zone.to_file(str(files[spec.name]), relativize=False)
        tld = dns.zone.from_text(_zone_text(TLD, tld_lines), origin=TLD, relativize=False)
        _sign(tld, tld_key)
        files[TLD] = self.root / "test.zone"
        tld.to_file(str(files[TLD]), relativize=False)
        self.nsd_port = free_port(NSD_ADDR)
        self.unbound_port = free_port(UNBOUND_ADDR)
        zones_conf = "".join(f'zone:\n  name: "{n}"\n  zonefile: "{p}"\n' for n, p in files.items())
        (self.root / "nsd.conf").write_text(
            "server:\n"
            f"  ip-address: {NSD_ADDR}@{self.nsd_port}\n  ip-address: ::1@{self.nsd_port}\n"
            f'  username: ""\n  zonesdir: "{self.root}"\n  database: ""\n'
            f'  pidfile: "{self.root}/nsd.pid"\n  xfrdfile: "{self.root}/xfrd.state"\n'
            f'  zonelistfile: "{self.root}/zone.list"\n  logfile: "{self.root}/nsd.log"\n'
            "  server-count: 1\n  verbosity: 1\n  hide-version: yes\n"
            "remote-control:\n  control-enable: no\n" + zones_conf
        )
        ta = dns.dnssec.make_ds(TLD, tld_key.dnskey, "SHA256").to_text()
        stubs = "".join(
            f'stub-zone:\n  name: "{n}"\n  stub-addr: {NSD_ADDR}@{self.nsd_port}\n' for n in files
        )
        (self.root / "unbound.conf").write_text(
            "server:\n"
            f"  interface: {UNBOUND_ADDR}@{self.unbound_port}\n  port: {self.unbound_port}\n"
            '  username: ""\n  chroot: ""\n'
            f'  directory: "{self.root}"\n  pidfile: "{self.root}/unbound.pid"\n'
            f'  logfile: "{self.root}/unbound.log"\n  use-syslog: no\n  verbosity: 1\n'
            "  do-not-query-localhost: no\n  access-control: 127.0.0.0/8 allow\n"
            '  module-config: "validator iterator"\n  ede: yes\n  val-log-level: 2\n'
            "  qname-minimisation: no\n  num-threads: 1\n  so-reuseport: no\n  do-ip6: yes\n"
            "  harden-referral-path: no\n  val-bogus-ttl: 1\n  infra-host-ttl: 5\n"
            f'  local-zone: "{TLD}" nodefault\n  trust-anchor: "{TLD} DS {ta}"\n'
            "remote-control:\n  control-enable: no\n" + stubs
        )

    def _wait(self, addr: str, port: int, qname: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + 15
        q = dns.message.make_query(qname, "SOA")
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{proc.args!r} exited: {log.read_text(errors='replace') if log.exists() else ''}"
                )
            with contextlib.suppress(Exception):
                dns.query.udp(q, addr, port=port, timeout=0.5)
                return
            time.sleep(0.1)
        raise RuntimeError(f"{addr}:{port} did not answer DNS within 15 s")

    def start(self) -> None:
        self.build()
        nsd = shutil.which("nsd") or "/usr/sbin/nsd"
        unbound = shutil.which("unbound") or "/usr/sbin/unbound"
        p = subprocess.Popen(
            [nsd, "-d", "-c", str(self.root / "nsd.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._procs.append(p)
        self._wait(NSD_ADDR, self.nsd_port, TLD, p, self.root / "nsd.log")
        u = subprocess.Popen(
            [unbound, "-d", "-c", str(self.root / "unbound.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._procs.append(u)
        self._wait(UNBOUND_ADDR, self.unbound_port, TLD, u, self.root / "unbound.log")

    def stop(self) -> None:
        for p in reversed(self._procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_lab(zones: list[ZoneSpec], tld_records: list[str] | None = None) -> Iterator[DnsLab]:
    lab = DnsLab(zones, tld_records or [])
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


# --- certificates and SMTP servers for the mail tests -------------------------------------------


@dataclass
class Cert:
    cert: object  # x509.Certificate
    key: object

    @property
    def der(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.cert.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]

    def spki_sha256(self) -> str:
        import hashlib

        from cryptography.hazmat.primitives import serialization

        spki = self.cert.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(spki).hexdigest()

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]

    def key_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def make_cert(names: list[str], issuer: Cert | None = None, *, ca: bool = False, rsa_bits: int = 0) -> Cert:
    """A certificate for ``names`` (first = CN), signed by ``issuer`` (self-signed when None)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, rsa_bits) if rsa_bits else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    signer = issuer.key if issuer else key
    return Cert(b.sign(signer, hashes.SHA256()), key)  # type: ignore[arg-type]


class SmtpLab:
    """Minimal SMTP servers (RFC 5321 subset + RFC 3207 STARTTLS) in a background event loop.

    ``add(addr, mode, cert_chain)`` with mode ``starttls`` (offers STARTTLS), ``plain`` (does not),
    ``greylist`` (421 to the first ``greylist`` connections, then ``starttls``), ``ratelimit`` (421
    after the first ``greylist`` connections) or ``refuse`` (421 always). Returns the port.
    ``connections`` counts accepted connections per (addr, port)."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: list[object] = []
        self.connections: dict[tuple[str, int], int] = {}
        self.max_parallel: dict[tuple[str, int], int] = {}
        self._open: dict[tuple[str, int], int] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="nds-smtplab-"))

    def add(self, addr: str, mode: str, chain: list[Cert] | None = None, greylist: int = 0) -> int:
        import asyncio
        import ssl

        ctx = None
        if chain:
            pem = self._dir / f"{addr.replace(':', '_')}-{len(self._servers)}.pem"
            pem.write_bytes(b"".join(c.pem() for c in chain) + chain[0].key_pem())
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(pem))
        port = free_port(addr)
        key = (addr, port)
        self.connections[key] = 0
        self.max_parallel[key] = 0
        self._open[key] = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections[key] += 1
            self._open[key] += 1
            self.max_parallel[key] = max(self.max_parallel[key], self._open[key])
            try:
                limited = mode == "ratelimit" and self.connections[key] > greylist
                if mode == "refuse" or limited or (mode == "greylist" and self.connections[key] <= greylist):
                    writer.write(b"421 4.7.0 try again later\r\n")
                    await writer.drain()
                    return
                writer.write(b"220 mx.test ESMTP lab\r\n")
                await writer.drain()
                tls = False
                while True:
                    line = await asyncio.wait_for(reader.readline(), 30)
                    if not line:
                        return
                    cmd = line.decode(errors="replace").strip().upper()
                    if cmd.startswith(("EHLO", "HELO")):
                        exts = ["250-mx.test", "250-PIPELINING", "250-SIZE 10240000"]
                        if mode != "plain" and not tls:
                            exts.append("250-STARTTLS")
                        exts.append("250 8BITMIME")
                        writer.write(("\r\n".join(exts) + "\r\n").encode())
                    elif cmd == "STARTTLS" and mode != "plain" and ctx is not None and not tls:
                        writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                        await writer.drain()
                        await writer.start_tls(ctx)
                        tls = True
                        continue
                    elif cmd == "QUIT":
                        writer.write(b"221 2.0.0 bye\r\n")
                        await writer.drain()
                        return
                    else:
                        writer.write(b"502 5.5.1 not implemented\r\n")
                    await writer.drain()
            except (TimeoutError, OSError, ssl.SSLError, ConnectionError):
                return
            finally:
                self._open[key] -= 1
                writer.close()

        async def start() -> object:
            return await asyncio.start_server(handle, addr, port)

        self._servers.append(asyncio.run_coroutine_threadsafe(start(), self.loop).result(10))
        return port

    def stop(self) -> None:
        import asyncio

        async def close() -> None:
            for s in self._servers:
                s.close()  # type: ignore[attr-defined]

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        shutil.rmtree(self._dir, ignore_errors=True)

    def add_http(self, addr: str, pages: dict[str, bytes], status: int = 200) -> int:
        """A tiny HTTP/1.1 server answering ``GET /`` with ``pages[Host]`` (404 for other hosts)."""
        import asyncio

        port = free_port(addr)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                host = ""
                for line in head.decode(errors="replace").split("\r\n")[1:]:
                    if line.lower().startswith("host:"):
                        host = line.split(":", 1)[1].strip().split(":")[0]
                body = pages.get(host)
                code = status if body is not None else 404
                body = body if body is not None else b"not found"
                writer.write(
                    f"HTTP/1.1 {code} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            finally:
                writer.close()

        async def start() -> object:
            return await asyncio.start_server(handle, addr, port)

        self._servers.append(asyncio.run_coroutine_threadsafe(start(), self.loop).result(10))
        return port
