"""Certificate path validation against the Group's trust anchors (RFC 5280 via cryptography).

Path building, signatures, validity windows, basic constraints, key usage and extended key usage are
checked by :mod:`cryptography.x509.verification` (a WebPKI-profile verifier). On top of it this module
gives clear reasons for the common failures and checks CRLs, which that verifier does not do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification as xv
from cryptography.x509.oid import ExtendedKeyUsageOID

from nds.pki.model import CertificateInvalid

Purpose = Literal["client", "server", "any"]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier] | None:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def _verify_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    pub = issuer.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return False
    return crl.is_signature_valid(pub)


def _check_crls(
    chain: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList], at: datetime
) -> None:
    # chain: leaf first, trust anchor last. Each non-anchor certificate needs a CRL from its issuer.
    for cert, issuer in itertools.pairwise(chain):
        matching = [c for c in crls if c.issuer == issuer.subject and _verify_signed_by(c, issuer)]
        if not matching:
            raise CertificateInvalid(f"no valid CRL from issuer {issuer.subject.rfc4514_string()}")
        crl = max(matching, key=lambda c: c.last_update_utc)
        if crl.last_update_utc > at:
            raise CertificateInvalid("the CRL is not yet valid at the validation time")
        if crl.next_update_utc is not None and crl.next_update_utc < at:
            raise CertificateInvalid(
                f"the CRL of {issuer.subject.rfc4514_string()} is stale (next update was "
                f"{crl.next_update_utc.isoformat()})"
            )
        revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if revoked is not None and revoked.revocation_date_utc <= at:
            raise CertificateInvalid(
                f"certificate {cert.serial_number:x} was revoked on {revoked.revocation_date_utc.isoformat()}"
            )


def validate_certificate(
    cert: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    trust_anchors: Iterable[x509.Certificate],
    at: datetime,
    crls: Iterable[x509.CertificateRevocationList] = (),
    *,
    purpose: Purpose = "client",
    hostname: str | None = None,
) -> list[x509.Certificate]:
    """Check that ``cert`` chains to one of ``trust_anchors`` and is valid at ``at``.

    ``purpose``: ``client`` requires EKU clientAuth, ``server`` serverAuth (and ``hostname`` in the SAN
    when given), ``any`` one of the two (use it for signing certificates: contract signatures and access
    tokens). With ``crls`` given, every certificate below the anchor must have a current CRL from its
    issuer and must not be on it (fail closed). Returns the verified chain (leaf first, anchor last);
    raises :class:`CertificateInvalid` with the reason.
    """
    at = _aware(at)
    anchors = list(trust_anchors)
    if not anchors:
        raise CertificateInvalid("no trust anchors configured")
    # Clear reasons for the frequent cases first; the verifier below checks everything again.
    if at < cert.not_valid_before_utc:
        raise CertificateInvalid(f"certificate is not valid before {cert.not_valid_before_utc.isoformat()}")
    if at > cert.not_valid_after_utc:
        raise CertificateInvalid(f"certificate expired on {cert.not_valid_after_utc.isoformat()}")
    eku = _eku(cert)
    wanted = {
        "client": {ExtendedKeyUsageOID.CLIENT_AUTH},
        "server": {ExtendedKeyUsageOID.SERVER_AUTH},
        "any": {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH},
    }[purpose]
    if eku is not None and not (eku & wanted) and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
        names = {"client": "clientAuth", "server": "serverAuth", "any": "clientAuth or serverAuth"}[purpose]
        raise CertificateInvalid(f"certificate's extended key usage does not allow {names}")

    builder = xv.PolicyBuilder().store(xv.Store(anchors)).time(at.replace(tzinfo=None))
    inter = list(intermediates)
    use_server = purpose == "server" or (
        purpose == "any" and eku is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in eku
    )
    try:
        if use_server:
            if hostname is not None:
                import ipaddress

                try:
                    subject: xv.Subject = xv.IPAddress(ipaddress.ip_address(hostname))
                except ValueError:
                    subject = xv.DNSName(hostname)
                chain = builder.build_server_verifier(subject).verify(cert, inter)
            else:
                chain = _verify_server_without_name(builder, cert, inter)
        else:
            chain = builder.build_client_verifier().verify(cert, inter).chain
    except xv.VerificationError as e:
        raise CertificateInvalid(_reason(str(e))) from None
    crl_list = list(crls)
    if crl_list:
        _check_crls(chain, crl_list, at)
    return list(chain)


def _verify_server_without_name(
    builder: xv.PolicyBuilder, cert: x509.Certificate, inter: list[x509.Certificate]
) -> list[x509.Certificate]:
    # Verify as a server certificate for the first name it carries (the name itself is not checked).
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertificateInvalid("certificate has no subjectAltName") from None
    dns = sans.get_values_for_type(x509.DNSName)
    ips = sans.get_values_for_type(x509.IPAddress)
    subject: xv.Subject
    if dns:
        # a wildcard name "*.example.nl" is checked as a host one label below it
        subject = xv.DNSName("x." + dns[0][2:] if dns[0].startswith("*.") else dns[0])
    elif ips:
        subject = xv.IPAddress(ips[0])
    else:
        raise CertificateInvalid("certificate's subjectAltName holds no DNS name or IP address")
    return list(builder.build_server_verifier(subject).verify(cert, inter))


def _reason(msg: str) -> str:
    low = msg.lower()
    if "not valid at validation time" in low:
        return "a certificate in the chain (e.g. the trust anchor) is not valid at the validation time"
    if "candidates exhausted" in low or "no issuer" in low or ("issuer" in low and "not found" in low):
        return f"certificate does not chain to a trust anchor of the Group ({msg})"
    return f"certificate path validation failed: {msg}"


def verify_signature_key(pub: object) -> None:
    """Raise unless ``pub`` is an EC or RSA public key (the algorithms FSC allows)."""
    if not isinstance(pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise CertificateInvalid("only EC and RSA certificate keys are allowed")


__all__ = ["Purpose", "validate_certificate", "verify_signature_key"]
