"""Pure evaluation of recorded TLS facts under an NCSC profile (no network).

Status rule (internet.nl ``tasks_reports.py``): any *insufficient* item fails the subtest, otherwise any
*phase out* item gives a warning, otherwise it passes. A subtest never reports worse than its declared
worst status (notice-level subtests report ``warning`` at most, info-level ``info``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult
from nds.standards.policy import Level, Profile, Rating

TLS = "tls_ncsc"
F, W, INFO = Status.FAILED, Status.WARNING, Status.INFO


def _d(id: str, worst: Status, title: str, clause: str, standard: str = TLS) -> Subtest:
    return SUBTESTS.declare(Subtest(id, standard, worst, title, clause))


TLS_VERSION = _d("tls.version", F, "TLS versions", "NCSC TLS guidelines: versions")
TLS_CIPHERS = _d("tls.ciphers", F, "Cipher suites", "NCSC TLS guidelines: cipher suites")
TLS_ORDER = _d("tls.cipher_order", F, "Server cipher preference", "NCSC TLS guidelines: B2-5")
TLS_KEX = _d("tls.key_exchange", F, "Key-exchange parameters", "NCSC TLS guidelines: key exchange")
TLS_KEX_HASH = _d("tls.kex_hash", F, "Hash function for key exchange", "NCSC TLS guidelines: hash functions")
TLS_COMPRESSION = _d("tls.compression", F, "TLS compression", "NCSC TLS guidelines: compression")
TLS_RENEG = _d("tls.renegotiation", F, "Secure renegotiation", "NCSC TLS guidelines: renegotiation")
TLS_CLIENT_RENEG = _d(
    "tls.client_renegotiation", INFO, "Client-initiated renegotiation", "NCSC TLS guidelines: renegotiation"
)
TLS_ZERO_RTT = _d("tls.zero_rtt", F, "0-RTT", "NCSC TLS guidelines: 0-RTT")
TLS_EMS = _d("tls.ems", F, "Extended Master Secret", "RFC 7627; NCSC TLS 2025-05")
TLS_OCSP = _d("tls.ocsp_stapling", W, "OCSP stapling", "NCSC TLS guidelines: OCSP stapling")
CERT_TRUST = _d("cert.trust", F, "Certificate trust chain", "NCSC TLS guidelines: certificates; RFC 5280 §6")
CERT_PUBKEY = _d("cert.pubkey", F, "Certificate public keys", "NCSC TLS guidelines: certificate keys")
CERT_SIGNATURE = _d("cert.signature", F, "Certificate signatures", "NCSC TLS guidelines: hash functions")
CERT_HOSTNAME = _d("cert.hostname", F, "Certificate matches the domain name", "RFC 6125 §6; RFC 9110 §4.3.4")

_STATUS = {
    Level.GOOD: Status.PASSED,
    Level.SUFFICIENT: Status.PASSED,
    Level.PHASE_OUT: Status.WARNING,
    Level.INSUFFICIENT: Status.FAILED,
}


def cap(status: Status, subtest: Subtest) -> Status:
    """A subtest never reports worse than its declared worst status."""
    return subtest.worst_status if status.rank < subtest.worst_status.rank else status


@dataclass
class _Items:
    """Rated items of one subtest; the worst decides."""

    rated: list[tuple[str, Rating]]

    def worst(self) -> tuple[Level, str]:
        if not self.rated:
            return Level.GOOD, ""
        _, rating = max(self.rated, key=lambda x: x[1].level.rank)
        return rating.level, rating.clause

    def names(self, level: Level) -> list[str]:
        return [n for n, r in self.rated if r.level is level]


def _verdict(
    sub: Subtest,
    items: _Items,
    profile: Profile,
    what: str,
    fix: str,
    target: str,
    facts: dict[str, object] | None = None,
) -> TestResult:
    level, clause = items.worst()
    status = cap(_STATUS[level], sub)
    bad = items.names(Level.INSUFFICIENT)
    phase = items.names(Level.PHASE_OUT)
    parts = []
    if bad:
        parts.append(f"insufficient {what}: {', '.join(bad)}")
    if phase:
        parts.append(f"phase-out {what}: {', '.join(phase)}")
    if not parts:
        ok = [n for n, _ in items.rated]
        parts.append(f"all {what} good or sufficient" + (f" ({', '.join(ok)})" if ok else ""))
    out_facts: dict[str, object] = {
        "profile": profile.name,
        "levels": {n: r.level.value for n, r in items.rated},
    }
    out_facts.update(facts or {})
    return TestResult(
        sub.id,
        status,
        "; ".join(parts),
        clause or sub.clause,
        fix if status is not Status.PASSED else "",
        target,
        out_facts,
    )


def _simple(
    sub: Subtest,
    rating: Rating,
    profile: Profile,
    detail: str,
    fix: str,
    target: str,
    facts: dict[str, object] | None = None,
) -> TestResult:
    status = cap(_STATUS[rating.level], sub)
    out: dict[str, object] = {"profile": profile.name, "level": rating.level.value}
    out.update(facts or {})
    return TestResult(
        sub.id, status, detail, rating.clause, fix if status is not Status.PASSED else "", target, out
    )


def _na(
    sub: Subtest, detail: str, target: str, profile: Profile, status: Status = Status.PASSED
) -> TestResult:
    return TestResult(sub.id, status, detail, sub.clause, "", target, {"profile": profile.name})


def version(f: TlsFacts, p: Profile) -> TestResult:
    items = _Items([(v, p.versions.get(v, p.versions["SSLv2"])) for v in f.versions])
    return _verdict(
        TLS_VERSION,
        items,
        p,
        "versions",
        "Disable the listed TLS/SSL versions; offer TLS 1.3 and, if needed, TLS 1.2.",
        f.address,
        {"versions": f.versions},
    )


def ciphers(f: TlsFacts, p: Profile) -> TestResult:
    items = _Items([(s, p.suite(s)) for s in f.all_suites])
    return _verdict(
        TLS_CIPHERS,
        items,
        p,
        "cipher suites",
        "Remove the listed cipher suites from the server configuration.",
        f.address,
    )


def cipher_order(f: TlsFacts, p: Profile) -> TestResult:
    problems: list[str] = []
    for ver, names in f.suites.items():
        levels = [p.suite(n).level for n in names]
        if not names or all(lv is Level.GOOD for lv in levels):
            continue
        enforced = f.server_order.get(ver)
        if enforced is False:
            problems.append(
                f"{ver}: the server follows the client's order although it offers non-good suites"
            )
        elif enforced:
            for i in range(len(names) - 1):
                if levels[i].rank > levels[i + 1].rank:
                    problems.append(
                        f"{ver}: prefers {names[i]} ({levels[i].value}) over {names[i + 1]} "
                        f"({levels[i + 1].value})"
                    )
                    break
    key = (
        "not_enforced"
        if problems
        else ("not_prescribed" if all(p.suite(n).level is Level.GOOD for n in f.all_suites) else "enforced")
    )
    rating = p.cipher_order[key]
    detail = "; ".join(problems) or (
        "only good suites offered: no order prescribed"
        if key == "not_prescribed"
        else "server enforces good > sufficient > phase-out"
    )
    return _simple(
        TLS_ORDER,
        rating,
        p,
        detail,
        "Enable server cipher preference (e.g. nginx "
        "ssl_prefer_server_ciphers on) and order suites good, sufficient, phase-out.",
        f.address,
        {"server_order": f.server_order},
    )


def key_exchange(f: TlsFacts, p: Profile) -> TestResult:
    rated = [(g, p.group(g)) for g in f.groups]
    for g in f.dh_groups:
        if g.startswith("custom-"):
            rated.append((f"DH {g} (self-generated)", p.dh_custom(int(g.split("-")[1]))))
        elif g.startswith("modp"):
            rated.append((f"DH {g} (RFC 3526, not an RFC 7919 group)", p.dh_custom(int(g[4:]))))
        else:
            rated.append((f"DH {g}", p.group(g)))
    if not rated:
        return _na(TLS_KEX, "no ephemeral key exchange observed (see cipher suites)", f.address, p)
    return _verdict(
        TLS_KEX,
        _Items(rated),
        p,
        "key-exchange groups",
        "Restrict the groups/curves and DH "
        "parameters to the ones the guideline rates good or sufficient (RFC 7919 groups for DHE).",
        f.address,
    )


def kex_hash(f: TlsFacts, p: Profile) -> TestResult:
    if f.kex_hash is None:
        return _na(TLS_KEX_HASH, "no signed key exchange observed", f.address, p)
    rating = p.kex_hash[f.kex_hash]
    detail = (
        "SHA-2 supported for signing the key exchange"
        if f.kex_hash == "sha2"
        else "the server cannot sign the key exchange with SHA-2"
    )
    return _simple(
        TLS_KEX_HASH,
        rating,
        p,
        detail,
        "Support SHA-256/384/512 signature algorithms (TLS 1.2 signature_algorithms).",
        f.address,
    )


def compression(f: TlsFacts, p: Profile) -> TestResult:
    return _simple(
        TLS_COMPRESSION,
        p.tls_compression[f.tls_compression],
        p,
        "TLS compression enabled" if f.tls_compression else "no TLS compression",
        "Disable TLS-level compression (CRIME).",
        f.address,
    )


def renegotiation(f: TlsFacts, p: Profile) -> TestResult:
    if f.secure_renegotiation is None:
        return _na(TLS_RENEG, "TLS 1.3 only: no renegotiation", f.address, p)
    return _simple(
        TLS_RENEG,
        p.secure_renegotiation[f.secure_renegotiation],
        p,
        "secure renegotiation supported (RFC 5746)"
        if f.secure_renegotiation
        else "secure renegotiation not supported (RFC 5746 renegotiation_info missing)",
        "Upgrade the TLS library; support RFC 5746 secure renegotiation.",
        f.address,
    )


def client_renegotiation(f: TlsFacts, p: Profile) -> TestResult:
    if f.client_renegotiation is None:
        if f.versions == ["TLSv1.3"]:
            return _na(TLS_CLIENT_RENEG, "TLS 1.3 only: no renegotiation", f.address, p)
        return _na(
            TLS_CLIENT_RENEG, "not tested (no completed TLS 1.2 handshake)", f.address, p, Status.NOT_TESTED
        )
    detail = {
        "off": "client-initiated renegotiation refused",
        "limited": "client-initiated renegotiation allowed a few times",
        "unlimited": "client-initiated renegotiation allowed without limit",
    }[f.client_renegotiation]
    r = p.client_renegotiation[f.client_renegotiation]
    res = _simple(TLS_CLIENT_RENEG, r, p, detail, "Disable client-initiated renegotiation.", f.address)
    if f.client_renegotiation != "off" and res.status is Status.PASSED:
        res = TestResult(
            res.id,
            Status.INFO,
            detail,
            r.clause,
            "Disable client-initiated renegotiation.",
            f.address,
            res.facts,
        )
    return res


def zero_rtt(f: TlsFacts, p: Profile) -> TestResult:
    if f.zero_rtt is None:
        if "TLSv1.3" not in f.versions:
            return _na(TLS_ZERO_RTT, "no TLS 1.3: no 0-RTT", f.address, p)
        return _na(TLS_ZERO_RTT, "not tested (no TLS 1.3 session ticket)", f.address, p, Status.NOT_TESTED)
    return _simple(
        TLS_ZERO_RTT,
        p.zero_rtt[f.zero_rtt],
        p,
        "session tickets allow 0-RTT early data" if f.zero_rtt else "no 0-RTT early data",
        "Disable TLS 1.3 early data (e.g. nginx ssl_early_data off).",
        f.address,
    )


def ems(f: TlsFacts, p: Profile) -> TestResult:
    if f.ems is None:
        return _na(TLS_EMS, "TLS 1.3 only: master secret always bound to the handshake", f.address, p)
    return _simple(
        TLS_EMS,
        p.ems[f.ems],
        p,
        "Extended Master Secret supported" if f.ems else "Extended Master Secret (RFC 7627) missing",
        "Upgrade the TLS library or enable RFC 7627 Extended Master Secret.",
        f.address,
    )


def ocsp(f: TlsFacts, p: Profile) -> TestResult:
    """Stapling is good, its absence sufficient; an invalid staple is insufficient (shown as a notice);
    without an OCSP responder in the certificate there is nothing to staple."""
    from nds.standards.checks.tls import ocsp as ocsp_rules

    fix = "Enable OCSP stapling (nginx ssl_stapling on) with a current response from the CA."
    chain = load_chain(f) if f.chain else []
    if chain and not ocsp_rules.responder_in_cert(chain[0]) and not f.ocsp_stapled:
        return _na(TLS_OCSP, "the certificate names no OCSP responder: nothing to staple", f.address, p)
    stapled = bool(f.ocsp_stapled)
    rating = p.ocsp_stapling[stapled]
    detail = "OCSP response stapled" if stapled else "no OCSP response stapled"
    if stapled and f.ocsp_response is not None and chain:
        why = ocsp_rules.problem(f.ocsp_response, chain)
        if why:
            rating = Rating(Level.INSUFFICIENT, rating.clause + "; RFC 6960 §3.2")
            detail = f"stapled OCSP response not valid: {why}"
        else:
            detail = "valid OCSP response stapled"
    return _simple(TLS_OCSP, rating, p, detail, fix, f.address)


TLS_RULES: list[Callable[[TlsFacts, Profile], TestResult]] = [
    version,
    ciphers,
    cipher_order,
    key_exchange,
    kex_hash,
    compression,
    renegotiation,
    client_renegotiation,
    zero_rtt,
    ems,
    ocsp,
]


def evaluate_tls(f: TlsFacts, p: Profile, *, mail: bool = False) -> list[TestResult]:
    """Every TLS subtest for one address. ``mail`` drops 0-RTT and OCSP (internet.nl mail rules)."""
    rules = [r for r in TLS_RULES if not (mail and r in (zero_rtt, ocsp))]
    return [rule(f, p) for rule in rules]


# --- certificates -----------------------------------------------------------------------------------------


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
