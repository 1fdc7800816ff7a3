"""A Group CA: create it, issue/renew/rotate Peer certificates, publish CRLs.

Certificates follow the profile FSC expects from a Group's trust anchor (fsc-core §TLS configuration)
and the PKIoverheid convention for the Peer ID: subject ``serialNumber`` = OIN, ``O`` = organisation
name, ``CN`` = first host name, subjectAltName with every DNS name and IP address, extended key usage
serverAuth + clientAuth (one certificate serves Manager, Inway and Outway).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nds.pki.files import (
    PrivateKey,
    PublicKey,
    cert_pem,
    key_pem,
    load_certificate,
    load_certificates,
    load_private_key,
    write_atomic,
)
from nds.pki.model import KEY_TYPES, CaFiles, KeyType, PeerFiles, PkiError

OIN_PATTERN = r"^[0-9]{20}$"
CA_CERT_NAME = "ca.pem"
CA_KEY_NAME = "ca.key.pem"
PEER_CERT_NAME = "cert.pem"
PEER_KEY_NAME = "key.pem"
PEER_CHAIN_NAME = "chain.pem"
BACKDATE = timedelta(minutes=5)  # tolerate clock skew of freshly issued certificates
_HOST_RE = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?\.)*"
                      r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")


def generate_key(key_type: KeyType | str = "ec-p256") -> PrivateKey:
    """A new private key: ``ec-p256`` (default), ``ec-p384``, ``rsa-3072`` or ``rsa-4096``."""
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if key_type == "rsa-4096":
        return rsa.generate_private_key(public_exponent=65537, key_size=4096)
    raise PkiError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def key_type_of(key: PrivateKey | PublicKey) -> str:
    """The key type name of an existing key (for rotation to the same type)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return {"secp256r1": "ec-p256", "secp384r1": "ec-p384"}.get(key.curve.name, f"ec-{key.curve.name}")
    return f"rsa-{key.key_size}"


def _pub(cert: x509.Certificate) -> PublicKey:
    pub = cert.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise PkiError("only EC and RSA certificates are supported")
    return pub


def _sig_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def create_group_ca(
    out_dir: str | os.PathLike[str],
    name: str,
    *,
    key_type: KeyType | str = "ec-p256",
    days: int = 3650,
    overwrite: bool = False,
) -> CaFiles:
    """Create a self-signed Group CA (trust anchor) in ``out_dir``: ``ca.pem`` and ``ca.key.pem``."""
    name = name.strip()
    if not name or len(name) > 64:
        raise PkiError("CA name must be 1-64 characters")
    out = Path(out_dir)
    files = CaFiles(cert=out / CA_CERT_NAME, key=out / CA_KEY_NAME)
    if not overwrite and (files.cert.exists() or files.key.exists()):
        raise PkiError(f"a CA already exists in {out}; refusing to overwrite it")
    if days < 1:
        raise PkiError("days must be at least 1")
    key = generate_key(key_type)
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{name} Group CA"[:64]),
    ])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, _sig_hash(key))
    )
    write_atomic(files.key, key_pem(key), secret=True)
    write_atomic(files.cert, cert_pem(cert))
    return files


def ca_files(ca_dir: str | os.PathLike[str]) -> CaFiles:
    """The :class:`CaFiles` of an existing CA directory (checked to exist)."""
    d = Path(ca_dir)
    files = CaFiles(cert=d / CA_CERT_NAME, key=d / CA_KEY_NAME)
    if not files.cert.is_file() or not files.key.is_file():
        raise PkiError(f"no CA in {d} (expected {CA_CERT_NAME} and {CA_KEY_NAME})")
    return files


def _load_ca(ca: CaFiles) -> tuple[x509.Certificate, PrivateKey]:
    cert = load_certificate(ca.cert)
    key = load_private_key(ca.key)
    if _spki(_pub(cert)) != _spki(key):
        raise PkiError(f"CA key {ca.key} does not belong to CA certificate {ca.cert}")
    return cert, key


def _spki(key: PrivateKey | PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) else key
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _sans(hostnames: Sequence[str], ip_addresses: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for h in hostnames:
        h = h.strip().rstrip(".").lower()
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(h)))
            continue
        except ValueError:
            pass
        if not _HOST_RE.fullmatch(h):
            raise PkiError(f"not a valid host name: {h!r}")
        out.append(x509.DNSName(h))
    for ip in ip_addresses:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(str(ip).strip())))
        except ValueError:
            raise PkiError(f"not a valid IP address: {ip!r}") from None
    if not out:
        raise PkiError("at least one host name or IP address is required")
    return out


def _peer_subject(peer_id: str, name: str, cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.SERIAL_NUMBER, peer_id),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
        x509.NameAttribute(NameOID.COMMON_NAME, cn[:64]),
    ])


def _sign_leaf(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    subject: x509.Name,
    sans: list[x509.GeneralName],
    public_key: PublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    if not_after <= not_before:
        raise PkiError("not_after must be later than not_before")
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(_pub(ca_cert))
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=is_rsa,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, _sig_hash(ca_key))
    )


def _window(
    days: int, not_before: datetime | None, not_after: datetime | None
) -> tuple[datetime, datetime]:
    nb = _aware(not_before) if not_before is not None else _now() - BACKDATE
    if not_after is not None:
        na = _aware(not_after)
    else:
        if days < 1:
            raise PkiError("days must be at least 1")
        na = nb + BACKDATE + timedelta(days=days) if not_before is None else nb + timedelta(days=days)
    return nb, na


def _write_peer(out: Path, cert: x509.Certificate, key: PrivateKey | None, ca_cert: x509.Certificate,
                key_path: Path | None) -> PeerFiles:
    files = PeerFiles(cert=out / PEER_CERT_NAME, key=out / PEER_KEY_NAME, chain=out / PEER_CHAIN_NAME)
    _archive_previous(files)
    if key is not None and (key_path is None or key_path.resolve() != files.key.resolve()):
        write_atomic(files.key, key_pem(key), secret=True)
    write_atomic(files.chain, cert_pem(cert) + cert_pem(ca_cert))
    write_atomic(files.cert, cert_pem(cert))
    return files


def _archive_previous(files: PeerFiles) -> None:
    """Keep the certificate (and key) being replaced under ``previous/<serial>/``."""
    if not files.cert.is_file():
        return
    try:
        old = load_certificate(files.cert)
    except PkiError:
        return
    dest = files.cert.parent / "previous" / f"{old.serial_number:x}"
    dest.mkdir(parents=True, exist_ok=True)
    for p in (files.cert, files.chain, files.key):
        if p.is_file():
            shutil.copy2(p, dest / p.name)


def issue_peer_certificate(
    ca: CaFiles,
    peer_id: str,
    name: str,
    hostnames: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    ip_addresses: Iterable[str] = (),
    key_path: str | os.PathLike[str] | None = None,
    key_type: KeyType | str = "ec-p256",
    days: int = 365,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    peer_id_pattern: str = OIN_PATTERN,
) -> PeerFiles:
    """Issue a Peer certificate signed by ``ca`` into ``out_dir`` (``cert.pem``, ``key.pem``, ``chain.pem``).

    ``key_path`` reuses an existing private key (a renewal keeps the public-key thumbprint that
    contracts pin); otherwise a new key of ``key_type`` is generated. A certificate being replaced
    in ``out_dir`` is kept under ``out_dir/previous/<serial>/``.
    """
    if not re.fullmatch(peer_id_pattern, peer_id or ""):
        raise PkiError(f"peer id {peer_id!r} does not match {peer_id_pattern} (an OIN has 20 digits)")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise PkiError("peer name (subject O) must be 1-64 characters")
    hostnames = [h for h in hostnames if h.strip()]
    sans = _sans(hostnames, ip_addresses)
    ca_cert, ca_key = _load_ca(ca)
    key = load_private_key(key_path) if key_path is not None else generate_key(key_type)
    nb, na = _window(days, not_before, not_after)
    if not_after is None:  # a default lifetime never outlives the CA
        na = min(na, ca_cert.not_valid_after_utc)
    cn = hostnames[0].strip().rstrip(".").lower() if hostnames else name
    cert = _sign_leaf(ca_cert, ca_key, _peer_subject(peer_id, name, cn), sans, key.public_key(), nb, na)
    return _write_peer(Path(out_dir), cert, key, ca_cert, Path(key_path) if key_path else None)


def _existing(peer: PeerFiles | str | os.PathLike[str]) -> PeerFiles:
    if isinstance(peer, PeerFiles):
        return peer
    d = Path(peer)
    return PeerFiles(cert=d / PEER_CERT_NAME, key=d / PEER_KEY_NAME, chain=d / PEER_CHAIN_NAME)


def _reissue(
    ca: CaFiles,
    peer: PeerFiles | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None,
    new_key: PrivateKey | None,
    days: int,
    not_before: datetime | None,
    not_after: datetime | None,
) -> PeerFiles:
    old_files = _existing(peer)
    old = load_certificate(old_files.cert)
    old_key = load_private_key(old_files.key)
    if _spki(_pub(old)) != _spki(old_key):
        raise PkiError(f"key {old_files.key} does not belong to certificate {old_files.cert}")
    ca_cert, ca_key = _load_ca(ca)
    try:
        sans = list(old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        raise PkiError(f"{old_files.cert} has no subjectAltName; issue a new certificate instead") from None
    key = new_key if new_key is not None else old_key
    nb, na = _window(days, not_before, not_after)
    if not_after is None:  # a default lifetime never outlives the CA
        na = min(na, ca_cert.not_valid_after_utc)
    cert = _sign_leaf(ca_cert, ca_key, old.subject, sans, key.public_key(), nb, na)
    out = Path(out_dir) if out_dir is not None else old_files.cert.parent
    if new_key is None:
        # Renewal: the key file stays as it is when renewing in place; copy it otherwise.
        same_dir = out.resolve() == old_files.key.parent.resolve() and old_files.key.name == PEER_KEY_NAME
        return _write_peer(out, cert, None if same_dir else key, ca_cert, None)
    return _write_peer(out, cert, key, ca_cert, None)


def renew_certificate(
    ca: CaFiles,
    peer: PeerFiles | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    days: int = 365,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> PeerFiles:
    """A new certificate with the same subject, SANs and **key** (public-key thumbprint unchanged).

    ``peer`` is the existing :class:`PeerFiles` or its directory; ``out_dir`` defaults to that directory
    (the replaced certificate is kept under ``previous/``).
    """
    return _reissue(ca, peer, out_dir, None, days, not_before, not_after)


def rotate_key(
    ca: CaFiles,
    peer: PeerFiles | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    key_type: KeyType | str | None = None,
    days: int = 365,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> PeerFiles:
    """A new certificate with the same subject and SANs and a **new key** (default: same key type).

    The public-key thumbprint changes, so ServiceConnection grants pinning the old one stop working:
    a new contract is needed (fsc-core §Certificate renewal).
    """
    old_key = load_private_key(_existing(peer).key)
    new_key = generate_key(key_type or key_type_of(old_key))
    return _reissue(ca, peer, out_dir, new_key, days, not_before, not_after)


def publish_crl(
    ca: CaFiles,
    revoked_serials: Iterable[int] | Mapping[int, datetime],
    out_path: str | os.PathLike[str],
    *,
    next_update_days: int = 7,
    crl_number: int | None = None,
    now: datetime | None = None,
) -> Path:
    """Write a CRL (PEM) signed by ``ca`` listing ``revoked_serials``.

    ``revoked_serials`` may map serials to their revocation dates; plain serials are revoked "now".
    The CRL number defaults to the current Unix time, so later CRLs have higher numbers.
    """
    ca_cert, ca_key = _load_ca(ca)
    at = _aware(now) if now is not None else _now()
    dates: dict[int, datetime] = (
        {int(k): _aware(v) for k, v in revoked_serials.items()}
        if isinstance(revoked_serials, Mapping)
        else dict.fromkeys((int(s) for s in revoked_serials), at)
    )
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(at)
        .next_update(at + timedelta(days=next_update_days))
        .add_extension(x509.CRLNumber(crl_number if crl_number is not None else int(at.timestamp())), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_pub(ca_cert)),
            critical=False,
        )
    )
    for serial, when in sorted(dates.items()):
        if serial <= 0:
            raise PkiError(f"invalid serial number {serial}")
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(ca_key, _sig_hash(ca_key))
    out = Path(out_path)
    write_atomic(out, crl.public_bytes(serialization.Encoding.PEM))
    return out


def chain_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Leaf first, then intermediates, from a chain PEM file."""
    return load_certificates(path)
