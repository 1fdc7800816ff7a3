"""Operational behaviour of the proxies: worker processes, PostgreSQL transaction log, Outway client TLS,
the Outway's own token checks, clear errors for bad configuration."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fscdp_harness import MiniGroup, assert_fsc_error

from nds.fsc.txlog import TransactionLog, new_transaction_id


@pytest.fixture
def group(tmp_path: Path) -> Iterator[MiniGroup]:
    g = MiniGroup(tmp_path / "g")
    try:
        yield g
    finally:
        g.procs.stop_all()


def children(pid: int) -> set[int]:
    out = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry.name))
    return out


@pytest.mark.integration
def test_inway_workers_share_the_port_and_are_restarted(group: MiniGroup) -> None:
    svc, _, _ = group.start_service()
    inway, proc, _ = group.start_inway({"basisregister": svc}, workers=2)
    deadline = time.monotonic() + 10
    while len(children(proc.popen.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children(proc.popen.pid)
    assert len(workers) == 2
    os.kill(next(iter(workers)), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = children(proc.popen.pid)
        if len(now) == 2 and now != workers:
            break
        time.sleep(0.05)
    assert len(children(proc.popen.pid)) == 2 and children(proc.popen.pid) != workers
    with group.client(group.consumer) as c:
        for _ in range(20):  # new connections are spread over both workers by the kernel
            r = c.get(
                inway + "/w",
                headers={
                    "Fsc-Authorization": group.mint(),
                    "Fsc-Transaction-Id": new_transaction_id(),
                    "Connection": "close",
                },
            )
            assert r.status_code == 200
    # SIGTERM to the parent stops the workers too
    group.procs.stop(proc)
    assert not children(proc.popen.pid)


@pytest.mark.integration
def test_workers_stop_when_their_supervisor_is_killed(group: MiniGroup) -> None:
    svc, _, _ = group.start_service()
    _, proc, _ = group.start_inway({"basisregister": svc}, workers=2)
    deadline = time.monotonic() + 10
    while len(children(proc.popen.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children(proc.popen.pid)
    assert len(workers) == 2
    os.kill(proc.popen.pid, signal.SIGKILL)  # the supervisor only, not its process group
    proc.popen.wait(timeout=10)

    def running(pid: int) -> bool:
        try:
            return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(running(w) for w in workers):
        time.sleep(0.1)
    assert not any(running(w) for w in workers)


@pytest.mark.integration
@pytest.mark.postgres
def test_inway_with_a_postgresql_transaction_log(group: MiniGroup, pg_url: str) -> None:
    svc, _, _ = group.start_service()
    inway, _, _ = group.start_inway({"basisregister": svc}, txlog_url=pg_url)
    txid = new_transaction_id()
    with group.client(group.consumer) as c:
        r = c.get(inway + "/pg", headers={"Fsc-Authorization": group.mint(), "Fsc-Transaction-Id": txid})
    assert r.status_code == 200
    log = TransactionLog(pg_url, create=False)
    try:
        [rec] = log.query_sync(group.consumer.peer_id, transaction_ids=[txid]).records
        assert rec.direction == "DIRECTION_INCOMING" and rec.service_name == "basisregister"
    finally:
        log.close()


@pytest.mark.integration
def test_outway_client_tls_requires_a_client_certificate(group: MiniGroup, tmp_path: Path) -> None:
    """With [client_tls] only local clients holding a certificate from client_ca may use the Outway."""
    from nds.pki.issue import create_group_ca, issue_peer_certificate

    local_ca = create_group_ca(tmp_path / "local-ca", "Lokale clients")
    server = issue_peer_certificate(
        local_ca,
        group.consumer.peer_id,
        "Outway lokaal",
        ["localhost"],
        tmp_path / "srv",
        ip_addresses=["127.0.0.1"],
    )
    app = issue_peer_certificate(
        local_ca, "00000001000000000099", "Applicatie", [], tmp_path / "app", ip_addresses=["127.0.0.1"]
    )
    extra = (
        f'[client_tls]\ncertificate = "{server.chain}"\nkey = "{server.key}"\nclient_ca = "{local_ca.cert}"\n'
    )
    url, _, _ = group.start_outway(group.consumer, {}, extra=extra)
    url = url.replace("http://", "https://")
    bare = ssl.create_default_context(cafile=str(local_ca.cert))
    with httpx.Client(verify=bare, timeout=5) as c, pytest.raises(httpx.TransportError):
        c.get(url + "/x")
    ok = ssl.create_default_context(cafile=str(local_ca.cert))
    ok.load_cert_chain(str(app.chain), str(app.key))
    with httpx.Client(verify=ok, timeout=5) as c:
        assert_fsc_error(c.get(url + "/x"), 400, "ERROR_CODE_GRANT_HASH_MISSING", "ERROR_DOMAIN_OUTWAY")


@pytest.mark.unit
def test_outway_token_checks() -> None:
    """The Outway refuses a token for another Group, another grant, a non-https aud, or already expired."""
    import asyncio

    from nds.fsc.outway.tokens import TokenCache, TokenUnavailable

    async def main() -> None:
        cache = TokenCache(None, peer_id="1", group_id="g", refresh_seconds=5)  # type: ignore[arg-type]
        good = {"gid": "g", "gth": "h", "aud": "https://127.0.1.3:443", "exp": int(time.time()) + 60}
        assert cache.check("t", good, "h").aud == "https://127.0.1.3:443"
        for bad, code in (
            ({"gid": "other"}, "ERROR_CODE_WRONG_GROUP_ID_IN_TOKEN"),
            ({"gth": "x"}, "ERROR_CODE_INVALID_ACCESS_TOKEN"),
            ({"aud": "http://127.0.1.3:443"}, "ERROR_CODE_INVALID_ACCESS_TOKEN"),
            ({"exp": int(time.time()) - 1}, "ERROR_CODE_INVALID_ACCESS_TOKEN"),
        ):
            with pytest.raises(TokenUnavailable) as exc:
                cache.check("t", {**good, **bad}, "h")
            assert exc.value.code == code and exc.value.status == 502

    asyncio.run(main())


@pytest.mark.integration
@pytest.mark.parametrize("component", ["inway", "outway"])
def test_bad_config_is_a_clear_error(tmp_path: Path, component: str) -> None:
    for text in ("not = [valid", 'listen = "127.0.0.1:1"\n'):
        cfg = tmp_path / f"{component}.toml"
        cfg.write_text(text)
        res = subprocess.run(
            [sys.executable, "-m", "nds", "fsc", component, "--config", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 2, res.stderr
        assert "config" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "nds", "fsc", component, "--config", str(tmp_path / "none.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "cannot read config" in res.stderr
