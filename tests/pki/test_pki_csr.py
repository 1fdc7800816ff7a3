"""CSR flow: the Peer keeps its key, the Group CA signs and decides the profile."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pki_helpers import OIN_A, Group
from typer.testing import CliRunner

from nds.cli import app
from nds.pki import (
    PkiError,
    create_csr,
    load_certificate,
    load_private_key,
    peer_identity,
    public_key_thumbprint,
    sign_csr,
    validate_certificate,
)

pytestmark = pytest.mark.unit


def test_request_and_sign(group: Group, tmp_path: Path) -> None:
    peer = tmp_path / "peer"
    csr, key = create_csr(OIN_A, "Gemeente A", ["inway.a.test", "127.0.0.1"], peer)
    files = sign_csr(group.dev.ca, csr, peer)
    cert = load_certificate(files.cert)
    assert files.key == key
    assert public_key_thumbprint(cert) == public_key_thumbprint(load_private_key(key))
    assert peer_identity(cert, group.rules).peer_id == OIN_A
    validate_certificate(cert, [], group.rules.load_trust_anchors(), cert.not_valid_before_utc, purpose="any")
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    # an openssl-made CSR is accepted too
    okey = tmp_path / "o.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(okey)],
                   check=True, capture_output=True, timeout=30)
    ocsr = tmp_path / "o.csr"
    subprocess.run(["openssl", "req", "-new", "-key", str(okey), "-out", str(ocsr),
                    "-subj", f"/serialNumber={OIN_A}/O=Gemeente A/CN=o.test",
                    "-addext", "subjectAltName=DNS:o.test"], check=True, capture_output=True, timeout=30)
    ocert = load_certificate(sign_csr(group.dev.ca, ocsr, tmp_path / "o").cert)
    assert peer_identity(ocert).name == "Gemeente A"


def _csr(subject: list[x509.NameAttribute], sans: list[x509.GeneralName] | None,
         extra: x509.ExtensionType | None = None, key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    if sans is not None:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if extra is not None:
        b = b.add_extension(extra, critical=True)
    return b.sign(key or ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


SUBJ = [x509.NameAttribute(NameOID.SERIAL_NUMBER, OIN_A), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "A")]


def test_ca_decides_the_profile(group: Group, tmp_path: Path) -> None:
    (tmp_path / "r.csr").write_bytes(_csr(SUBJ, [x509.DNSName("a.test")],
                                          x509.BasicConstraints(ca=True, path_length=None)))
    cert = load_certificate(sign_csr(group.dev.ca, tmp_path / "r.csr", tmp_path / "out").cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


@pytest.mark.parametrize(
    ("subject", "sans", "message"),
    [
        ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "A")], [x509.DNSName("a.test")], "serialNumber"),
        ([x509.NameAttribute(NameOID.SERIAL_NUMBER, "12"), *SUBJ[1:]], [x509.DNSName("a.test")],
         "does not match"),
        (SUBJ[:1], [x509.DNSName("a.test")], r"one O \(Peer name\)"),
        (SUBJ, None, "no subjectAltName"),
        (SUBJ, [x509.DNSName("bad host!")], "not a valid host name"),
        (SUBJ, [x509.RFC822Name("a@b.test")], "at least one host name"),
    ],
)
def test_bad_requests_are_refused(group: Group, tmp_path: Path, subject: list[x509.NameAttribute],
                                  sans: list[x509.GeneralName] | None, message: str) -> None:
    (tmp_path / "r.csr").write_bytes(_csr(subject, sans))
    with pytest.raises(PkiError, match=message):
        sign_csr(group.dev.ca, tmp_path / "r.csr", tmp_path / "out")
    assert not (tmp_path / "out" / "cert.pem").exists()


def test_tampered_or_garbage_csr(group: Group, tmp_path: Path) -> None:
    pem = _csr(SUBJ, [x509.DNSName("a.test")])
    csr = x509.load_pem_x509_csr(pem)
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    i = der.find(b"a.test")
    der[i] = ord("b")
    (tmp_path / "t.csr").write_bytes(bytes(der))
    with pytest.raises(PkiError, match="signature is invalid"):
        sign_csr(group.dev.ca, tmp_path / "t.csr", tmp_path / "out")
    (tmp_path / "g.csr").write_text("garbage")
    with pytest.raises(PkiError, match="no valid certificate signing request"):
        sign_csr(group.dev.ca, tmp_path / "g.csr", tmp_path / "out")


def test_existing_other_key_in_target_is_not_mixed_up(group: Group, tmp_path: Path) -> None:
    csr, _ = create_csr(OIN_A, "A", ["a.test"], tmp_path / "peer")
    create_csr(OIN_A, "A", ["a.test"], tmp_path / "other")  # another key.pem
    with pytest.raises(PkiError, match="does not belong to this CSR"):
        sign_csr(group.dev.ca, csr, tmp_path / "other")


def test_cli_request_and_sign(group: Group, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["pki", "request", "--peer-id", OIN_A, "--name", "Gemeente A", "--host", "a.test",
                            "--out", str(tmp_path / "peer")])
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(app, ["pki", "sign", str(tmp_path / "peer" / "request.csr"), "--ca",
                            str(group.dev.ca.directory), "--out", str(tmp_path / "peer")])
    assert r.exit_code == 0, r.stderr
    assert f"{OIN_A} (Gemeente A)" in r.stdout
    r = runner.invoke(app, ["pki", "sign", str(tmp_path / "nope.csr"), "--ca", str(group.dev.ca.directory),
                            "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "cannot read CSR" in r.stderr
