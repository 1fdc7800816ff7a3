"""The officers' admin API (NL API Design Rules, bearer token, loopback) and the ``nds fsc manager`` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mgr_support import CONSUMER, PROVIDER, SERVICE, Harness

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nds", "fsc", "manager", *args], capture_output=True, text=True, timeout=60
    )


def test_admin_api_requires_token_and_follows_api_rules(harness: Harness) -> None:
    p = harness.p(PROVIDER)
    r = httpx.get(f"{p.admin_url}/v1/contracts")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["API-Version"]
    r = httpx.get(f"{p.admin_url}/v1/contracts", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = httpx.get(f"{p.admin_url}/v1/openapi.json")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert "/contracts" in r.json()["paths"]
    r = harness.admin(
        PROVIDER, "PUT", "/services/bad name", {"inway": "inway-a", "endpoint_url": "http://x/"}
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    r = harness.admin(
        PROVIDER, "PUT", "/services/new-svc", {"inway": "no-such-inway", "endpoint_url": "http://x/"}
    )
    assert r.status_code == 400
    r = harness.admin(PROVIDER, "POST", "/contracts", {"contract_content": {"iv": 1}})
    assert r.status_code == 400 and r.json()["code"]
    r = harness.admin(PROVIDER, "POST", "/contracts/$1$1$nope/accept")
    assert r.status_code == 404


def test_admin_api_is_not_on_the_fsc_port(harness: Harness) -> None:
    p = harness.p(PROVIDER)
    assert not p.admin_url.endswith(":8443")
    r = harness.client(CONSUMER).get(f"{p.address}/v1/inways")
    assert r.status_code == 404


def test_cli_lists_contracts_and_registers_service(harness: Harness) -> None:
    h = harness
    if (h.backend, h.version) != ("sqlite", "1.1"):
        pytest.skip("the CLI is exercised once (it only talks to the admin API)")
    content = h.content(h.sc(CONSUMER))
    assert h.post_contract(CONSUMER, PROVIDER, content).status_code == 201
    r = _cli("--config", str(h.p(PROVIDER).config), "contracts")
    assert r.returncode == 0, r.stderr
    listed = {c["content_hash"]: c for c in json.loads(r.stdout)["contracts"]}
    assert listed[h.content_hash(content)]["state"] == "proposed"
    r = _cli("--config", str(h.p(PROVIDER).config), "sign", h.content_hash(content), "--type", "accept")
    assert r.returncode == 0, r.stderr
    r = _cli("--config", str(h.p(PROVIDER).config), "contracts")
    listed = {c["content_hash"]: c for c in json.loads(r.stdout)["contracts"]}
    assert listed[h.content_hash(content)]["state"] == "valid"
    r = _cli(
        "--config",
        str(h.p(PROVIDER).config),
        "service",
        SERVICE,
        "--inway",
        "inway-a",
        "--endpoint",
        "http://127.0.0.1:9/",
    )
    assert r.returncode == 0, r.stderr


def test_cli_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    r = _cli("--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "configuration file not found" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[manager]\naddress = 'http://x:80'\n")
    r = _cli("--config", str(bad))
    assert r.returncode == 2 and "invalid configuration" in r.stderr and "Traceback" not in r.stderr
    cfg = tmp_path / "ok.toml"
    cfg.write_text(
        f"[manager]\ngroup_rules = '{tmp_path}/none.toml'\ncertificate = 'c.pem'\n"
        "private_key = 'k.pem'\naddress = 'https://127.0.0.1:8443'\n"
    )
    r = _cli("--config", str(cfg))
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_manager_stops_when_its_admin_port_is_taken(tmp_path: Path) -> None:
    import socket

    from nds.fsc.localgroup import LocalGroup, PeerSpec, free_hosts

    host = free_hosts(1, "127.0.1.", 240, 8443, 9443)[0]
    blocker = socket.socket()
    blocker.bind((host, 9443))
    blocker.listen()
    try:
        group = LocalGroup(tmp_path / "g", [], directory=PeerSpec("Directory", host=host), host_start=240)
        group.setup()
        try:
            with pytest.raises(RuntimeError, match="exited with 1"):
                group.start(timeout=30)
            tail = group.tail(group.directory)
            assert "the admin API cannot listen" in tail and "Traceback" not in tail
        finally:
            group.stop()
    finally:
        blocker.close()
