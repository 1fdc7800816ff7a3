"""Test harness for the FSC data plane: a CA, Group rules, peer certificates and real processes.

Everything listens on loopback only. Processes run in their own process group and are ended by
:meth:`Procs.stop_all` (SIGTERM, then SIGKILL after a bounded wait) even when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nds.fsc.grouprules import GroupRules, TlsRules, dump_group_rules
from nds.fsc.jose import issue_access_token
from nds.fsc.localgroup import host_is_free
from nds.pki import (
    cert_thumbprint_s256,
    load_certificate,
    load_private_key,
)
from nds.pki.issue import ca_files, create_group_ca, issue_peer_certificate

GROUP_ID = "nds-dataplane-test"


def pick_hosts(n: int, ports: tuple[int, ...] = (443, 8443), prefix: str = "127.0.3.") -> list[str]:
    """``n`` loopback addresses where all ``ports`` are free now. A prefix of its own keeps these tests
    out of the way of other test runs on the machine (the Manager tests use 127.0.1.*)."""
    out = []
    for k in range(2, 255):
        host = f"{prefix}{k}"
        if all(host_is_free(host, p) for p in ports):
            out.append(host)
            if len(out) == n:
                return out
    raise RuntimeError("no free loopback addresses")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Peer:
    name: str
    peer_id: str
    host: str
    dir: Path

    @property
    def chain(self) -> Path:
        return self.dir / "chain.pem"

    @property
    def cert(self) -> Path:
        return self.dir / "cert.pem"

    @property
    def key(self) -> Path:
        return self.dir / "key.pem"

    @property
    def thumbprint(self) -> str:
        return cert_thumbprint_s256(load_certificate(self.cert))


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@dataclass
class Procs:
    items: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], log: Path) -> Proc:
        fh = open(log, "ab")  # noqa: SIM115
        try:
            p = subprocess.Popen(
                [sys.executable, *args],
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            fh.close()
        proc = Proc(name, p, log)
        self.items.append(proc)
        return proc

    def stop(self, proc: Proc, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, sig)
            try:
                proc.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=5)

    def stop_all(self) -> None:
        for p in reversed(self.items):
            with contextlib.suppress(Exception):
                self.stop(p)
        self.items.clear()


def wait_http(url: str, proc: Proc, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.05)
    raise RuntimeError(f"{proc.name} not ready ({last}):\n{proc.tail()}")


def wait_tcp(host: str, port: int, proc: Proc, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.name} not listening on {host}:{port}:\n{proc.tail()}")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, Path):
        return json.dumps(str(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def write_toml(path: Path, top: dict[str, Any], tables: dict[str, dict[str, Any]] | None = None) -> Path:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items() if v is not None]
    for name, values in (tables or {}).items():
        lines.append(f"\n[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


class MiniGroup:
    """A Group CA, rules and the certificates of a provider, two consumers and an outsider."""

    def __init__(
        self, root: Path, *, token_lifetime: int = 300, clock_skew: int = 2, tls: TlsRules | None = None
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca = create_group_ca(root / "ca", "DP Test")
        self.rules_path = root / "group.toml"
        dump_group_rules(
            GroupRules(
                group_id=GROUP_ID,
                trust_anchors=[self.ca.cert],
                token_lifetime_seconds=token_lifetime,
                clock_skew_seconds=clock_skew,
                **({"tls": tls} if tls is not None else {}),
            ),
            self.rules_path,
        )
        hosts = pick_hosts(3)
        self.provider = self._peer("Provider BV", "00000001000000000001", hosts[0])
        self.consumer = self._peer("Consumer Gemeente", "00000001000000000002", hosts[1])
        self.delegator = self._peer("Delegator Dienst", "00000001000000000003", hosts[2])
        self.other_ca = create_group_ca(root / "other-ca", "Elsewhere")
        odir = root / "peers" / "outsider"
        issue_peer_certificate(
            self.other_ca, "00000009000000000009", "Outsider", [], odir, ip_addresses=["127.0.0.1"]
        )
        self.outsider = Peer("Outsider", "00000009000000000009", "127.0.0.1", odir)
        self.procs = Procs()

    def _peer(self, name: str, peer_id: str, host: str) -> Peer:
        d = self.root / "peers" / peer_id
        issue_peer_certificate(ca_files(self.ca.directory), peer_id, name, [], d, ip_addresses=[host])
        return Peer(name, peer_id, host, d)

    # -- tokens -------------------------------------------------------------------------------

    def mint(
        self,
        *,
        svc: str = "basisregister",
        aud: str | None = None,
        sub: str | None = None,
        holder: Peer | None = None,
        gid: str = GROUP_ID,
        lifetime: int = 300,
        now: float | None = None,
        iss: str | None = None,
        signer: Peer | None = None,
        gth: str = "$1$3$testgrant",
        act_sub: str | None = None,
        pdi: str | None = None,
        cnf: str | None = None,
    ) -> str:
        signer = signer or self.provider
        holder = holder or self.consumer
        return issue_access_token(
            key=load_private_key(signer.key),
            cert=load_certificate(signer.cert),
            grant_hash=gth,
            group_id=gid,
            sub=sub or holder.peer_id,
            iss=iss or self.provider.peer_id,
            svc=svc,
            aud=aud or f"https://{self.provider.host}:443",
            lifetime=lifetime,
            now=time.time() if now is None else now,
            cnf_x5t_s256=cnf or holder.thumbprint,
            act_sub=act_sub,
            pdi=pdi,
        )

    # -- clients ------------------------------------------------------------------------------

    def client_ctx(self, peer: Peer, ca: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca or self.ca.cert))
        ctx.load_cert_chain(str(peer.chain), str(peer.key))
        return ctx

    def client(self, peer: Peer) -> httpx.Client:
        return httpx.Client(verify=self.client_ctx(peer), timeout=10.0)

    # -- processes ----------------------------------------------------------------------------

    def start_service(self, name: str = "basisregister") -> tuple[str, Path, Proc]:
        port = free_port()
        record = self.root / f"service-{name}-{port}.jsonl"
        record.touch()
        proc = self.procs.spawn(
            f"service {name}",
            [
                "-m",
                "nds.digilab.sample_service",
                "--listen",
                f"127.0.0.1:{port}",
                "--name",
                name,
                "--record",
                str(record),
            ],
            self.root / f"service-{name}.log",
        )
        wait_tcp("127.0.0.1", port, proc)
        return f"http://127.0.0.1:{port}", record, proc

    def start_inway(
        self,
        services: dict[str, str],
        *,
        txlog_url: str | None = None,
        port: int = 443,
        workers: int = 1,
        peer: Peer | None = None,
    ) -> tuple[str, Proc, str]:
        peer = peer or self.provider
        txlog_url = txlog_url or f"sqlite:///{self.root / ('txlog-' + peer.peer_id + '.db')}"
        health = free_port()
        cfg = self.root / f"inway-{peer.peer_id}-{port}.toml"
        lines = [
            f"group_rules = {toml_value(self.rules_path)}",
            f"certificate = {toml_value(peer.chain)}",
            f"key = {toml_value(peer.key)}",
            f'listen = "{peer.host}:{port}"',
            f'address = "https://{peer.host}:{port}"',
            f"token_signing_certificates = [{toml_value(peer.cert)}]",
            f"txlog_url = {toml_value(txlog_url)}",
            f"workers = {workers}",
            f'health_listen = "127.0.0.1:{health}"',
        ]
        for name, endpoint in services.items():
            lines += [f"[services.{name}]", f"endpoint = {toml_value(endpoint)}"]
        cfg.write_text("\n".join(lines) + "\n")
        proc = self.procs.spawn(
            f"inway {peer.name}",
            ["-m", "nds", "fsc", "inway", "--config", str(cfg)],
            self.root / f"inway-{peer.peer_id}-{port}.log",
        )
        wait_http(f"http://127.0.0.1:{health}/healthz", proc)
        return f"https://{peer.host}:{port}", proc, txlog_url

    def start_outway(
        self,
        peer: Peer,
        grants: dict[str, str],
        *,
        txlog_url: str | None = None,
        workers: int = 1,
        extra: str = "",
    ) -> tuple[str, Proc, str]:
        txlog_url = txlog_url or f"sqlite:///{self.root / ('txlog-' + peer.peer_id + '.db')}"
        port, health = free_port(), free_port()
        cfg = self.root / f"outway-{peer.peer_id}-{port}.toml"
        lines = [
            f"group_rules = {toml_value(self.rules_path)}",
            f"certificate = {toml_value(peer.chain)}",
            f"key = {toml_value(peer.key)}",
            f'listen = "127.0.0.1:{port}"',
            f"txlog_url = {toml_value(txlog_url)}",
            f"workers = {workers}",
            f'health_listen = "127.0.0.1:{health}"',
            extra,
        ]
        for gh, manager in grants.items():
            lines += [f"[grants.{json.dumps(gh)}]", f"manager_address = {toml_value(manager)}"]
        cfg.write_text("\n".join(lines) + "\n")
        proc = self.procs.spawn(
            f"outway {peer.name}",
            ["-m", "nds", "fsc", "outway", "--config", str(cfg)],
            self.root / f"outway-{peer.peer_id}-{port}.log",
        )
        wait_http(f"http://127.0.0.1:{health}/healthz", proc)
        return f"http://127.0.0.1:{port}", proc, txlog_url


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_fsc_error(resp: httpx.Response, status: int, code: str, domain: str) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("Fsc-Error-Code") == code, resp.headers
    body = resp.json()
    assert body["code"] == code and body["domain"] == domain and isinstance(body["message"], str), body
    assert body["message"]
    return dict(body)
