"""DNSSEC subtests (``dnssec.exists``, ``dnssec.valid``; for mail also per MX domain).

Retrieval is one SOA query without CD (see ``resolver``); evaluation is pure on the recorded
``Lookup``. Standard "DNSSEC" = worst of exists and valid (Forum Standaardisatie dashboard).
"""

from __future__ import annotations

from nds.standards.checks.dns.resolver import TIMEOUT, DnsClient, DnssecStatus, Lookup
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult
from nds.standards.net import NetworkConfig

STANDARD = "dnssec"
CLAUSE_EXISTS = "RFC 4033 §2 / RFC 4035 §2 (zone signed, chain of trust via DS)"
CLAUSE_VALID = "RFC 4035 §5 (validation result secure, not bogus); RFC 8914 §4 (EDE)"

EXISTS = SUBTESTS.declare(Subtest("dnssec.exists", STANDARD, Status.FAILED, "DNSSEC exists", CLAUSE_EXISTS))
VALID = SUBTESTS.declare(Subtest("dnssec.valid", STANDARD, Status.FAILED, "DNSSEC valid", CLAUSE_VALID))
MX_EXISTS = SUBTESTS.declare(
    Subtest("dnssec.mx_exists", STANDARD, Status.FAILED, "DNSSEC exists for every MX domain", CLAUSE_EXISTS)
)
MX_VALID = SUBTESTS.declare(
    Subtest("dnssec.mx_valid", STANDARD, Status.FAILED, "DNSSEC valid for every MX domain", CLAUSE_VALID)
)

FIX_SIGN = (
    "Sign the zone (e.g. with your DNS provider's DNSSEC option) and publish its DS record "
    "at the parent registry."
)
FIX_BOGUS = (
    "Validation fails: re-sign the zone (expired or missing signatures) or correct the DS "
    "record at the parent so it matches a DNSKEY in the zone."
)


def evaluate(soa: Lookup, *, target: str = "", mx: bool = False) -> list[TestResult]:
    """Pure evaluation of the SOA lookup of ``soa.name``."""
    ex, va = ("dnssec.mx_exists", "dnssec.mx_valid") if mx else ("dnssec.exists", "dnssec.valid")
    name = soa.name.rstrip(".")
    facts = {"soa": soa.to_json()}
    if soa.rcode == "NXDOMAIN" and soa.dnssec is not DnssecStatus.BOGUS:
        detail = f"{name} does not exist (NXDOMAIN)"
        return [
            TestResult(ex, Status.NOT_TESTED, detail, CLAUSE_EXISTS, target=target, facts=facts),
            TestResult(va, Status.NOT_TESTED, detail, CLAUSE_VALID, target=target, facts=facts),
        ]
    if soa.rcode not in ("NOERROR", "NXDOMAIN") and soa.dnssec is not DnssecStatus.BOGUS:
        why = "no answer from the resolver" if soa.rcode == TIMEOUT else f"resolver answered {soa.rcode}"
        detail = f"could not determine DNSSEC status of {name}: {why}"
        return [
            TestResult(ex, Status.ERROR, detail, CLAUSE_EXISTS, target=target, facts=facts),
            TestResult(va, Status.ERROR, detail, CLAUSE_VALID, target=target, facts=facts),
        ]
    if soa.dnssec is DnssecStatus.SECURE:
        return [
            TestResult(
                ex,
                Status.PASSED,
                f"{name} is signed with a chain of trust",
                CLAUSE_EXISTS,
                target=target,
                facts=facts,
            ),
            TestResult(
                va,
                Status.PASSED,
                f"{name} validates as secure (AD flag)",
                CLAUSE_VALID,
                target=target,
                facts=facts,
            ),
        ]
    if soa.dnssec is DnssecStatus.BOGUS:
        why = f" (EDE {', '.join(map(str, soa.ede))})" if soa.ede else " (SERVFAIL without CD)"
        return [
            TestResult(ex, Status.PASSED, f"{name} is signed", CLAUSE_EXISTS, target=target, facts=facts),
            TestResult(
                va,
                Status.FAILED,
                f"{name} is bogus: DNSSEC validation fails{why}",
                CLAUSE_VALID,
                fix=FIX_BOGUS,
                target=target,
                facts=facts,
            ),
        ]
    return [
        TestResult(
            ex,
            Status.FAILED,
            f"{name} is not DNSSEC-signed (insecure)",
            CLAUSE_EXISTS,
            fix=FIX_SIGN,
            target=target,
            facts=facts,
        ),
        TestResult(
            va,
            Status.NOT_TESTED,
            f"{name} is insecure: nothing to validate",
            CLAUSE_VALID,
            target=target,
            facts=facts,
        ),
    ]


async def retrieve(domain: str, client: DnsClient) -> Lookup:
    return await client.query(domain, "SOA", accurate_secure=True)


async def dnssec_subtests(
    domain: str, net: NetworkConfig, *, client: DnsClient | None = None
) -> list[TestResult]:
    """``dnssec.exists`` and ``dnssec.valid`` for ``domain`` (used by the web and mail checks)."""
    client = client or DnsClient(net)
    return evaluate(await retrieve(domain, client))


async def mx_dnssec_subtests(mx_hosts: list[str], client: DnsClient) -> list[TestResult]:
    """``dnssec.mx_exists`` / ``dnssec.mx_valid`` per MX host name (target = MX)."""
    out: list[TestResult] = []
    for mx in mx_hosts:
        out += evaluate(await retrieve(mx, client), target=mx.rstrip("."), mx=True)
    return out
