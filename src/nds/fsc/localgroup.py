"""A small local FSC Group: a Directory plus N peer Managers as separate processes on loopback.

Each Peer gets its own loopback address (``127.0.1.N`` by default), so every Manager listens on the
FSC management port 8443 without port juggling, and its certificate carries that address as SAN.
Used by the tests (real processes over real mTLS) and by the DigiLab.

    group = LocalGroup(state_dir, peers=[PeerSpec("Gemeente A"), PeerSpec("Dienst B")])
    group.setup()          # CA, Group rules, certificates, Manager configs (idempotent)
    group.start()          # spawn, then wait until every Manager answers GET /v1/peer over mTLS
    ...
    group.stop()           # SIGTERM each process group, SIGKILL after a timeout
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from nds.fsc.grouprules import DirectoryPeer, GroupRules, Ports, dump_group_rules, load_group_rules
from nds.pki.issue import ca_files, create_group_ca, issue_peer_certificate

MANAGER_PORT = 8443
ADMIN_PORT = 9443  # admin API of each Manager, on the Peer's own loopback address


@dataclass
class PeerSpec:
    """One Peer of the local Group. Empty fields are filled in by :class:`LocalGroup`."""

    name: str
    peer_id: str = ""
    host: str = ""
    directory: bool = False
    membership_administrator: bool = False
    key_type: str = "ec-p256"
    database_url: str = ""
    admin_port: int = 0
    extra_config: dict[str, object] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.name.lower()).strip("-")


@dataclass
class PeerRuntime:
    spec: PeerSpec
    dir: Path
    config: Path
    address: str
    admin_url: str
    admin_token: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def peer_id(self) -> str:
        return self.spec.peer_id

    @property
    def cert(self) -> Path:
        return self.dir / "tls" / "cert.pem"

    @property
    def key(self) -> Path:
        return self.dir / "tls" / "key.pem"

    @property
    def chain(self) -> Path:
        return self.dir / "tls" / "chain.pem"

    @property
    def log(self) -> Path:
        return self.dir / "manager.log"


def host_is_free(host: str, port: int = MANAGER_PORT) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_hosts(
    n: int, prefix: str = "127.0.1.", start: int = 2, port: int = MANAGER_PORT, *more_ports: int
) -> list[str]:
    """``n`` loopback addresses ``prefix+k`` (k >= start) whose ``port`` (and ``more_ports``) are free now."""
    out: list[str] = []
    for k in range(start, 255):
        host = f"{prefix}{k}"
        if all(host_is_free(host, p) for p in (port, *more_ports)):
            out.append(host)
            if len(out) == n:
                return out
    raise RuntimeError(f"not enough free loopback addresses under {prefix}* for port {port}")


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        s = str(value).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(type(value).__name__)


class LocalGroup:
    """A Directory and peer Managers of one Group under ``state_dir``."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        peers: Sequence[PeerSpec],
        *,
        group_id: str = "nds-local",
        fsc_version: str = "1.1",
        directory: PeerSpec | None = None,
        host_prefix: str = "127.0.1.",
        host_start: int = 2,
        rules_overrides: dict[str, object] | None = None,
        python: str = sys.executable,
        port: int = MANAGER_PORT,
    ) -> None:
        self.state = Path(state_dir).resolve()
        self.group_id = group_id
        self.fsc_version = fsc_version
        dir_spec = directory or PeerSpec("Directory", directory=True)
        dir_spec.directory = True
        self.specs: list[PeerSpec] = [dir_spec, *peers]
        self.host_prefix = host_prefix
        self.host_start = host_start
        self.rules_overrides = dict(rules_overrides or {})
        self.python = python
        if port not in (443, 8443):
            raise ValueError("FSC Managers listen on port 443 or 8443")
        self.port = port
        self.peers: dict[str, PeerRuntime] = {}

    # -- layout ------------------------------------------------------------------------------

    @property
    def rules_path(self) -> Path:
        return self.state / "group.toml"

    @property
    def ca_dir(self) -> Path:
        return self.state / "ca"

    @property
    def directory(self) -> PeerRuntime:
        return next(p for p in self.peers.values() if p.spec.directory)

    def __getitem__(self, name: str) -> PeerRuntime:
        return self.peers[name]

    def rules(self) -> GroupRules:
        return load_group_rules(self.rules_path)

    def setup(self) -> None:
        """Create the CA, certificates, Group rules and Manager configs (kept when they exist)."""
        self.state.mkdir(parents=True, exist_ok=True)
        if not (self.ca_dir / "ca.pem").exists():
            create_group_ca(self.ca_dir, f"{self.group_id} CA")
        ca = ca_files(self.ca_dir)
        need = [s for s in self.specs if not s.host]
        hosts = (
            iter(free_hosts(len(need), self.host_prefix, self.host_start, self.port, ADMIN_PORT))
            if need
            else iter(())
        )
        for i, spec in enumerate(self.specs, start=1):
            if not spec.peer_id:
                spec.peer_id = f"{i:020d}"
            if not spec.host:
                spec.host = next(hosts)
            if not spec.admin_port:
                spec.admin_port = ADMIN_PORT
        dir_spec = self.specs[0]
        rules = GroupRules(
            group_id=self.group_id,
            fsc_version=self.fsc_version,  # type: ignore[arg-type]
            trust_anchors=[ca.cert],
            ports=Ports(manager=self.port),
            directories=[
                DirectoryPeer(
                    peer_id=dir_spec.peer_id, manager_address=f"https://{dir_spec.host}:{self.port}"
                )
            ],
            **self.rules_overrides,  # type: ignore[arg-type]
        )
        dump_group_rules(rules, self.rules_path)
        for spec in self.specs:
            pdir = self.state / "peers" / spec.slug
            tls = pdir / "tls"
            if not (tls / "cert.pem").exists():
                issue_peer_certificate(
                    ca, spec.peer_id, spec.name, [], tls, ip_addresses=[spec.host], key_type=spec.key_type
                )
            token_file = pdir / "admin-token"
            if not token_file.exists():
                pdir.mkdir(parents=True, exist_ok=True)
                token_file.write_text(secrets.token_urlsafe(32))
                token_file.chmod(0o600)
            address = f"https://{spec.host}:{self.port}"
            values: dict[str, object] = {
                "group_rules": self.rules_path,
                "certificate": tls / "chain.pem",
                "private_key": tls / "key.pem",
                "address": address,
                "listen_host": spec.host,
                "listen_port": self.port,
                "state_dir": pdir,
                "directory": spec.directory,
                "membership_administrator": spec.membership_administrator,
                "admin_host": spec.host,
                "admin_port": spec.admin_port,
                "admin_token_file": token_file,
            }
            if spec.database_url:
                values["database_url"] = spec.database_url
            values.update(spec.extra_config)
            lines = ["[manager]"] + [
                f"{k} = {_toml(v)}" for k, v in values.items() if not isinstance(v, dict)
            ]
            config = pdir / "manager.toml"
            config.write_text("\n".join(lines) + "\n")
            self.peers[spec.name] = PeerRuntime(
                spec=spec,
                dir=pdir,
                config=config,
                address=address,
                admin_url=f"http://{spec.host}:{spec.admin_port}",
                admin_token=token_file.read_text().strip(),
            )

    # -- processes ---------------------------------------------------------------------------

    def start(self, names: Sequence[str] | None = None, timeout: float = 30.0) -> None:
        todo = [self.peers[n] for n in (names or list(self.peers))]
        for p in todo:
            self._spawn(p)
        deadline = time.monotonic() + timeout
        for p in todo:
            self.wait_healthy(p, deadline)

    def _spawn(self, p: PeerRuntime) -> None:
        if p.process is not None and p.process.poll() is None:
            return
        log = open(p.log, "ab")  # noqa: SIM115 - handed to the child process
        try:
            p.process = subprocess.Popen(
                [self.python, "-m", "nds", "fsc", "manager", "--config", str(p.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends exactly that group
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            log.close()

    def client_context(self, name: str) -> ssl.SSLContext:
        """An mTLS client context with the certificate of Peer ``name`` (for tests and health checks)."""
        p = self.peers[name]
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_dir / "ca.pem"))
        ctx.load_cert_chain(str(p.chain), str(p.key))
        return ctx

    def client(self, name: str, **kwargs: object) -> httpx.Client:
        return httpx.Client(verify=self.client_context(name), timeout=10.0, **kwargs)  # type: ignore[arg-type]

    def wait_healthy(self, p: PeerRuntime, deadline: float) -> None:
        ctx = self.client_context(p.spec.name)
        last = ""
        while time.monotonic() < deadline:
            if p.process is not None and p.process.poll() is not None:
                raise RuntimeError(
                    f"manager {p.spec.name} exited with {p.process.returncode}:\n{self.tail(p)}"
                )
            try:
                r = httpx.get(f"{p.address}/v1/peer", verify=ctx, timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise RuntimeError(f"manager {p.spec.name} not healthy ({last}):\n{self.tail(p)}")

    def tail(self, p: PeerRuntime, lines: int = 30) -> str:
        try:
            return "\n".join(p.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, names: Sequence[str] | None = None, timeout: float = 10.0) -> None:
        todo = [self.peers[n] for n in (names or list(self.peers)) if n in self.peers]
        for p in todo:
            if p.process is not None and p.process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(p.process.pid, signal.SIGTERM)
        for p in todo:
            if p.process is None:
                continue
            try:
                p.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(p.process.pid, signal.SIGKILL)
                p.process.wait(timeout=5)
            p.process = None

    @contextmanager
    def running(self, timeout: float = 30.0) -> Iterator[LocalGroup]:
        self.setup()
        try:
            self.start(timeout=timeout)
            yield self
        finally:
            self.stop()
