"""Certificate rules (pure): trust, public keys and signature hashes of every certificate sent except the
root, and the host name (RFC 6125)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from nds.standards.checks.tls.rating import F, TestResult, _d, _Items, _verdict
from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import Status
from nds.standards.policy import Profile

CERT_TRUST = _d("cert.trust", F, "Certificate trust chain", "NCSC TLS guidelines: certificates; RFC 5280 §6")
CERT_PUBKEY = _d("cert.pubkey", F, "Certificate public keys", "NCSC TLS guidelines: certificate keys")
CERT_SIGNATURE = _d("cert.signature", F, "Certificate signatures", "NCSC TLS guidelines: hash functions")
CERT_HOSTNAME = _d("cert.hostname", F, "Certificate matches the domain name", "RFC 6125 §6; RFC 9110 §4.3.4")


def load_chain(f: TlsFacts) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(c) for c in f.chain]


def _without_root(chain: list[x509.Certificate]) -> list[x509.Certificate]:
    """Every certificate sent except a self-signed root at the end (internet.nl's rule)."""
    if len(chain) > 1 and chain[-1].subject == chain[-1].issuer:
        return chain[:-1]
    return chain


def _label(c: x509.Certificate) -> str:
    try:
        cn = c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(cn[0].value) if cn else c.subject.rfc4514_string()
    except ValueError:
        return "certificate"


def pubkey(f: TlsFacts, p: Profile, chain: list[x509.Certificate]) -> TestResult:
    rated = []
    for c in _without_root(chain):
        key = c.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            rated.append((f"{_label(c)}: RSA-{key.key_size}", p.rsa(key.key_size)))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            rated.append((f"{_label(c)}: EC {key.curve.name}", p.curve(key.curve.name)))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            rated.append((f"{_label(c)}: Ed25519", p.curve("ed25519")))
        elif isinstance(key, ed448.Ed448PublicKey):
            rated.append((f"{_label(c)}: Ed448", p.curve("ed448")))
        elif isinstance(key, dsa.DSAPublicKey):
            rated.append((f"{_label(c)}: DSA-{key.key_size}", p.rsa_key_default))
        else:
            rated.append((f"{_label(c)}: {type(key).__name__}", p.rsa_key_default))
    return _verdict(
        CERT_PUBKEY,
        _Items(rated),
        p,
        "public keys",
        "Reissue the certificate with an RSA key of at least 3072 bits or an ECDSA P-256/P-384 key.",
        f.address,
    )


def signature(f: TlsFacts, p: Profile, chain: list[x509.Certificate]) -> TestResult:
    rated = []
    for c in _without_root(chain):
        h = c.signature_hash_algorithm
        name = h.name if h is not None else "eddsa"
        rated.append((f"{_label(c)}: {name}", p.cert_hash(name)))
    return _verdict(
        CERT_SIGNATURE,
        _Items(rated),
        p,
        "signature hashes",
        "Reissue the certificate signed with SHA-256 or better.",
        f.address,
    )


def trust(f: TlsFacts, p: Profile) -> TestResult:
    if f.trust_error is None:
        return TestResult(
            CERT_TRUST.id,
            Status.PASSED,
            "the chain leads to a trusted root",
            CERT_TRUST.clause,
            "",
            f.address,
            {"profile": p.name},
        )
    return TestResult(
        CERT_TRUST.id,
        Status.FAILED,
        f"certificate not trusted: {f.trust_error}",
        CERT_TRUST.clause,
        "Install a certificate from a trusted CA and send the complete "
        "intermediate chain; renew expired certificates.",
        f.address,
        {"profile": p.name},
    )


def _dns_names(c: x509.Certificate) -> list[str]:
    try:
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)]


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4.3: exact, or a ``*`` as the whole left-most label matching exactly one label."""
    host = host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and rest.count(".") >= 1
    return False


def hostname(f: TlsFacts, host: str, p: Profile, chain: list[x509.Certificate]) -> TestResult:
    names = _dns_names(chain[0]) if chain else []
    if any(name_matches(n, host) for n in names):
        return TestResult(
            CERT_HOSTNAME.id,
            Status.PASSED,
            f"{host} is in the certificate's subjectAltName",
            CERT_HOSTNAME.clause,
            "",
            f.address,
            {"profile": p.name, "names": names},
        )
    return TestResult(
        CERT_HOSTNAME.id,
        Status.FAILED,
        f"{host} does not match the certificate names ({', '.join(names) or 'no DNS names'})",
        CERT_HOSTNAME.clause,
        "Reissue the certificate with this host name in subjectAltName.",
        f.address,
        {"profile": p.name, "names": names},
    )


def evaluate_cert(f: TlsFacts, host: str, p: Profile, *, mail: bool = False) -> list[TestResult]:
    chain = load_chain(f)
    if not chain:
        return [
            TestResult(
                s.id,
                Status.FAILED if not mail else Status.INFO,
                "no certificate received",
                s.clause,
                "",
                f.address,
                {"profile": p.name},
            )
            for s in (CERT_TRUST, CERT_PUBKEY, CERT_SIGNATURE, CERT_HOSTNAME)
        ]
    out = [trust(f, p), pubkey(f, p, chain), signature(f, p, chain), hostname(f, host, p, chain)]
    if mail:  # internet.nl: trust and host name are info-only for mail (DANE decides)
        out = [
            TestResult(r.id, Status.INFO, r.detail, r.clause, r.fix, r.target, r.facts)
            if r.id in (CERT_TRUST.id, CERT_HOSTNAME.id) and r.status is Status.FAILED
            else r
            for r in out
        ]
    return out
