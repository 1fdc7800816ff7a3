"""Unit tests of the Manager's pure helpers: config loading, address checks, JSON limits, cursors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nds.fsc.manager.config import ConfigError, load_config
from nds.fsc.manager.httputil import RequestError, json_depth_exceeds, normalize_manager_address, parse_json
from nds.fsc.manager.store import decode_cursor, encode_cursor, pack_chain, unpack_chain

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://manager.example.nl:8443", "https://manager.example.nl:8443"),
        ("https://127.0.1.2:443/", "https://127.0.1.2:443"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_manager_address_ok(value: str, expected: str) -> None:
    assert normalize_manager_address(value)[0] == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "http://m:8443",
        "https://m",
        "https://m:9443",
        "https://m:8443/v1",
        "https://u:p@m:8443",
        "https://m:8443?x=1",
        "https://:8443",
        "https://m:99999",
        "x" * 300,
    ],
)
def test_manager_address_refused(value: str | None) -> None:
    with pytest.raises(ValueError):
        normalize_manager_address(value)


def test_json_limits() -> None:
    assert not json_depth_exceeds(b'{"a":[[1]]}', 3)
    assert json_depth_exceeds(b'{"a":[[1]]}', 2)
    assert not json_depth_exceeds(b'{"a":"[[[[[[[[[[[["}', 2)  # brackets inside strings do not count
    assert not json_depth_exceeds(b'{"a":"\\"[[[[[["}', 2)
    with pytest.raises(RequestError):
        parse_json(b'{"a":1,"a":2}', 10)
    with pytest.raises(RequestError):
        parse_json(b'{"a":Infinity}', 10)
    with pytest.raises(RequestError):
        parse_json(b"[" * 50 + b"]" * 50, 10)
    assert parse_json(b'{"b":1,"a":2}', 10) == {"b": 1, "a": 2}
    assert list(parse_json(b'{"b":1,"a":2}', 10)) == ["b", "a"]  # member order kept


def test_cursor_and_chain_roundtrip() -> None:
    c = encode_cursor(1700000000, "$1$1$abc")
    assert decode_cursor(c, 2) == [1700000000, "$1$1$abc"]
    assert decode_cursor(c, 1) is None
    assert decode_cursor("%%%", 2) is None
    assert decode_cursor("bm90IGpzb24", 2) is None
    assert unpack_chain(pack_chain([b"one", b"", b"three"])) == [b"one", b"", b"three"]


def test_config_paths_resolve_relative_to_file(tmp_path: Path) -> None:
    cfg_file = tmp_path / "peer" / "manager.toml"
    cfg_file.parent.mkdir()
    cfg_file.write_text(
        "[manager]\ngroup_rules = '../group.toml'\ncertificate = 'tls/chain.pem'\n"
        "private_key = 'tls/key.pem'\n"
        "address = 'https://m.example:8443/'\nstate_dir = 'state'\nextra_jwks_certificates = ['old.pem']\n"
    )
    cfg = load_config(cfg_file)
    assert cfg.group_rules == tmp_path / "group.toml"
    assert cfg.certificate == cfg_file.parent / "tls" / "chain.pem"
    assert cfg.address == "https://m.example:8443"
    assert cfg.admin_token_file == cfg_file.parent / "state" / "admin-token"
    assert cfg.extra_jwks_certificates == [cfg_file.parent / "old.pem"]
    assert cfg.resolved_database_url().endswith("/peer/state/manager.db")


@pytest.mark.parametrize(
    "body",
    [
        "[manager]\nunknown = 1\n",
        "not toml [",
        "[manager]\naddress = 'https://m:8443'\n",
        "[manager]\ngroup_rules='g'\ncertificate='c'\nprivate_key='k'\naddress='https://m:8443'\nadmin_host='10.0.0.1'\n",
        "[manager]\ngroup_rules='g'\ncertificate='c'\nprivate_key='k'\naddress='https://m:8443'\nadmin_port=8443\n",
    ],
)
def test_config_errors(tmp_path: Path, body: str) -> None:
    f = tmp_path / "m.toml"
    f.write_text(body)
    with pytest.raises(ConfigError):
        load_config(f)


def test_reregistering_an_inway_with_services_keeps_them(db_url: str) -> None:
    """Registering an inway again (e.g. a new address) must not fail on its services' reference."""
    from nds.fsc.manager.store import Store

    store = Store(db_url)
    store.upsert_inway("main", "https://127.0.1.2:443")
    store.upsert_service("personen", "main", "http://127.0.1.2:9001", "PROTOCOL_TCP_HTTP_1.1")
    store.upsert_inway("main", "https://127.0.1.2:8443")
    assert store.list_inways() == [{"name": "main", "address": "https://127.0.1.2:8443"}]
    assert [s["name"] for s in store.list_services()] == ["personen"]
