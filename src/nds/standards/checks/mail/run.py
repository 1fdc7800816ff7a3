"""Orchestrating one mail domain: ``check_mail(domain, net, profile)`` (the entry point rounds call)."""

from __future__ import annotations

from typing import Any

from nds.standards.checks.dns.dnssec import dnssec_subtests, mx_dnssec_subtests
from nds.standards.checks.dns.resolver import DnsClient
from nds.standards.checks.ipv6.check import MxFacts, evaluate_mx, find_ns, ns_ipv6_subtests
from nds.standards.checks.mail.evaluate import evaluate_dkim, evaluate_dmarc, evaluate_spf, non_sending
from nds.standards.checks.mail.evaluate_mx import evaluate_transport
from nds.standards.checks.mail.retrieve import MailFacts, retrieve
from nds.standards.checks.rpki import RpkiSource, rpki_subtests
from nds.standards.model import Report, Status, TestResult
from nds.standards.net import NetworkConfig


def evaluate(facts: MailFacts, profile: Any) -> list[TestResult]:
    """Every mail subtest that follows from the retrieved facts alone (pure)."""
    out: list[TestResult] = []
    if facts.mx.rcode == "NXDOMAIN":
        from nds.standards.checks.mail.evaluate_mx import evaluate_mx_state

        d = f"{facts.domain} does not exist"
        return [evaluate_mx_state(facts)] + [
            TestResult(i, Status.NOT_TESTED, d, "RFC 1034 §4.3.2")
            for i in ("mail.spf", "mail.dmarc", "mail.dkim", "mail.starttls")
        ]
    out += evaluate_spf(facts.spf)
    out += evaluate_dmarc(facts.dmarc)
    out.append(evaluate_dkim(facts.dkim, sending=not non_sending(facts.spf, facts.dmarc)))
    out += evaluate_transport(facts, profile)
    out += evaluate_mx(_ipv6_mx_facts(facts))
    return out


def _ipv6_mx_facts(facts: MailFacts) -> MxFacts:
    """IPv6 reachability of each MX from the SMTP sessions already made (no extra connections)."""
    f = MxFacts({h.name: sorted(h.aaaa.records) for h in facts.hosts})
    for h in facts.hosts:
        for p in h.probes:
            if ":" in p.address:
                f.reachable[f"{h.name} {p.address}"] = p.session.outcome != "unreachable"
    return f


def _rpki_source(net: NetworkConfig) -> RpkiSource | None:
    vrps, routes = net.extra.get("rpki_vrps"), net.extra.get("rpki_routes")
    if not (vrps and routes):
        return None
    from pathlib import Path

    from nds.standards.checks.rpki.sources import FileSource

    return FileSource.load(Path(vrps), Path(routes))


async def _ns_addresses(domain: str, client: DnsClient) -> dict[str, list[str]]:
    _, names, _ = await find_ns(domain, client)
    out: dict[str, list[str]] = {}
    for ns in names:
        v4, v6 = await client.addresses(ns)
        out[ns] = v4 + v6
    return out


async def check_mail(
    domain: str,
    net: NetworkConfig,
    profile: str | None = None,
    *,
    rpki_source: RpkiSource | None = None,
    counter: Any = None,
    context: Any = None,
) -> Report:
    """Run the mail test for ``domain`` under TLS ``profile``.

    ``context``: a round's ``RoundContext`` (one SMTP test at a time per MX address across the round,
    MX results cached); ``rpki_source`` defaults to the files named in ``net.extra``
    (``rpki_vrps``/``rpki_routes``), as the web test does."""
    from nds.standards.policy import DEFAULT_PROFILE, get_profile

    prof = get_profile(profile or DEFAULT_PROFILE)
    client = DnsClient(net)
    domain = domain.strip().rstrip(".").lower()
    facts = await retrieve(domain, net, client, counter=counter, context=context)
    if rpki_source is None:
        rpki_source = _rpki_source(net)
    tests = evaluate(facts, prof)
    if facts.mx.rcode != "NXDOMAIN":
        tests += await dnssec_subtests(domain, net, client=client)
        tests += await mx_dnssec_subtests(facts.mx_names, client)
        tests += await ns_ipv6_subtests(domain, net, client)
        mx_addrs = {h.name: list(h.a.records) + list(h.aaaa.records) for h in facts.hosts}
        tests += await rpki_subtests(mx_addrs, net, rpki_source, role="mx")
        tests += await rpki_subtests(await _ns_addresses(domain, client), net, rpki_source, role="ns")
        mx_ns: dict[str, list[str]] = {}
        for h in facts.hosts:
            mx_ns.update(await _ns_addresses(h.name, client))
        tests += await rpki_subtests(mx_ns, net, rpki_source, role="mx_ns")
    return Report(target=domain, profile=prof.name, tests=tests)
