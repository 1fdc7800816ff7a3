"""The Outway's grant sources: precedence, parsing the own Manager's answer, configuration, and an
Outway process whose Manager is down when it starts (real process, real sockets)."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fscdp_harness import MiniGroup, assert_fsc_error, free_port

from nds.fsc.grouprules import load_group_rules
from nds.fsc.outway.config import GrantConfig, load_outway_config
from nds.fsc.outway.grants import GrantBook, ManagerGrants

OUTWAY = "ERROR_DOMAIN_OUTWAY"
A = GrantConfig(manager_address="https://127.0.0.1:8443", service_name="a")
B = GrantConfig(manager_address="https://127.0.0.2:8443", service_name="b")
C = GrantConfig(manager_address="https://127.0.0.3:8443", service_name="c")


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniGroup]:
    g = MiniGroup(tmp_path_factory.mktemp("sources"))
    try:
        yield g
    finally:
        g.procs.stop_all()


def manager_source(group: MiniGroup) -> ManagerGrants:
    rules = load_group_rules(group.rules_path)
    return ManagerGrants(
        "https://127.0.0.1:8443", ssl.create_default_context(), rules, group.consumer.peer_id
    )


@pytest.mark.unit
def test_parse_keeps_good_entries_and_skips_malformed_ones() -> None:
    good = {"grant_hash": "$1$3$good", "service": {"name": "svc", "manager_address": "https://h:8443/"}}
    body = {
        "grants": [
            good,
            {"grant_hash": "$1$3$plain-http", "service": {"manager_address": "http://h:8443"}},
            {"grant_hash": "", "service": {"manager_address": "https://h:8443"}},
            {"service": {"manager_address": "https://h:8443"}},
            {"grant_hash": "$1$3$no-service"},
            "not an object",
        ]
    }
    parsed = ManagerGrants._parse(json.dumps(body).encode())
    assert parsed == {"$1$3$good": GrantConfig(manager_address="https://h:8443", service_name="svc")}
    for bad in (b"[]", b"{}", b'{"grants": {}}', b"not json", b"\xff"):
        with pytest.raises(ValueError):
            ManagerGrants._parse(bad)


class CountingPath(type(Path())):  # type: ignore[misc]
    """A path that counts stat() calls (the grants file's cost per lookup)."""

    stats = 0

    def stat(self, *args: Any, **kwargs: Any) -> Any:
        CountingPath.stats += 1
        return super().stat(*args, **kwargs)


@pytest.mark.unit
def test_a_grant_from_the_manager_costs_no_file_check_per_request(group: MiniGroup, tmp_path: Path) -> None:
    """The grants file is looked at again at once only when no source knows the hash; a grant the
    Manager lists is found without a stat() per request (the file is re-checked at most twice a second)."""
    path = CountingPath(tmp_path / "grants.json")
    path.write_text(json.dumps({"$1$3$b": B.model_dump()}))
    mg = manager_source(group)
    mg.grants = {"$1$3$c": C}
    book = GrantBook({}, path, mg)
    assert book.get("$1$3$b") == B
    CountingPath.stats = 0
    for _ in range(100):
        assert book.get("$1$3$c") == C
    assert CountingPath.stats <= 1  # at most the half-second re-check, not one per lookup
    assert book.get("$1$3$unknown") is None
    assert CountingPath.stats >= 1  # a true miss looks at the file at once


@pytest.mark.unit
def test_sources_in_order_and_a_manager_drop_leaves_pinned_grants(group: MiniGroup, tmp_path: Path) -> None:
    path = tmp_path / "grants.json"
    path.write_text(json.dumps({"$1$3$b": B.model_dump(), "$1$3$shared": B.model_dump()}))
    mg = manager_source(group)
    book = GrantBook({"$1$3$a": A, "$1$3$shared": A}, path, mg)
    mg.grants = {"$1$3$c": C, "$1$3$shared": C, "$1$3$b": C}
    assert book.get("$1$3$a") == A
    assert book.get("$1$3$b") == B  # the file before the Manager
    assert book.get("$1$3$c") == C
    assert book.get("$1$3$shared") == A  # the config before both
    mg.grants = {}  # the Manager no longer lists anything: only its own view shrinks
    assert book.get("$1$3$c") is None
    assert book.get("$1$3$b") == B and book.get("$1$3$shared") == A


@pytest.mark.unit
def test_manager_address_config(group: MiniGroup, tmp_path: Path) -> None:
    from nds.fsc.inway.common import ConfigError

    base = [
        f"group_rules = {json.dumps(str(group.rules_path))}",
        f"certificate = {json.dumps(str(group.consumer.chain))}",
        f"key = {json.dumps(str(group.consumer.key))}",
        'txlog_url = "sqlite:///tx.db"',
    ]
    cfg = tmp_path / "ok.toml"
    cfg.write_text("\n".join([*base, 'manager_address = "https://127.0.0.1:8443/"']) + "\n")
    loaded = load_outway_config(cfg)
    assert loaded.manager_address == "https://127.0.0.1:8443"
    assert loaded.manager_refresh_seconds == 5.0 and loaded.manager_miss_interval_seconds == 1.0
    bad = tmp_path / "bad.toml"
    bad.write_text("\n".join([*base, 'manager_address = "http://127.0.0.1:8443"']) + "\n")
    with pytest.raises(ConfigError, match="manager_address"):
        load_outway_config(bad)
    r = subprocess.run(
        [sys.executable, "-m", "nds", "fsc", "outway", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "manager_address" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.integration
def test_outway_starts_and_serves_its_pinned_grants_while_its_manager_is_down(group: MiniGroup) -> None:
    """Nothing listens at the configured Manager: the Outway still starts (the first fetch is bounded),
    serves its config grants, answers unknown hashes with 404 at once, and logs the problem once."""
    dead = f"https://127.0.0.1:{free_port()}"
    started = time.monotonic()
    url, proc, _ = group.start_outway(
        group.consumer,
        {"$1$3$pinned": f"https://{group.provider.host}:8443"},
        extra=f'manager_address = "{dead}"\nmanager_refresh_seconds = 0.5',
    )
    assert time.monotonic() - started < 15
    with httpx.Client(timeout=10) as http:
        for _ in range(20):
            r = http.get(url + "/x", headers={"Fsc-Grant-Hash": "$1$3$unknown"})
            assert_fsc_error(r, 404, "ERROR_CODE_GRANT_HASH_UNKNOWN", OUTWAY)
        # The pinned grant is still looked up (its provider Manager does not run here: 502, not 404).
        r = http.get(url + "/x", headers={"Fsc-Grant-Hash": "$1$3$pinned"})
        assert_fsc_error(r, 502, "ERROR_CODE_MANAGER_UNREACHABLE", OUTWAY)
    time.sleep(1.5)  # several refreshes at 0.5 s
    log = proc.log.read_text(errors="replace")
    assert log.count(f"own Manager {dead}") == 1, log
    assert "Traceback" not in log
