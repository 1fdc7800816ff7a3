"""Issuing, renewing, rotating, CRLs, identity and thumbprints (checked against openssl)."""

from __future__ import annotations

import base64
import hashlib
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pki_helpers import OIN_A, Group

from nds.fsc.grouprules import parse_group_rules
from nds.pki import (
    PeerIdentityError,
    PkiError,
    cert_thumbprint_s256,
    create_group_ca,
    issue_peer_certificate,
    load_certificate,
    load_certificates,
    load_crl,
    load_private_key,
    peer_identity,
    public_key_thumbprint,
    publish_crl,
    renew_certificate,
    rotate_key,
)

pytestmark = pytest.mark.unit


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True, timeout=30).stdout


def test_peer_certificate_profile(group: Group) -> None:
    cert = load_certificate(group.dev.peers[OIN_A].cert)
    subj = cert.subject
    assert subj.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == OIN_A
    assert subj.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Gemeente A"
    assert subj.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "peer-a.test"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["peer-a.test"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    # chain.pem = leaf + CA; key file private to the owner
    chain = load_certificates(group.dev.peers[OIN_A].chain)
    assert chain[0] == cert and chain[1] == load_certificate(group.dev.ca.cert)
    assert stat.S_IMODE(group.dev.peers[OIN_A].key.stat().st_mode) == 0o600
    assert stat.S_IMODE(group.dev.ca.key.stat().st_mode) == 0o600


def test_openssl_verifies_the_chain(group: Group) -> None:
    out = _openssl("verify", "-CAfile", str(group.dev.ca.cert), "-purpose", "sslclient",
                   str(group.dev.peers[OIN_A].cert))
    assert b": OK" in out


def test_thumbprints_match_an_independent_computation(group: Group) -> None:
    path = group.dev.peers[OIN_A].cert
    cert = load_certificate(path)
    der = _openssl("x509", "-in", str(path), "-outform", "DER")
    expected_x5t = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert cert_thumbprint_s256(cert) == expected_x5t
    assert "=" not in expected_x5t and len(expected_x5t) == 43
    # openssl's own fingerprint is the same SHA-256 over the DER
    fp = _openssl("x509", "-in", str(path), "-noout", "-fingerprint", "-sha256").decode()
    assert fp.split("=", 1)[1].strip().replace(":", "").lower() == hashlib.sha256(der).hexdigest()
    spki = _openssl("x509", "-in", str(path), "-noout", "-pubkey")
    spki_der = _openssl("pkey", "-pubin", "-outform", "DER", stdin=spki)
    assert public_key_thumbprint(cert) == hashlib.sha256(spki_der).hexdigest()
    assert public_key_thumbprint(cert.public_key()) == public_key_thumbprint(cert)
    key = load_private_key(group.dev.peers[OIN_A].key)
    assert public_key_thumbprint(key) == public_key_thumbprint(cert)


def test_rsa_keys(tmp_path: Path) -> None:
    ca = create_group_ca(tmp_path / "ca", "RSA group", key_type="rsa-3072")
    peer = issue_peer_certificate(ca, OIN_A, "Org", ["rsa.test"], tmp_path / "p", key_type="rsa-3072")
    cert = load_certificate(peer.cert)
    pub = cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 3072
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment
    assert b": OK" in _openssl("verify", "-CAfile", str(ca.cert), str(peer.cert))


def test_renewal_keeps_public_key_rotation_changes_it(group: Group, tmp_path: Path) -> None:
    src = issue_peer_certificate(group.dev.ca, OIN_A, "Gemeente A", ["peer-a.test"], tmp_path / "a")
    first = load_certificate(src.cert)
    renewed_files = renew_certificate(group.dev.ca, src, days=30)
    renewed = load_certificate(renewed_files.cert)
    assert renewed.serial_number != first.serial_number
    assert renewed.subject == first.subject
    assert cert_thumbprint_s256(renewed) != cert_thumbprint_s256(first)
    assert public_key_thumbprint(renewed) == public_key_thumbprint(first)
    assert renewed.not_valid_after_utc - renewed.not_valid_before_utc <= timedelta(days=30, minutes=6)
    # the replaced certificate was kept
    assert (tmp_path / "a" / "previous" / f"{first.serial_number:x}" / "cert.pem").is_file()

    rotated = load_certificate(rotate_key(group.dev.ca, src).cert)
    assert public_key_thumbprint(rotated) != public_key_thumbprint(first)
    assert rotated.subject == first.subject
    assert public_key_thumbprint(load_private_key(src.key)) == public_key_thumbprint(rotated)


def test_renewal_into_another_directory_copies_the_key(group: Group, tmp_path: Path) -> None:
    src = issue_peer_certificate(group.dev.ca, OIN_A, "Gemeente A", ["peer-a.test"], tmp_path / "a")
    new = renew_certificate(group.dev.ca, tmp_path / "a", tmp_path / "b")
    assert new.key.read_bytes() == src.key.read_bytes()
    pkt = public_key_thumbprint
    assert pkt(load_certificate(new.cert)) == pkt(load_certificate(src.cert))


def test_issue_with_existing_key_is_a_renewal(group: Group, tmp_path: Path) -> None:
    a = issue_peer_certificate(group.dev.ca, OIN_A, "Gemeente A", ["peer-a.test"], tmp_path / "a")
    b = issue_peer_certificate(group.dev.ca, OIN_A, "Gemeente A", ["peer-a.test"], tmp_path / "b",
                               key_path=a.key)
    assert public_key_thumbprint(load_certificate(a.cert)) == public_key_thumbprint(load_certificate(b.cert))


@pytest.mark.parametrize(
    ("peer_id", "name", "hosts", "message"),
    [
        ("123", "Org", ["h.test"], "20 digits"),
        ("0000000100000000000X", "Org", ["h.test"], "20 digits"),
        (OIN_A, "", ["h.test"], "1-64"),
        (OIN_A, "Org", [], "at least one"),
        (OIN_A, "Org", ["bad host!"], "not a valid host name"),
    ],
)
def test_issue_rejects_bad_input(group: Group, tmp_path: Path, peer_id: str, name: str,
                                 hosts: list[str], message: str) -> None:
    with pytest.raises(PkiError, match=message):
        issue_peer_certificate(group.dev.ca, peer_id, name, hosts, tmp_path / "x")
    assert not (tmp_path / "x" / "cert.pem").exists()


def test_ca_is_not_overwritten(group: Group) -> None:
    before = group.dev.ca.cert.read_bytes()
    with pytest.raises(PkiError, match="already exists"):
        create_group_ca(group.dev.ca.directory, "again")
    assert group.dev.ca.cert.read_bytes() == before


def test_mismatched_ca_key_is_refused(group: Group, tmp_path: Path) -> None:
    from nds.pki import CaFiles

    bad = CaFiles(cert=group.dev.ca.cert, key=group.other_ca.key)
    with pytest.raises(PkiError, match="does not belong"):
        issue_peer_certificate(bad, OIN_A, "Org", ["h.test"], tmp_path / "x")


def test_crl_lists_serials_and_is_signed_by_the_ca(group: Group, tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    out = publish_crl(group.dev.ca, {1234: when, 99: when}, tmp_path / "crl.pem", crl_number=7)
    crl = load_crl(out)
    ca = load_certificate(group.dev.ca.cert)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert {r.serial_number for r in crl} == {1234, 99}
    assert crl.get_revoked_certificate_by_serial_number(1234).revocation_date_utc == when  # type: ignore[union-attr]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    text = _openssl("crl", "-in", str(out), "-noout", "-text", "-CAfile", str(group.dev.ca.cert)).decode()
    assert "04D2" in text.upper()  # serial 1234


def test_peer_identity_follows_the_group_rules(group: Group, tmp_path: Path) -> None:
    cert = load_certificate(group.dev.peers[OIN_A].cert)
    ident = peer_identity(cert, group.rules)
    assert (ident.peer_id, ident.name) == (OIN_A, "Gemeente A")
    assert peer_identity(cert) == ident  # defaults: serialNumber / O / OIN
    # a Group that takes the Peer ID from CN rejects it: a host name is no OIN
    cn_rules = parse_group_rules(
        {"group_id": "g", "trust_anchors": [str(group.dev.ca.cert)], "peer_id_field": "CN"}, tmp_path
    )
    with pytest.raises(PeerIdentityError, match="does not match"):
        peer_identity(cert, cn_rules)
    by_oid = parse_group_rules(
        {"group_id": "g", "trust_anchors": [str(group.dev.ca.cert)], "peer_name_field": "2.5.4.3",
         "peer_id_pattern": ".+"}, tmp_path
    )
    assert peer_identity(cert, by_oid).name == "peer-a.test"


def test_peer_identity_missing_field(group: Group) -> None:
    ca = load_certificate(group.dev.ca.cert)  # no serialNumber in the CA subject
    with pytest.raises(PeerIdentityError, match="no Peer ID"):
        peer_identity(ca, group.rules)


def test_loaders_give_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(PkiError, match="no PEM or DER certificate"):
        load_certificate(junk)
    with pytest.raises(PkiError, match="no usable PEM private key"):
        load_private_key(junk)
    with pytest.raises(PkiError, match="no valid CRL"):
        load_crl(junk)
    with pytest.raises(PkiError, match="cannot read"):
        load_certificate(tmp_path / "missing.pem")


def test_default_lifetime_never_outlives_the_ca(tmp_path: Path) -> None:
    ca = create_group_ca(tmp_path / "ca", "Short", days=10)
    ca_end = load_certificate(ca.cert).not_valid_after_utc
    leaf = load_certificate(issue_peer_certificate(ca, OIN_A, "A", ["a.test"], tmp_path / "a", days=365).cert)
    assert leaf.not_valid_after_utc == ca_end
    renewed = load_certificate(renew_certificate(ca, tmp_path / "a").cert)
    assert renewed.not_valid_after_utc == ca_end
