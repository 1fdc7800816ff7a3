"""Certificate signing requests: a Peer makes its key and CSR itself; the Group CA only signs.

This is how a real Group works: private keys never leave the organisation. The CA takes the Peer ID,
name and host names from the CSR, checks them, and decides every extension itself (requested
extensions other than subjectAltName are ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from nds.pki.files import key_pem, load_private_key, write_atomic
from nds.pki.issue import (
    OIN_PATTERN,
    PEER_KEY_NAME,
    _load_ca,
    _peer_subject,
    _sans,
    _sig_hash,
    _sign_leaf,
    _window,
    _write_peer,
    generate_key,
)
from nds.pki.model import CaFiles, KeyType, PeerFiles, PkiError

CSR_NAME = "request.csr"


def create_csr(
    peer_id: str,
    name: str,
    hostnames: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    ip_addresses: Iterable[str] = (),
    key_path: str | os.PathLike[str] | None = None,
    key_type: KeyType | str = "ec-p256",
    peer_id_pattern: str = OIN_PATTERN,
) -> tuple[Path, Path]:
    """Write ``key.pem`` (new, or the existing ``key_path``) and ``request.csr`` to ``out_dir``."""
    if not re.fullmatch(peer_id_pattern, peer_id or ""):
        raise PkiError(f"peer id {peer_id!r} does not match {peer_id_pattern} (an OIN has 20 digits)")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise PkiError("peer name (subject O) must be 1-64 characters")
    hostnames = [h for h in hostnames if h.strip()]
    sans = _sans(hostnames, ip_addresses)
    out = Path(out_dir)
    key = load_private_key(key_path) if key_path is not None else generate_key(key_type)
    cn = hostnames[0].strip().rstrip(".").lower() if hostnames else name
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_peer_subject(peer_id, name, cn))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, _sig_hash(key))
    )
    key_file = out / PEER_KEY_NAME
    if key_path is None or Path(key_path).resolve() != key_file.resolve():
        write_atomic(key_file, key_pem(key), secret=True)
    csr_file = out / CSR_NAME
    write_atomic(csr_file, csr.public_bytes(serialization.Encoding.PEM))
    return csr_file, key_file


def load_csr(path: str | os.PathLike[str]) -> x509.CertificateSigningRequest:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise PkiError(f"cannot read CSR {path}: {e.strerror or e}") from None
    try:
        return x509.load_pem_x509_csr(data) if b"-----BEGIN" in data else x509.load_der_x509_csr(data)
    except ValueError:
        raise PkiError(f"{path} holds no valid certificate signing request") from None


def _single(csr: x509.CertificateSigningRequest, oid: x509.ObjectIdentifier, label: str) -> str:
    values = csr.subject.get_attributes_for_oid(oid)
    if len(values) != 1:
        raise PkiError(f"the CSR subject must hold exactly one {label}")
    v = values[0].value
    return v.decode() if isinstance(v, bytes) else v


def sign_csr(
    ca: CaFiles,
    csr_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    days: int = 365,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    peer_id_pattern: str = OIN_PATTERN,
) -> PeerFiles:
    """Sign a Peer's CSR: ``cert.pem`` and ``chain.pem`` in ``out_dir`` (``key`` stays with the Peer).

    Checks the CSR's own signature, the Peer ID pattern, the key type and the host names; the
    certificate gets the same profile as :func:`nds.pki.issue_peer_certificate`.
    """
    csr = load_csr(csr_path)
    if not csr.is_signature_valid:
        raise PkiError("the CSR signature is invalid")
    pub = csr.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 2048:
            raise PkiError("RSA keys shorter than 2048 bits are refused")
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise PkiError(f"EC curve {pub.curve.name} is not allowed")
    else:
        raise PkiError("only EC and RSA keys are supported")
    peer_id = _single(csr, NameOID.SERIAL_NUMBER, "serialNumber (Peer ID)")
    if not re.fullmatch(peer_id_pattern, peer_id):
        raise PkiError(f"peer id {peer_id!r} in the CSR does not match {peer_id_pattern}")
    name = _single(csr, NameOID.ORGANIZATION_NAME, "O (Peer name)").strip()
    if not name or len(name) > 64:
        raise PkiError("peer name (subject O) must be 1-64 characters")
    try:
        requested = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise PkiError("the CSR has no subjectAltName with host names") from None
    hosts = [str(h) for h in requested.get_values_for_type(x509.DNSName)]
    ips = [str(i) for i in requested.get_values_for_type(x509.IPAddress)]
    sans = _sans(hosts, ips)  # re-validated; other name types are dropped
    out = Path(out_dir)
    existing_key = out / PEER_KEY_NAME
    if existing_key.is_file():
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if load_private_key(existing_key).public_key().public_bytes(*spki) != pub.public_bytes(*spki):
            raise PkiError(f"{existing_key} does not belong to this CSR; sign into another directory")
    ca_cert, ca_key = _load_ca(ca)
    nb, na = _window(days, not_before, not_after)
    if not_after is None:
        na = min(na, ca_cert.not_valid_after_utc)
    cn = hosts[0].lower() if hosts else name
    cert = _sign_leaf(ca_cert, ca_key, _peer_subject(peer_id, name, cn), sans, pub, nb, na)
    return _write_peer(out, cert, None, ca_cert, None)
