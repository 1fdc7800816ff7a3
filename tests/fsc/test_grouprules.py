"""Group rules: loading the TOML file, validation with clear errors, writing it back."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nds.fsc.grouprules import (
    NCSC_GOOD_TLS12_CIPHERS,
    NCSC_GOOD_TLS13_CIPHERS,
    GroupRules,
    GroupRulesError,
    dump_group_rules,
    load_group_rules,
    parse_group_rules,
)
from nds.pki import create_group_ca, publish_crl

pytestmark = pytest.mark.unit

DIRECTORY = "00000001000000000099"


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    create_group_ca(tmp_path / "ca", "Rules test")
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = 'group_id = "fsc-demo"\ntrust_anchors = ["ca/ca.pem"]\n'


def test_minimal_file_gets_documented_defaults(ca_dir: Path) -> None:
    rules = load_group_rules(_write(ca_dir / "group.toml", MINIMAL))
    assert rules.group_id == "fsc-demo"
    assert rules.trust_anchors == [(ca_dir / "ca" / "ca.pem").resolve()]
    assert rules.fsc_version == "1.1"
    assert (rules.peer_id_field, rules.peer_name_field) == ("serialNumber", "O")
    assert rules.peer_id_pattern == "^[0-9]{20}$"
    assert (rules.tls.min_version, rules.tls.max_version) == ("1.2", "1.3")
    assert rules.tls.tls12_ciphers == list(NCSC_GOOD_TLS12_CIPHERS)
    assert rules.tls.tls13_ciphers == list(NCSC_GOOD_TLS13_CIPHERS)
    assert (rules.ports.manager, rules.ports.inway) == (8443, 443)
    assert rules.transaction_id_format == "uuidv7"
    assert rules.token_lifetime_seconds == 300
    assert rules.clock_skew_seconds == 30
    assert rules.check_crl is False and rules.directories == []
    assert rules.membership_administrator_peer_id is None
    assert len(rules.load_trust_anchors()) == 1


def test_every_field_has_help_text() -> None:
    from nds.fsc.grouprules import DirectoryPeer, Ports, TlsRules

    for model in (GroupRules, TlsRules, Ports, DirectoryPeer):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"


def test_full_file(ca_dir: Path) -> None:
    crl = publish_crl(create_group_ca(ca_dir / "ca2", "x"), [], ca_dir / "crl" / "group.crl")
    text = f"""
group_id = "nl.fds.digilab"
fsc_version = "draft"
trust_anchors = ["ca/ca.pem", "ca2/ca.pem"]
token_lifetime_seconds = 120
clock_skew_seconds = 5
signature_retry_schedule = [2, 10]
check_crl = true
crl_paths = ["crl/group.crl"]
membership_administrator_peer_id = "{DIRECTORY}"
regulated_area_name = "zorg"

[tls]
min_version = "1.3"
tls12_ciphers = []
tls13_ciphers = ["TLS_AES_256_GCM_SHA384"]

[ports]
manager = 18443
inway = 10443

[[directories]]
peer_id = "{DIRECTORY}"
manager_address = "https://directory.digilab.test:8443"
"""
    rules = load_group_rules(_write(ca_dir / "group.toml", text))
    assert rules.fsc_version == "draft" and len(rules.load_trust_anchors()) == 2
    assert rules.crl_paths == [crl.resolve()] and len(rules.load_crls()) == 1
    assert rules.tls.min_version == "1.3" and rules.ports.manager == 18443
    assert rules.directories[0].manager_address == "https://directory.digilab.test:8443"
    assert [rules.retry_delay(i) for i in range(4)] == [2, 10, 10, 10]
    assert rules.is_valid_peer_id(DIRECTORY) and not rules.is_valid_peer_id("123")
    assert rules.subject_oid("peer_id") == "2.5.4.5" and rules.subject_oid("peer_name") == "2.5.4.10"


def test_dump_and_load_round_trip(ca_dir: Path, tmp_path: Path) -> None:
    rules = parse_group_rules({
        "group_id": "a/b.c_d-e", "trust_anchors": ["ca/ca.pem"],
        "directories": [{"peer_id": DIRECTORY, "manager_address": "https://dir.test:443"}],
        "membership_administrator_peer_id": DIRECTORY, "tls": {"min_version": "1.3"},
        "peer_name_field": "2.5.4.3",
    }, ca_dir)
    out = tmp_path / "elsewhere" / "rules.toml"
    dump_group_rules(rules, out)
    text = out.read_text(encoding="utf-8")
    assert "# The Group ID" in text  # annotated
    assert '"../ca/ca.pem"' in text  # relative to the new file
    assert tomllib.loads(text)["group_id"] == "a/b.c_d-e"
    assert load_group_rules(out) == rules


def test_dump_escapes_strings(ca_dir: Path) -> None:
    rules = parse_group_rules({"group_id": "g", "trust_anchors": ["ca/ca.pem"],
                               "peer_id_pattern": '^"[0-9]+\\\\\t$'}, ca_dir)
    dump_group_rules(rules, ca_dir / "r.toml")
    assert load_group_rules(ca_dir / "r.toml").peer_id_pattern == rules.peer_id_pattern


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('group_id = "has space"', "group_id"),
        ('group_id = "' + "x" * 101 + '"', "group_id"),
        ('fsc_version = "2.0"', "fsc_version"),
        ('peer_id_field = "shoeSize"', "unknown subject field"),
        ('peer_id_pattern = "["', "invalid regular expression"),
        ("token_lifetime_seconds = 0", "token_lifetime_seconds"),
        ("token_lifetime_seconds = 86400", "token_lifetime_seconds"),
        ("clock_skew_seconds = -1", "clock_skew_seconds"),
        ("signature_retry_schedule = []", "signature_retry_schedule"),
        ("signature_retry_schedule = [5, -1]", ">= 0"),
        ("check_crl = true", "crl_paths is empty"),
        ('transaction_id_format = "uuidv4"', "transaction_id_format"),
        ('membership_administrator_peer_id = "12"', "peer_id_pattern"),
        ("colour = 1", "colour"),
        ('[tls]\nmin_version = "1.1"', "tls.min_version"),
        ('[tls]\nmin_version = "1.3"\nmax_version = "1.2"', "higher than"),
        ('[tls]\ntls13_ciphers = ["TLS_NULL"]', "unknown TLS 1.3"),
        ("[tls]\ntls13_ciphers = []", "at least one"),
        ('[tls]\ntls12_ciphers = ["bad name"]', "OpenSSL cipher name"),
        ("[tls]\ntls12_ciphers = []", "tls12_ciphers is empty"),
        ("[ports]\nmanager = 70000", "ports.manager"),
        ('[[directories]]\npeer_id = "1"\nmanager_address = "https://d.test:8443"', "directory peer_id"),
        (f'[[directories]]\npeer_id = "{DIRECTORY}"\nmanager_address = "http://d.test"', "manager_address"),
        (f'[[directories]]\npeer_id = "{DIRECTORY}"\nmanager_address = "https://d.test:9000"', "443 or"),
    ],
)
def test_invalid_rules_give_clear_errors(ca_dir: Path, extra: str, message: str) -> None:
    if extra.startswith("group_id"):
        text = extra + '\ntrust_anchors = ["ca/ca.pem"]\n'
    else:
        top = 'group_id = "g"\ntrust_anchors = ["ca/ca.pem"]\n'
        text = top + extra + "\n"
    with pytest.raises(GroupRulesError, match="invalid group rules") as e:
        load_group_rules(_write(ca_dir / "group.toml", text))
    assert message in str(e.value)


def test_file_problems(ca_dir: Path) -> None:
    with pytest.raises(GroupRulesError, match="cannot read"):
        load_group_rules(ca_dir / "missing.toml")
    with pytest.raises(GroupRulesError, match="not valid TOML"):
        load_group_rules(_write(ca_dir / "bad.toml", "group_id = \n"))
    (ca_dir / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(GroupRulesError, match="UTF-8"):
        load_group_rules(ca_dir / "bin.toml")
    with pytest.raises(GroupRulesError, match="trust anchor file not found"):
        load_group_rules(_write(ca_dir / "g.toml", 'group_id = "g"\ntrust_anchors = ["nope.pem"]\n'))
    with pytest.raises(GroupRulesError, match="trust_anchors"):
        load_group_rules(_write(ca_dir / "g.toml", 'group_id = "g"\ntrust_anchors = []\n'))
    with pytest.raises(GroupRulesError, match="group_id"):
        load_group_rules(_write(ca_dir / "g.toml", 'trust_anchors = ["ca/ca.pem"]\n'))


def test_rules_are_immutable(ca_dir: Path) -> None:
    rules = load_group_rules(_write(ca_dir / "group.toml", MINIMAL))
    with pytest.raises(ValueError):
        rules.group_id = "other"  # type: ignore[misc]



@settings(max_examples=150, deadline=None)
@given(text=st.text(min_size=1, max_size=40))
def test_writer_escapes_any_string(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    import re

    d = tmp_path_factory.mktemp("esc")
    create_group_ca(d / "ca", "x")
    rules = parse_group_rules({"group_id": "g", "trust_anchors": ["ca/ca.pem"],
                               "peer_id_pattern": re.escape(text)}, d)
    dump_group_rules(rules, d / "r.toml")
    assert load_group_rules(d / "r.toml").peer_id_pattern == re.escape(text)
