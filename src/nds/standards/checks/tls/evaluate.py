"""Pure evaluation of recorded TLS facts under an NCSC profile (no network).

Status rule (internet.nl ``tasks_reports.py``): any *insufficient* item fails the subtest, otherwise any
*phase out* item gives a warning, otherwise it passes. A subtest never reports worse than its declared
worst status (notice-level subtests report ``warning`` at most, info-level ``info``).
"""

from __future__ import annotations

from collections.abc import Callable

from nds.standards.checks.tls.certs import (  # noqa: F401 - re-exported: the certificate rules
    CERT_HOSTNAME,
    CERT_PUBKEY,
    CERT_SIGNATURE,
    CERT_TRUST,
    evaluate_cert,
    hostname,
    load_chain,
    name_matches,
    pubkey,
    signature,
    trust,
)
from nds.standards.checks.tls.rating import INFO, TLS, F, W, _d, _Items, _na, _simple, _verdict, cap  # noqa: F401
from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import Status, TestResult
from nds.standards.policy import Level, Profile, Rating

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


LEGACY_ORDER = ["TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3"]


def cipher_order(f: TlsFacts, p: Profile) -> TestResult:
    """B2-5 as internet.nl tests it: at the highest TLS <= 1.2 version, the server must prefer every better
    class (good > sufficient > phase out > insufficient) over every worse one. TLS 1.3 is not judged
    (clients choose well there), nor a version whose suites all fall in one class."""
    fix = (
        "Enable server cipher preference (e.g. nginx ssl_prefer_server_ciphers on) and order the suites "
        "good, sufficient, phase out."
    )
    legacy = [v for v in LEGACY_ORDER if f.suites.get(v)]
    if not legacy:
        return _simple(
            TLS_ORDER,
            p.cipher_order["not_prescribed"],
            p,
            "TLS 1.3 only: no order prescribed",
            fix,
            f.address,
            {"server_order": f.server_order},
        )
    ver = legacy[0]
    names = f.suites[ver]
    levels = [p.suite(n).level for n in names]
    problem = ""
    if len(set(levels)) > 1:
        enforced = f.server_order.get(ver)
        if enforced is False:
            problem = f"{ver}: the server follows the client's order, so it may pick a weaker suite"
        elif enforced:
            for i in range(len(names) - 1):
                if levels[i].rank > levels[i + 1].rank:
                    problem = (
                        f"{ver}: prefers {names[i]} ({levels[i].value}) over {names[i + 1]} "
                        f"({levels[i + 1].value})"
                    )
                    break
    if problem:
        key, detail = "not_enforced", problem
    elif len(set(levels)) == 1:
        key, detail = (
            "not_prescribed",
            f"{ver}: all suites in one class ({levels[0].value}): no order prescribed",
        )
    else:
        key, detail = "enforced", f"{ver}: the server prefers good > sufficient > phase out"
    return _simple(
        TLS_ORDER, p.cipher_order[key], p, detail, fix, f.address, {"server_order": f.server_order}
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
