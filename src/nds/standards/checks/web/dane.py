"""DANE for HTTPS (RFC 6698, RFC 7671): TLSA at ``_443._tcp.<host>``, as internet.nl's web test shows it
(``dane.exists`` info, ``dane.valid`` notice — browsers do not use DANE, so it never counts).

Matching reuses the DNS family's TLSA code (``checks.mail.dane``). On the web all four usages apply:
DANE-EE(3)/DANE-TA(2) as for SMTP, and PKIX-EE(1)/PKIX-TA(0), which additionally need a chain that is
trusted the usual way (``cert.trust``).
"""

from __future__ import annotations

from typing import Any

from cryptography import x509

from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult

CLAUSE = "RFC 6698 §2.1; RFC 7671 §5; internet.nl web DANE"
DANE_EXISTS = SUBTESTS.declare(
    Subtest("dane.exists", "https", Status.INFO, "DANE TLSA record exists", CLAUSE)
)
DANE_VALID = SUBTESTS.declare(
    Subtest("dane.valid", "https", Status.WARNING, "DANE TLSA record matches the certificate", CLAUSE)
)


def evaluate_dane(host: str, tlsa: Any, tls: list[TlsFacts]) -> list[TestResult]:
    """``tlsa``: the DNS family's ``Lookup`` of ``_443._tcp.<host>`` TLSA (None: not looked up)."""
    from nds.standards.checks.dns.resolver import DnssecStatus
    from nds.standards.checks.mail import dane

    name = f"_443._tcp.{host}"
    if tlsa is None:
        return []
    facts = {"tlsa": tlsa.to_json()}
    if tlsa.dnssec is DnssecStatus.BOGUS:
        return [
            TestResult(
                DANE_EXISTS.id, Status.INFO, f"{name} TLSA is bogus (DNSSEC fails)", CLAUSE, facts=facts
            ),
            TestResult(
                DANE_VALID.id,
                Status.WARNING,
                "TLSA cannot be trusted (bogus)",
                CLAUSE,
                "Fix the DNSSEC signatures of the zone.",
                facts=facts,
            ),
        ]
    if not tlsa.answered:
        return [
            TestResult(
                DANE_EXISTS.id,
                Status.NOT_TESTED,
                f"TLSA lookup of {name} failed ({tlsa.rcode})",
                CLAUSE,
                facts=facts,
            )
        ]
    if not tlsa.records:
        return [TestResult(DANE_EXISTS.id, Status.INFO, f"no TLSA record at {name}", CLAUSE, facts=facts)]
    if tlsa.dnssec is not DnssecStatus.SECURE:
        return [
            TestResult(
                DANE_EXISTS.id,
                Status.INFO,
                f"{name} has TLSA records but they are not DNSSEC-signed: clients must ignore them",
                CLAUSE,
                facts=facts,
            )
        ]
    records, malformed = [], []
    for text in tlsa.records:
        try:
            records.append(dane.Tlsa.parse(text))
        except ValueError:
            malformed.append(text)
    out = [TestResult(DANE_EXISTS.id, Status.PASSED, f"DNSSEC-signed TLSA at {name}", CLAUSE, facts=facts)]
    for f in tls:
        if not f.chain:
            continue
        ok = _matching(records, f, host)
        if ok:
            out.append(
                TestResult(
                    DANE_VALID.id,
                    Status.PASSED,
                    f"TLSA {ok[0]} matches",
                    CLAUSE,
                    target=f.address,
                    facts={"matched": ok},
                )
            )
        else:
            extra = f" (malformed: {', '.join(malformed)})" if malformed else ""
            out.append(
                TestResult(
                    DANE_VALID.id,
                    Status.WARNING,
                    f"no TLSA record at {name} matches the certificate chain{extra}",
                    CLAUSE,
                    "Update the TLSA records before (or together with) a certificate change.",
                    target=f.address,
                )
            )
    return out


def _matching(records: list[Any], f: TlsFacts, host: str) -> list[str]:
    from nds.standards.checks.mail import dane

    dane_recs = [r for r in records if r.usage in (2, 3)]
    ok = list(dane.match_chain(dane_recs, f.chain, host).matched)
    if f.trust_error is None:  # PKIX usages need ordinary trust as well
        chain = [x509.load_der_x509_certificate(c) for c in f.chain]
        for r in records:
            if (r.usage == 1 and chain and dane.matches(r, chain[0])) or (
                r.usage == 0 and any(dane.matches(r, c) for c in chain[1:])
            ):
                ok.append(r.text())
    return ok
