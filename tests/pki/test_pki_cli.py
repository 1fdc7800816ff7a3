"""``nds pki``: the command line end to end (through the root app, as users run it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pki_helpers import OIN_A
from typer.testing import CliRunner

from nds.cli import app
from nds.pki import cert_thumbprint_s256, load_certificate, load_crl, public_key_thumbprint

pytestmark = pytest.mark.unit
runner = CliRunner()


def nds(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["pki", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def _field(out: str, name: str) -> str:
    m = re.search(rf"^{re.escape(name)}:\s+(.+)$", out, re.M)
    assert m, out
    return m.group(1).strip()


def test_init_issue_show_renew_rotate(tmp_path: Path) -> None:
    code, out, _ = nds("init", "--out", str(tmp_path / "ca"), "--name", "DigiLab")
    assert code == 0 and "ca.pem" in out
    code, out, err = nds("issue", "--ca", str(tmp_path / "ca"), "--peer-id", OIN_A, "--name", "Gemeente A",
                         "--host", "inway.a.test", "--host", "manager.a.test", "--ip", "127.0.1.2",
                         "--out", str(tmp_path / "a"))
    assert code == 0, err
    cert = load_certificate(tmp_path / "a" / "cert.pem")
    assert _field(out, "peer") == f"{OIN_A} (Gemeente A)"
    assert _field(out, "x5t#S256") == cert_thumbprint_s256(cert)
    assert _field(out, "public_key_thumbprint") == public_key_thumbprint(cert)
    assert _field(out, "names") == "inway.a.test, manager.a.test, 127.0.1.2"

    code, shown, _ = nds("show", str(tmp_path / "a" / "cert.pem"))
    assert code == 0 and _field(shown, "serial") == f"{cert.serial_number:x}"

    code, out, _ = nds("renew", str(tmp_path / "a"), "--ca", str(tmp_path / "ca"), "--days", "30")
    assert code == 0
    renewed = load_certificate(tmp_path / "a" / "cert.pem")
    assert renewed.serial_number != cert.serial_number
    assert public_key_thumbprint(renewed) == public_key_thumbprint(cert)

    code, out, _ = nds("rotate", str(tmp_path / "a"), "--ca", str(tmp_path / "ca"))
    assert code == 0 and "new contract" in out
    assert public_key_thumbprint(load_certificate(tmp_path / "a" / "cert.pem")) != public_key_thumbprint(cert)


def test_crl_accumulates_revocations(tmp_path: Path) -> None:
    nds("init", "--out", str(tmp_path / "ca"), "--name", "G")
    for d in ("a", "b"):
        nds("issue", "--ca", str(tmp_path / "ca"), "--peer-id", OIN_A, "--name", "A", "--host", f"{d}.test",
            "--out", str(tmp_path / d))
    a = load_certificate(tmp_path / "a" / "cert.pem")
    b = load_certificate(tmp_path / "b" / "cert.pem")
    code, out, _ = nds("crl", "--ca", str(tmp_path / "ca"), "--revoke", f"{a.serial_number:x}")
    assert code == 0 and "1 revoked" in out
    code, out, _ = nds("crl", "--ca", str(tmp_path / "ca"), "--revoke-cert", str(tmp_path / "b" / "cert.pem"))
    assert code == 0 and "2 revoked" in out
    crl = load_crl(tmp_path / "ca" / "crl.pem")
    assert {r.serial_number for r in crl} == {a.serial_number, b.serial_number}
    assert set(json.loads((tmp_path / "ca" / "revoked.json").read_text())) == {
        f"{a.serial_number:x}", f"{b.serial_number:x}"}


def test_state_dir_instead_of_ca(tmp_path: Path) -> None:
    state = tmp_path / "state"
    nds("init", "--out", str(state / "ca"), "--name", "DigiLab")
    code, _, err = nds("issue", "--state", str(state), "--peer-id", OIN_A, "--name", "A", "--host", "a.test",
                       "--out", str(tmp_path / "a"))
    assert code == 0, err
    # digilab.json may point elsewhere
    nds("init", "--out", str(state / "pki" / "group-ca"), "--name", "Moved")
    (state / "digilab.json").write_text(json.dumps({"ca_dir": "pki/group-ca"}))
    code, out, err = nds("issue", "--state", str(state), "--peer-id", OIN_A, "--name", "A",
                         "--host", "a.test", "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert "O=Moved" in _field(out, "issuer")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["issue", "--peer-id", "123", "--name", "A", "--host", "a.test", "--out", "{t}/x", "--ca", "{t}/ca"],
         "20 digits"),
        (["issue", "--peer-id", OIN_A, "--name", "A", "--host", "a.test", "--out", "{t}/x",
          "--ca", "{t}/none"], "no CA in"),
        (["issue", "--peer-id", OIN_A, "--name", "A", "--host", "a.test", "--out", "{t}/x"], "--ca DIR"),
        (["issue", "--peer-id", OIN_A, "--name", "A", "--host", "a.test", "--out", "{t}/x", "--ca", "{t}/ca",
          "--state", "{t}"], "not both"),
        (["issue", "--peer-id", OIN_A, "--name", "A", "--host", "a.test", "--out", "{t}/x", "--ca", "{t}/ca",
          "--key-type", "dsa"], "--key-type"),
        (["init", "--out", "{t}/ca", "--name", "again"], "already exists"),
        (["crl", "--ca", "{t}/ca", "--revoke", "xyz"], "not a serial number"),
        (["crl", "--ca", "{t}/ca", "--revoke", "0"], "not a serial number"),
        (["show", "{t}/nothing.pem"], "cannot read"),
        (["renew", "{t}/nothing", "--ca", "{t}/ca"], "cannot read"),
    ],
)
def test_errors_are_messages_not_tracebacks(tmp_path: Path, args: list[str], message: str) -> None:
    nds("init", "--out", str(tmp_path / "ca"), "--name", "G")
    code, out, err = nds(*[a.replace("{t}", str(tmp_path)) for a in args])
    assert code == 2
    assert message in err and "Traceback" not in err + out


def test_damaged_revocation_registry(tmp_path: Path) -> None:
    nds("init", "--out", str(tmp_path / "ca"), "--name", "G")
    (tmp_path / "ca" / "revoked.json").write_text("{not json")
    code, _, err = nds("crl", "--ca", str(tmp_path / "ca"), "--revoke", "0a")
    assert code == 2 and "damaged" in err
    assert (tmp_path / "ca" / "revoked.json").read_text() == "{not json"  # never overwritten


def test_verify_against_the_group(tmp_path: Path) -> None:
    from nds.pki import PeerSpec, create_dev_group, create_group_ca, issue_peer_certificate

    dev = create_dev_group(tmp_path / "g", "verify-test", [PeerSpec(OIN_A, "Gemeente A", ["a.test"])])
    code, out, err = nds("verify", str(dev.peers[OIN_A].chain), "--rules", str(dev.rules_path))
    assert code == 0, err
    assert f"valid: {OIN_A} (Gemeente A), chain of 2" in out
    code, out, err = nds("verify", str(dev.peers[OIN_A].cert), "--rules", str(dev.rules_path),
                         "--purpose", "server", "--hostname", "b.test")
    assert code == 1 and "INVALID" in err
    other = create_group_ca(tmp_path / "other", "Other")
    foreign = issue_peer_certificate(other, OIN_A, "Imposter", ["a.test"], tmp_path / "f")
    code, out, err = nds("verify", str(foreign.cert), "--rules", str(dev.rules_path))
    assert code == 1 and "trust anchor" in err and "Traceback" not in err


def test_group_rules_written_and_checked(tmp_path: Path) -> None:
    nds("init", "--out", str(tmp_path / "ca"), "--name", "G")
    out = tmp_path / "group.toml"
    code, _, err = nds("group-rules", "--out", str(out), "--group-id", "nl.test", "--anchor",
                       str(tmp_path / "ca" / "ca.pem"))
    assert code == 0, err
    assert '"ca/ca.pem"' in out.read_text()  # relative to the rules file
    code, text, err = nds("check-rules", str(out))
    assert code == 0, err
    assert "group nl.test: FSC 1.1, 1 trust anchor(s)" in text
    code, _, err = nds("group-rules", "--out", str(out), "--group-id", "nl.test", "--anchor",
                       str(tmp_path / "ca" / "ca.pem"))
    assert code == 2 and "--force" in err
    code, _, err = nds("group-rules", "--out", str(tmp_path / "x.toml"), "--group-id", "bad id",
                       "--anchor", str(tmp_path / "ca" / "ca.pem"))
    assert code == 2 and "group_id" in err
    out.write_text(out.read_text().replace("token_lifetime_seconds = 300", "token_lifetime_seconds = 0"))
    code, _, err = nds("check-rules", str(out))
    assert code == 2 and "token_lifetime_seconds" in err and "Traceback" not in err


def test_issue_without_host_as_in_the_issue(tmp_path) -> None:
    """`nds pki issue --state DIR --peer-id OIN --name NAME --out OUTDIR` (no --host) works."""
    import subprocess
    import sys

    ca = tmp_path / "ca"
    assert subprocess.run([sys.executable, "-m", "nds", "pki", "init", "--out", str(ca), "--name", "G"],
                          capture_output=True, timeout=60).returncode == 0
    res = subprocess.run([sys.executable, "-m", "nds", "pki", "issue", "--ca", str(ca), "--peer-id",
                          "00000001001000000099", "--name", "Buiten", "--out", str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "p" / "cert.pem").exists() and "127.0.0.1" in res.stdout
