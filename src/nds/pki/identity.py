"""Who a certificate belongs to, and its thumbprints.

Two thumbprints, as fsc-core §Certificate & Public key thumbprints distinguishes them:

- certificate thumbprint ``x5t#S256`` (RFC 7515 §4.1.8, RFC 8705 §3.1): base64url without padding of
  SHA-256 over the certificate's DER encoding. Used in JWS headers and the token ``cnf`` claim.
- public-key thumbprint (FSC ``outway.public_key_thumbprint``): lower-case **hex** SHA-256 over the
  DER SubjectPublicKeyInfo. It survives certificate renewal with the same key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ObjectIdentifier

from nds.pki.model import PeerIdentity, PeerIdentityError

if TYPE_CHECKING:
    from nds.fsc.grouprules import GroupRules

_DEFAULT_FIELDS = {"serialNumber": "2.5.4.5", "O": "2.5.4.10"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_thumbprint_s256(cert: x509.Certificate) -> str:
    """``x5t#S256``: base64url (no padding) SHA-256 of the certificate DER."""
    return b64url(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def public_key_thumbprint(
    cert_or_public_key: x509.Certificate | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
) -> str:
    """FSC ``public_key_thumbprint``: lower-case hex SHA-256 of the DER SubjectPublicKeyInfo."""
    obj = cert_or_public_key
    if isinstance(obj, x509.Certificate | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        pub = obj.public_key()
    else:
        pub = obj
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _attr(cert: x509.Certificate, oid: str, label: str) -> str:
    values = cert.subject.get_attributes_for_oid(ObjectIdentifier(oid))
    if not values:
        raise PeerIdentityError(f"certificate subject has no {label} attribute ({oid})")
    if len(values) > 1:
        raise PeerIdentityError(f"certificate subject has more than one {label} attribute ({oid})")
    value = values[0].value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value


def peer_identity(cert: x509.Certificate, rules: GroupRules | None = None) -> PeerIdentity:
    """Peer ID and name from the certificate subject, per the Group rules (default: serialNumber, O, OIN).

    Raises :class:`PeerIdentityError` when a field is missing, repeated, or the ID does not match the
    Group's pattern.
    """
    if rules is not None:
        id_oid, name_oid = rules.subject_oid("peer_id"), rules.subject_oid("peer_name")
        pattern = rules.peer_id_pattern
        id_label, name_label = rules.peer_id_field, rules.peer_name_field
    else:
        id_oid, name_oid = _DEFAULT_FIELDS["serialNumber"], _DEFAULT_FIELDS["O"]
        pattern = r"^[0-9]{20}$"
        id_label, name_label = "serialNumber", "O"
    peer_id = _attr(cert, id_oid, f"Peer ID ({id_label})")
    if re.fullmatch(pattern, peer_id) is None:
        raise PeerIdentityError(f"Peer ID {peer_id!r} in the certificate does not match {pattern}")
    name = _attr(cert, name_oid, f"Peer name ({name_label})").strip()
    if not name:
        raise PeerIdentityError(f"certificate subject {name_label} (Peer name) is empty")
    return PeerIdentity(peer_id=peer_id, name=name)


def peer_certificate_from_ssl_object(
    ssl_obj: ssl.SSLObject | ssl.SSLSocket | None,
) -> x509.Certificate | None:
    """The peer's leaf certificate of an established TLS connection, or ``None`` if it sent none."""
    if ssl_obj is None:
        return None
    der = ssl_obj.getpeercert(binary_form=True)
    if not der:
        return None
    return x509.load_der_x509_certificate(der)
