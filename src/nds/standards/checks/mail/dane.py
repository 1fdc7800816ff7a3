"""DANE for SMTP (RFC 7672, RFC 6698/7671): pure matching of TLSA records against the chain sent.

Only DANE-TA(2) and DANE-EE(3) are usable on port 25; PKIX-TA(0)/PKIX-EE(1) records are ignored
(RFC 7672 §3.1.3). DANE-EE matches the leaf and ignores names and dates (§3.1.1); DANE-TA
matches a certificate of the chain, the leaf must chain up to it and carry the MX name (§3.1.2, §3.2.2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

USABLE_USAGES = (2, 3)


@dataclass(frozen=True)
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    @classmethod
    def parse(cls, text: str) -> Tlsa:
        parts = text.split()
        if len(parts) < 4:
            raise ValueError(f"malformed TLSA record {text!r}")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]), bytes.fromhex("".join(parts[3:])))

    @property
    def usable(self) -> bool:
        return (
            self.usage in USABLE_USAGES
            and self.selector in (0, 1)
            and self.mtype in (0, 1, 2)
            and (self.mtype != 1 or len(self.data) == 32)
            and (self.mtype != 2 or len(self.data) == 64)
        )

    def text(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"


def _selected(cert: x509.Certificate, selector: int) -> bytes:
    if selector == 0:
        return cert.public_bytes(serialization.Encoding.DER)
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def matches(rec: Tlsa, cert: x509.Certificate) -> bool:
    data = _selected(cert, rec.selector)
    if rec.mtype == 1:
        data = hashlib.sha256(data).digest()
    elif rec.mtype == 2:
        data = hashlib.sha512(data).digest()
    return data == rec.data


def name_matches(cert: x509.Certificate, host: str) -> bool:
    host = host.rstrip(".").lower()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [
            a.value
            for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            if isinstance(a.value, str)
        ]
    for n in names:
        n = n.rstrip(".").lower()
        if n == host:
            return True
        if n.startswith("*.") and "." in host and host.split(".", 1)[1] == n[2:]:
            return True
    return False


def _chains_to(chain: list[x509.Certificate], index: int) -> bool:
    """Each certificate from the leaf up to ``index`` is signed by the next one."""
    try:
        for i in range(index):
            chain[i].verify_directly_issued_by(chain[i + 1])
    except (ValueError, TypeError, Exception):  # InvalidSignature and unsupported key types alike
        return False
    return True


@dataclass(frozen=True)
class DaneMatch:
    matched: list[str]  # TLSA records (text) that authenticate the chain
    usable: list[str]
    ignored: list[str]  # usages 0/1 or unusable parameters
    problems: list[str]


def match_chain(records: list[Tlsa], chain_der: list[bytes], mx_host: str) -> DaneMatch:
    chain = [x509.load_der_x509_certificate(c) for c in chain_der]
    usable = [r for r in records if r.usable]
    ignored = [r.text() for r in records if not r.usable]
    matched: list[str] = []
    problems: list[str] = []
    for r in usable:
        if not chain:
            break
        if r.usage == 3:
            if matches(r, chain[0]):
                matched.append(r.text())
            continue
        for i, cert in enumerate(chain[1:], start=1):
            if matches(r, cert):
                if not _chains_to(chain, i):
                    problems.append(f"{r.text()[:40]}…: the leaf does not chain up to the matching TA")
                elif not name_matches(chain[0], mx_host):
                    problems.append(
                        f"{r.text()[:40]}…: the certificate does not name {mx_host} (RFC 7672 §3.2.2)"
                    )
                else:
                    matched.append(r.text())
                break
    return DaneMatch(matched, [r.text() for r in usable], ignored, problems)


def rollover_scheme(records: list[Tlsa]) -> str | None:
    """internet.nl's rollover schemes: two DANE-EE (3 x x) records, or DANE-EE plus DANE-TA."""
    usable = [r for r in records if r.usable]
    ee = {r.data for r in usable if r.usage == 3}
    ta = [r for r in usable if r.usage == 2]
    if len(ee) >= 2:
        return "two DANE-EE (3 x x) records (current + next key)"
    if ee and ta:
        return "DANE-EE plus DANE-TA (3 x x + 2 x x)"
    return None
