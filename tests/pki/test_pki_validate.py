"""Certificate path validation: anchors, validity window, EKU, CRLs, intermediates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pki_helpers import OIN_A, OIN_B, Group

from nds.pki import (
    CertificateInvalid,
    issue_peer_certificate,
    load_certificate,
    load_crl,
    load_private_key,
    publish_crl,
    validate_certificate,
)

pytestmark = pytest.mark.unit
NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    """NOW is taken when each test starts, not at collection (a full run collects minutes earlier)."""
    global NOW
    NOW = datetime.now(UTC)


def _anchors(group: Group) -> list[x509.Certificate]:
    return [load_certificate(group.dev.ca.cert)]


def test_valid_certificate_returns_the_chain(group: Group) -> None:
    cert = load_certificate(group.dev.peers[OIN_A].cert)
    chain = validate_certificate(cert, [], _anchors(group), NOW)
    assert chain[0] == cert and chain[-1] == _anchors(group)[0]
    validate_certificate(cert, [], _anchors(group), NOW, purpose="server", hostname="peer-a.test")
    validate_certificate(cert, [], _anchors(group), NOW, purpose="server", hostname="127.0.0.1")
    validate_certificate(cert, [], _anchors(group), NOW, purpose="any")


def test_server_name_mismatch(group: Group) -> None:
    cert = load_certificate(group.dev.peers[OIN_A].cert)
    with pytest.raises(CertificateInvalid):
        validate_certificate(cert, [], _anchors(group), NOW, purpose="server", hostname="peer-b.test")


def test_expired(group: Group, tmp_path: Path) -> None:
    f = issue_peer_certificate(group.dev.ca, OIN_A, "A", ["a.test"], tmp_path,
                               not_before=NOW, not_after=NOW + timedelta(hours=1))
    cert = load_certificate(f.cert)
    with pytest.raises(CertificateInvalid, match="expired"):
        validate_certificate(cert, [], _anchors(group), NOW + timedelta(hours=2))
    validate_certificate(cert, [], _anchors(group), NOW + timedelta(minutes=30))



def test_expired_trust_anchor(group: Group, tmp_path: Path) -> None:
    ca_end = _anchors(group)[0].not_valid_after_utc
    f = issue_peer_certificate(group.dev.ca, OIN_A, "A", ["a.test"], tmp_path,
                               not_before=ca_end - timedelta(days=1), not_after=ca_end + timedelta(days=10))
    cert = load_certificate(f.cert)
    validate_certificate(cert, [], _anchors(group), ca_end - timedelta(hours=1))
    with pytest.raises(CertificateInvalid, match="not valid at the validation time"):
        validate_certificate(cert, [], _anchors(group), ca_end + timedelta(days=1))


def test_not_yet_valid(group: Group, tmp_path: Path) -> None:
    f = issue_peer_certificate(group.dev.ca, OIN_A, "A", ["a.test"], tmp_path,
                               not_before=NOW + timedelta(days=1), days=30)
    with pytest.raises(CertificateInvalid, match="not valid before"):
        validate_certificate(load_certificate(f.cert), [], _anchors(group), NOW)


def test_other_ca(group: Group, tmp_path: Path) -> None:
    f = issue_peer_certificate(group.other_ca, OIN_A, "A", ["a.test"], tmp_path)
    with pytest.raises(CertificateInvalid, match="trust anchor"):
        validate_certificate(load_certificate(f.cert), [], _anchors(group), NOW)
    # the other CA as "intermediate" does not help: it is self-signed, not below our anchor
    with pytest.raises(CertificateInvalid):
        validate_certificate(load_certificate(f.cert), [load_certificate(group.other_ca.cert)],
                             _anchors(group), NOW)


def test_no_anchors() -> None:
    with pytest.raises(CertificateInvalid, match="no trust anchors"):
        validate_certificate(None, [], [], NOW)  # type: ignore[arg-type]


def _leaf_with_eku(group: Group, eku: list[x509.ObjectIdentifier]) -> x509.Certificate:
    ca = load_certificate(group.dev.ca.cert)
    ca_key = load_private_key(group.dev.ca.key)
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, OIN_A),
                                 x509.NameAttribute(NameOID.ORGANIZATION_NAME, "A")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.test")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def test_wrong_eku(group: Group) -> None:
    server_only = _leaf_with_eku(group, [ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(CertificateInvalid, match="extended key usage"):
        validate_certificate(server_only, [], _anchors(group), NOW, purpose="client")
    validate_certificate(server_only, [], _anchors(group), NOW, purpose="server")
    validate_certificate(server_only, [], _anchors(group), NOW, purpose="any")
    code_signing = _leaf_with_eku(group, [ExtendedKeyUsageOID.CODE_SIGNING])
    for purpose in ("client", "server", "any"):
        with pytest.raises(CertificateInvalid, match="extended key usage"):
            validate_certificate(code_signing, [], _anchors(group), NOW, purpose=purpose)  # type: ignore[arg-type]


def test_ca_certificate_is_not_a_peer_certificate(group: Group) -> None:
    with pytest.raises(CertificateInvalid):
        validate_certificate(load_certificate(group.dev.ca.cert), [], _anchors(group), NOW)


def test_revoked_via_crl(group: Group, tmp_path: Path) -> None:
    a = load_certificate(group.dev.peers[OIN_A].cert)
    b = load_certificate(group.dev.peers[OIN_B].cert)
    crl = load_crl(publish_crl(group.dev.ca, [a.serial_number], tmp_path / "crl.pem",
                               now=NOW - timedelta(minutes=1)))
    with pytest.raises(CertificateInvalid, match="revoked"):
        validate_certificate(a, [], _anchors(group), NOW, crls=[crl])
    validate_certificate(b, [], _anchors(group), NOW, crls=[crl])


def test_crl_must_be_current_and_from_the_issuer(group: Group, tmp_path: Path) -> None:
    b = load_certificate(group.dev.peers[OIN_B].cert)
    stale = load_crl(publish_crl(group.dev.ca, [], tmp_path / "old.pem", now=NOW - timedelta(days=30),
                                 next_update_days=7))
    with pytest.raises(CertificateInvalid, match="stale"):
        validate_certificate(b, [], _anchors(group), NOW, crls=[stale])
    foreign = load_crl(publish_crl(group.other_ca, [], tmp_path / "other.pem"))
    with pytest.raises(CertificateInvalid, match="no valid CRL"):
        validate_certificate(b, [], _anchors(group), NOW, crls=[foreign])


def _intermediate_ca(group: Group) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    root = load_certificate(group.dev.ca.cert)
    root_key = load_private_key(group.dev.ca.key)
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Intermediate")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()),  # type: ignore[arg-type]
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return cert, key


def test_group_ca_allows_no_intermediates(group: Group, tmp_path: Path) -> None:
    """Our Group CA has pathLenConstraint 0: an intermediate under it is refused."""
    inter, inter_key = _intermediate_ca(group)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, OIN_A)]))
        .issuer_name(inter.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.test")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()),
                       critical=False)
        .sign(inter_key, hashes.SHA256())
    )
    with pytest.raises(CertificateInvalid):
        validate_certificate(leaf, [inter], _anchors(group), NOW)


def _ca(subject: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
        path_length: int | None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki_key = issuer[1].public_key() if issuer else key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_key), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def _crl(issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], serials: list[int]
         ) -> x509.CertificateRevocationList:
    b = (x509.CertificateRevocationListBuilder().issuer_name(issuer[0].subject)
         .last_update(NOW - timedelta(hours=1)).next_update(NOW + timedelta(days=1)))
    for s in serials:
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(s)
                                      .revocation_date(NOW - timedelta(hours=1)).build())
    return b.sign(issuer[1], hashes.SHA256())


def test_three_level_chain_with_crls_per_issuer(tmp_path: Path) -> None:
    """A PKIoverheid-like hierarchy: root -> intermediate -> Peer certificate."""
    root = _ca("Root", None, None)
    inter = _ca("Intermediate", root, 0)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, OIN_A)]))
        .issuer_name(inter[0].subject).public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1)).not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.test")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter[1].public_key()),
                       critical=False)
        .sign(inter[1], hashes.SHA256())
    )
    chain = validate_certificate(leaf, [inter[0]], [root[0]], NOW)
    assert [c.subject for c in chain] == [leaf.subject, inter[0].subject, root[0].subject]
    with pytest.raises(CertificateInvalid, match="trust anchor"):
        validate_certificate(leaf, [], [root[0]], NOW)  # intermediate missing
    good = [_crl(root, []), _crl(inter, [])]
    validate_certificate(leaf, [inter[0]], [root[0]], NOW, crls=good)
    with pytest.raises(CertificateInvalid, match="no valid CRL"):
        validate_certificate(leaf, [inter[0]], [root[0]], NOW, crls=good[1:])  # root's CRL missing
    with pytest.raises(CertificateInvalid, match="revoked"):
        validate_certificate(leaf, [inter[0]], [root[0]], NOW,
                             crls=[_crl(root, []), _crl(inter, [leaf.serial_number])])
    with pytest.raises(CertificateInvalid, match="revoked"):  # the intermediate itself revoked
        validate_certificate(leaf, [inter[0]], [root[0]], NOW,
                             crls=[_crl(root, [inter[0].serial_number]), _crl(inter, [])])
    # a CRL claiming the intermediate's name but signed by another key is ignored
    forged = _crl((inter[0], ec.generate_private_key(ec.SECP256R1())), [])
    with pytest.raises(CertificateInvalid, match="no valid CRL"):
        validate_certificate(leaf, [inter[0]], [root[0]], NOW, crls=[_crl(root, []), forged])
