"""Judging a stapled OCSP response (RFC 6960, RFC 6066 §8) — pure, on recorded bytes.

As internet.nl: a certificate without an OCSP responder URL makes stapling not applicable; a stapled
response must be successful, about this certificate, say "good", be current and be signed by the
issuer (or by a responder certificate the issuer delegated to, included in the response).
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

CLOCK_SKEW = dt.timedelta(minutes=5)


def responder_in_cert(leaf: x509.Certificate) -> bool:
    try:
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return False
    return any(d.access_method == AuthorityInformationAccessOID.OCSP for d in aia)


def _verify(key: object, signature: bytes, data: bytes, hash_alg: object) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_alg)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_alg))  # type: ignore[arg-type]
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except Exception:  # InvalidSignature, unsupported parameters
        return False
    return True


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # wrong issuer name, bad signature, unsupported key
        return False
    return True


def _signed_by_issuer(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    sig, tbs, alg = resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm
    if _verify(issuer.public_key(), sig, tbs, alg):
        return True
    for delegate in resp.certificates:  # RFC 6960 §4.2.2.2: a responder certificate issued by the CA
        try:
            eku = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            continue
        if _issued_by(delegate, issuer) and _verify(delegate.public_key(), sig, tbs, alg):
            return True
    return False


def problem(der: bytes, chain: list[x509.Certificate], now: dt.datetime | None = None) -> str | None:
    """None when the stapled response is valid for ``chain[0]``; otherwise what is wrong."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except ValueError:
        return "not a DER OCSP response"
    if resp.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return f"responder status {resp.response_status.name.lower()}"
    leaf = chain[0]
    if resp.serial_number != leaf.serial_number:
        return "the response is about another certificate"
    if resp.certificate_status is not ocsp.OCSPCertStatus.GOOD:
        return f"certificate status {resp.certificate_status.name.lower()}"
    if resp.this_update_utc > now + CLOCK_SKEW:
        return "the response is not yet valid"
    if resp.next_update_utc is not None and resp.next_update_utc < now - CLOCK_SKEW:
        return "the response has expired"
    if len(chain) > 1 and not _signed_by_issuer(resp, chain[1]):
        return "the response is not signed by the issuer or a delegated responder"
    return None
