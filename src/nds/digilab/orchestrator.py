"""``nds digilab up/down``: a federation of separate organisations on loopback.

Each organisation is a Peer with its own loopback address (127.0.1.N), its own certificate from the
DigiLab's group CA and its own processes: a Manager (FSC port 8443, admin API on 9443), an Inway on
port 443 with a sample service behind it (providers), an Outway (consumers). The orchestrator
registers inways and services, publishes each service in the Directory and sets up the connection
contracts, each accepted by every peer on it through that peer's own admin API, then writes
``DIR/digilab.json`` (see docs/digilab.md) with everything a client needs.

``down`` stops exactly the process groups recorded in digilab.json, after checking each pid still
runs a command for this state directory.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nds.digilab import fds
from nds.digilab.model import SOURCES, ConnectionSpec, FederationSpec, OrgSpec, Ports, default_federation
from nds.digilab.procs import DigiLabError, Started, is_ours, spawn, stop, wait_healthy, wait_tcp
from nds.fsc.localgroup import LocalGroup, PeerRuntime, PeerSpec, host_is_free
from nds.pki import load_certificate, public_key_thumbprint

STATE_FILE = "digilab.json"
FORMAT_VERSION = 1
CONTRACT_DAYS = 365


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(str(v))


def _write_toml(path: Path, top: dict[str, Any], tables: dict[str, dict[str, Any]]) -> Path:
    lines = [f"{k} = {_toml(v)}" for k, v in top.items() if v is not None]
    for name, values in tables.items():
        lines.append(f"\n[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_state(state: Path) -> dict[str, Any] | None:
    p = state / STATE_FILE
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DigiLabError(f"{p} is not readable JSON: {exc}") from None
    return data if isinstance(data, dict) else None


def running_pids(state: Path) -> list[int]:
    data = load_state(state)
    if not data:
        return []
    return [int(p["pid"]) for p in data.get("processes", []) if is_ours(int(p["pid"]), state)]


@dataclass
class DigiLab:
    state: Path
    spec: FederationSpec = field(default_factory=default_federation)
    token_lifetime: int = 300
    clock_skew: int = 30
    workers: int = 1
    ports: Ports = field(default_factory=Ports)
    timeout: float = 60.0
    host_prefix: str = "127.0.1."  # each organisation gets <prefix>N
    persons: int = 5000  # synthetic persons in the FDS registers (nds.digilab.fds)
    logboek_urls: dict[str, str] = field(default_factory=dict)  # org key -> LDV database (default SQLite)
    started: list[Started] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = Path(self.state).resolve()
        self.orgs = {o.key: o for o in self.spec.organisations}
        self.apps = fds.OrgApps(self)  # the FDS organisations' application processes

    # -- helpers ---------------------------------------------------------------------------

    def _admin(self, peer: PeerRuntime, method: str, path: str, **kw: Any) -> httpx.Response:
        r = httpx.request(
            method,
            f"{peer.admin_url}/v1{path}",
            timeout=20.0,
            headers={"Authorization": f"Bearer {peer.admin_token}"},
            **kw,
        )
        if r.status_code >= 400:
            raise DigiLabError(
                f"{peer.spec.name}: admin {method} {path} failed: HTTP {r.status_code} {r.text[:300]}"
            )
        return r

    def _peer(self, key: str) -> PeerRuntime:
        return self.group[self.orgs[key].name]

    def _contracts(self, peer: PeerRuntime) -> list[dict[str, Any]]:
        return list(self._admin(peer, "GET", "/contracts").json()["contracts"])

    def _wait_contract(
        self, peer: PeerRuntime, content_hash: str, state: str | None = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for c in self._contracts(peer):
                if c["content_hash"] == content_hash and (state is None or c["state"] == state):
                    return c
            time.sleep(0.1)
        want = f" in state {state}" if state else ""
        raise DigiLabError(f"contract {content_hash[:20]}… did not reach {peer.spec.name}{want} in time")

    # -- up --------------------------------------------------------------------------------

    def _hosts(self, previous: dict[str, Any] | None) -> dict[str, str]:
        if previous:
            hosts = {o["slug"]: o["host"] for o in previous.get("organisations", [])}
            if previous.get("directory", {}).get("host"):
                hosts["directory"] = previous["directory"]["host"]
            if all(k in hosts for k in [*self.orgs, "directory"]):
                return hosts
        ports = (
            8443,
            9443,
            self.ports.inway,
            self.ports.inway_health,
            self.ports.outway,
            self.ports.outway_health,
            self.ports.service,
        )
        free: list[str] = []
        for k in range(2, 255):
            host = f"{self.host_prefix}{k}"
            if all(host_is_free(host, p) for p in ports):
                free.append(host)
                if len(free) == len(self.orgs) + 1:
                    return dict(zip(["directory", *self.orgs], free, strict=True))
        raise DigiLabError(f"not enough free loopback addresses under {self.host_prefix}*")

    def up(self) -> dict[str, Any]:
        self.state.mkdir(parents=True, exist_ok=True)
        if running_pids(self.state):
            raise DigiLabError(
                f"a DigiLab is already running from {self.state}; run 'nds digilab down' first"
            )
        previous = load_state(self.state)
        hosts = self._hosts(previous)
        directory = PeerSpec(
            self.spec.directory_name, peer_id=self.spec.directory_peer_id, host=hosts["directory"]
        )
        peers = [PeerSpec(o.name, peer_id=o.peer_id, host=hosts[o.key]) for o in self.spec.organisations]
        self.group = LocalGroup(
            self.state,
            peers,
            group_id=self.spec.group_id,
            directory=directory,
            rules_overrides={"token_lifetime_seconds": self.token_lifetime},
        )
        try:
            self.group.setup()
            self.group.start(timeout=self.timeout)
            for p in self.group.peers.values():
                assert p.process is not None
                self.started.append(
                    Started(f"manager {p.spec.name}", "manager", p.process.pid, p.log, p.process)
                )
            self._write(hosts, [], [])  # record pids early: 'down' works even if a later step fails
            services = self._start_providers()
            grants = self._contracts_for_connections()
            self._publish(services)
            self._start_outways(grants)
            self.apps.start_consumers(grants)
            return self._write(hosts, services, grants)
        except BaseException:
            self.down_started()
            raise

    def _start_providers(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for org in self.spec.organisations:
            if not org.services:
                continue
            peer = self._peer(org.key)
            host = peer.spec.host
            inway_address = f"https://{host}:{self.ports.inway}"
            known = {i["name"]: i["address"] for i in self._admin(peer, "GET", "/inways").json()["inways"]}
            if known.get("main") != inway_address:  # re-registering an unchanged inway is not needed
                self._admin(peer, "PUT", "/inways/main", json={"address": inway_address})
            svc_tables: dict[str, dict[str, Any]] = {}
            for i, svc in enumerate(org.services):
                port = self.ports.service + i
                endpoint = f"http://{host}:{port}"
                if svc.source.startswith("org:"):  # one FDS application process serves all its services
                    port = self.ports.service
                    endpoint = f"http://{host}:{port}"
                    self.apps.start(org, peer, inway_address)
                else:
                    argv = SOURCES[svc.source](
                        svc.name, host, port, peer.dir / f"service-{svc.name}.calls.jsonl"
                    )
                    st = spawn(f"service {svc.name}", "service", argv, peer.dir / f"service-{svc.name}.log")
                    self.started.append(st)
                    wait_tcp(host, port, st, self.state, self.timeout)
                self._admin(
                    peer, "PUT", f"/services/{svc.name}", json={"inway": "main", "endpoint_url": endpoint}
                )
                svc_tables[f"services.{svc.name}"] = {"endpoint": endpoint}
                out.append(
                    {
                        "name": svc.name,
                        "provider_peer_id": org.peer_id,
                        "provider": org.key,
                        "inway_address": inway_address,
                        "endpoint": endpoint,
                    }
                )
            cfg = _write_toml(
                peer.dir / "inway.toml",
                {
                    "group_rules": self.group.rules_path,
                    "certificate": peer.chain,
                    "key": peer.key,
                    "listen": f"{host}:{self.ports.inway}",
                    "address": inway_address,
                    "token_signing_certificates": [str(peer.cert)],
                    "txlog_url": f"sqlite:///{peer.dir / 'txlog.db'}",
                    "workers": self.workers,
                    "health_listen": f"{host}:{self.ports.inway_health}",
                },
                svc_tables,
            )
            st = spawn(
                f"inway {org.name}",
                "inway",
                [sys.executable, "-m", "nds", "fsc", "inway", "--config", str(cfg)],
                peer.dir / "inway.log",
            )
            self.started.append(st)
            wait_healthy(f"http://{host}:{self.ports.inway_health}/healthz", st, self.state, self.timeout)
        return out

    def _content(self, grant: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iv": str(uuid.uuid4()),
            "group_id": self.spec.group_id,
            "validity": {"not_before": now - 60, "not_after": now + CONTRACT_DAYS * 86400},
            "grants": [{"data": grant}],
            "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
            "created_at": now - 1,
        }

    def _publish(self, services: list[dict[str, Any]]) -> None:
        directory = self.group.directory
        for svc in services:
            peer = self._peer(svc["provider"])
            existing = [
                c for c in self._contracts(peer) if c["state"] == "valid" and _is_publication(c, svc["name"])
            ]
            if existing:
                continue
            grant = {
                "type": "GRANT_TYPE_SERVICE_PUBLICATION",
                "directory": {"peer_id": directory.peer_id},
                "service": {
                    "peer_id": svc["provider_peer_id"],
                    "name": svc["name"],
                    "protocol": "PROTOCOL_TCP_HTTP_1.1",
                },
            }
            r = self._admin(peer, "POST", "/contracts", json={"contract_content": self._content(grant)})
            self._wait_contract(peer, r.json()["content_hash"], "valid")  # the Directory signs by itself

    def _connection_grant(self, conn: ConnectionSpec) -> dict[str, Any]:
        consumer, provider = self.orgs[conn.consumer], self.orgs[conn.provider]
        thumb = public_key_thumbprint(load_certificate(self._peer(conn.consumer).cert))
        grant: dict[str, Any] = {
            "type": "GRANT_TYPE_SERVICE_CONNECTION",
            "outway": {"peer_id": consumer.peer_id, "public_key_thumbprint": thumb},
            "service": {"type": "SERVICE_TYPE_SERVICE", "peer_id": provider.peer_id, "name": conn.service},
        }
        if conn.on_behalf_of:
            grant["type"] = "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION"
            grant["delegator"] = {"peer_id": self.orgs[conn.on_behalf_of].peer_id}
        return grant

    def _contracts_for_connections(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for conn in self.spec.connections:
            provider = self._peer(conn.provider)
            grant = self._connection_grant(conn)
            found = next(
                (
                    c
                    for c in self._contracts(provider)
                    if c["state"] == "valid" and [g["data"] for g in c["content"]["grants"]] == [grant]
                ),
                None,
            )
            if found is None:
                signers = [conn.consumer] + ([conn.on_behalf_of] if conn.on_behalf_of else [])
                found = self.make_contract(conn.provider, grant, signers)
            out.append(
                {
                    "hash": found["grant_hashes"][0],
                    "type": grant["type"],
                    "contract_hash": found["content_hash"],
                    "service": conn.service,
                    "provider_peer_id": self.orgs[conn.provider].peer_id,
                    "consumer_peer_id": self.orgs[conn.consumer].peer_id,
                    "consumer": conn.consumer,
                    "delegator_peer_id": self.orgs[conn.on_behalf_of].peer_id if conn.on_behalf_of else None,
                    "manager_address": provider.address,
                }
            )
        return out

    def make_contract(self, proposer: str, grant: dict[str, Any], signers: list[str]) -> dict[str, Any]:
        """Propose (and accept) a one-grant contract at ``proposer``; every peer in ``signers`` accepts it
        through its own admin API; returns the contract as the proposer sees it once valid."""
        peer = self._peer(proposer)
        r = self._admin(peer, "POST", "/contracts", json={"contract_content": self._content(grant)})
        content_hash = r.json()["content_hash"]
        for key in signers:
            other = self._peer(key)
            self._wait_contract(other, content_hash)
            self._admin(other, "POST", f"/contracts/{content_hash}/accept")
        return self._wait_contract(peer, content_hash, "valid")

    def _start_outways(self, grants: list[dict[str, Any]]) -> None:
        for org in self.spec.organisations:
            if not org.outway:
                continue
            peer = self._peer(org.key)
            host = peer.spec.host
            mine = {
                g["hash"]: {"manager_address": g["manager_address"], "service_name": g["service"]}
                for g in grants
                if g["consumer"] == org.key
            }
            grants_file = peer.dir / "outway-grants.json"
            tmp = grants_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(mine, indent=2), encoding="utf-8")
            tmp.replace(grants_file)
            cfg = _write_toml(
                peer.dir / "outway.toml",
                {
                    "group_rules": self.group.rules_path,
                    "certificate": peer.chain,
                    "key": peer.key,
                    "listen": f"{host}:{self.ports.outway}",
                    "txlog_url": f"sqlite:///{peer.dir / 'txlog.db'}",
                    "workers": self.workers,
                    "health_listen": f"{host}:{self.ports.outway_health}",
                    # The grants set up now, pinned in a file (tests add grants there the Manager would
                    # not list, to see the provider refuse them); contracts signed later are learned
                    # from the organisation's own Manager (docs/fsc/dataplane.md, Outway).
                    "grants_file": grants_file,
                    "manager_address": peer.address,
                },
                {},
            )
            st = spawn(
                f"outway {org.name}",
                "outway",
                [sys.executable, "-m", "nds", "fsc", "outway", "--config", str(cfg)],
                peer.dir / "outway.log",
            )
            self.started.append(st)
            wait_healthy(f"http://{host}:{self.ports.outway_health}/healthz", st, self.state, self.timeout)

    def _org_json(self, org: OrgSpec | None, peer: PeerRuntime, key: str) -> dict[str, Any]:
        host = peer.spec.host
        has_inway = bool(org and org.services)
        has_outway = bool(org and org.outway)
        return {
            "slug": key,
            "peer_id": peer.peer_id,
            "name": peer.spec.name,
            "host": host,
            "roles": (["directory"] if org is None else [])
            + (["provider"] if has_inway else [])
            + (["consumer"] if has_outway else []),
            "manager_address": peer.address,
            "admin_url": peer.admin_url,
            "admin_token_file": str(peer.dir / "admin-token"),
            "inway_address": f"https://{host}:{self.ports.inway}" if has_inway else None,
            "outway_address": f"http://{host}:{self.ports.outway}" if has_outway else None,
            "certificate": str(peer.cert),
            "certificate_chain": str(peer.chain),
            "key": str(peer.key),
            "transaction_log": f"sqlite:///{peer.dir / 'txlog.db'}",
        }

    def _write(
        self, hosts: dict[str, str], services: list[dict[str, Any]], grants: list[dict[str, Any]]
    ) -> dict:
        rules = self.group.rules()
        data = {
            "format": FORMAT_VERSION,
            "group_id": self.spec.group_id,
            "group_rules": str(self.group.rules_path),
            "trust_anchor": str(rules.trust_anchors[0]),
            "ca_dir": "ca",
            "token_lifetime_seconds": rules.token_lifetime_seconds,
            "directory": self._org_json(None, self.group.directory, "directory"),
            "organisations": [self._org_json(o, self._peer(o.key), o.key) for o in self.spec.organisations],
            "services": services,
            "grants": grants,
            "processes": [s.to_json() for s in self.started],
        }
        if fds.is_fds(self.spec):
            data = fds.extend_state(
                data,
                grants,
                self.apps.addresses,
                fds.ensure_digid_keys(self.state),
                self.persons,
                self.logboek_urls,
            )
        p = self.state / STATE_FILE
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(p)
        return data

    # -- for tests and tools -----------------------------------------------------------------

    def process(self, name: str) -> Started:
        return next(s for s in self.started if s.name == name)

    def kill(self, name: str, sig: int = 15) -> None:
        """Stop one component (its process group) and wait for it."""
        st = self.process(name)
        stop([st.pid], self.state) if sig == 15 else os.killpg(st.pid, sig)
        if st.popen is not None:
            st.popen.wait(timeout=15)

    def respawn(self, name: str, health_url: str | None = None) -> Started:
        """Start a stopped component again with the same command line."""
        old = self.process(name)
        assert old.argv is not None
        new = spawn(old.name, old.kind, old.argv, old.log)
        self.started[self.started.index(old)] = new
        if health_url:
            wait_healthy(health_url, new, self.state, self.timeout)
        return new

    def admin(self, key: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return self._admin(self._peer(key), method, path, **kw)

    def peer(self, key: str) -> PeerRuntime:
        return self._peer(key)

    def down_started(self) -> list[int]:
        return stop([s.pid for s in self.started], self.state)


def _is_publication(contract: dict[str, Any], service: str) -> bool:
    grants = contract["content"]["grants"]
    return any(
        g["data"]["type"] == "GRANT_TYPE_SERVICE_PUBLICATION" and g["data"]["service"]["name"] == service
        for g in grants
    )


def down(state: Path) -> list[dict[str, Any]]:
    """Stop exactly the processes recorded in ``state``/digilab.json; returns those that were stopped."""
    state = Path(state).resolve()
    data = load_state(state)
    if data is None:
        raise DigiLabError(f"no DigiLab state in {state} ({STATE_FILE} not found)")
    procs = data.get("processes", [])
    stopped = set(stop([int(p["pid"]) for p in procs], state))
    return [p for p in procs if int(p["pid"]) in stopped]
