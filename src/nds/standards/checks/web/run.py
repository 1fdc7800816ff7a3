"""Orchestrating one web target: ``check_web(host, net, profile)`` — the entry point rounds call.

Per address (every A/AAAA, or the ``--connect-to`` pin) the TLS scan and the HTTP requests run one after
the other (politeness: one connection at a time per address); addresses and the DNS-based families
(DNSSEC, IPv6, RPKI, CAA) run concurrently. Everything is asyncio; the blocking full handshake runs in a
worker thread.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from nds.standards import legal
from nds.standards.checks.tls import evaluate as tls_eval
from nds.standards.checks.tls.probe import HandshakeCounter
from nds.standards.checks.tls.retrieve import TlsFacts, scan_address
from nds.standards.checks.web import evaluate as web_eval
from nds.standards.checks.web.dane import evaluate_dane
from nds.standards.checks.web.headers import evaluate_headers
from nds.standards.checks.web.retrieve import HttpFacts, retrieve_http
from nds.standards.checks.web.securitytxt import evaluate_security_txt
from nds.standards.model import SUBTESTS, Report, Status, TestResult
from nds.standards.net import NetworkConfig
from nds.standards.policy import LEGAL_PROFILE, Profile, get_profile, profiles


@dataclass
class WebFacts:
    """Everything retrieved for one web target (stored raw by rounds)."""

    host: str
    addresses: list[tuple[str, int]] = field(default_factory=list)
    tls: list[TlsFacts] = field(default_factory=list)
    http: list[HttpFacts] = field(default_factory=list)
    dns_results: list[TestResult] = field(default_factory=list)  # DNSSEC/IPv6/RPKI/CAA verdicts
    tlsa: Any = None  # Lookup of _443._tcp.<host> TLSA (None: DNS checks off)
    resolve_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for storage; ``from_json`` + ``report_from_facts`` re-evaluate it under any profile."""
        return {
            "host": self.host,
            "addresses": [list(a) for a in self.addresses],
            "tls": [t.to_json() for t in self.tls],
            "http": [h.to_json() for h in self.http],
            "dns_results": [r.to_json() for r in self.dns_results],
            "tlsa": self.tlsa.to_json() if self.tlsa is not None else None,
            "resolve_error": self.resolve_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebFacts:
        tlsa = None
        if data.get("tlsa"):
            from nds.standards.checks.dns.resolver import DnssecStatus, Lookup

            t = data["tlsa"]
            tlsa = Lookup(
                t["name"],
                t["type"],
                t["rcode"],
                tuple(t.get("records", [])),
                DnssecStatus(t.get("dnssec", "insecure")),
                tuple(t.get("ede", [])),
            )
        return cls(
            host=data["host"],
            addresses=[(str(a), int(p)) for a, p in data.get("addresses", [])],
            tls=[TlsFacts.from_json(t) for t in data.get("tls", [])],
            http=[HttpFacts.from_json(h) for h in data.get("http", [])],
            dns_results=[
                TestResult(
                    r["id"],
                    Status(r["status"]),
                    r["detail"],
                    r["clause"],
                    r.get("fix", ""),
                    r.get("target", ""),
                    r.get("facts", {}),
                )
                for r in data.get("dns_results", [])
            ],
            tlsa=tlsa,
            resolve_error=data.get("resolve_error"),
        )


async def _addresses(host: str, net: NetworkConfig) -> tuple[list[tuple[str, int]], str | None]:
    pinned = net.route(host, 443)
    if pinned and pinned[0]:
        return [pinned], None
    port = pinned[1] if pinned else 443  # "HOST:443::PORT": resolve as usual, another port
    try:
        ipaddress.ip_address(host)
        return [(host, port)], None
    except ValueError:
        pass
    try:
        from nds.standards.checks.dns.resolver import DnsClient
    except ImportError:  # pragma: no cover - the DNS family is part of the same package
        DnsClient = None  # type: ignore[assignment,misc]
    found: list[tuple[str, int]] = []
    failures: list[str] = []
    if DnsClient is not None:
        client = DnsClient(net)
        for rdtype in ("A", "AAAA"):
            lookup = await client.query(host, rdtype)
            found += [(rec, port) for rec in lookup.records]
            if not lookup.answered:
                failures.append(f"{rdtype} {lookup.rcode}")
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443)
        found = sorted({(str(i[4][0]), port) for i in infos})
    if found:
        return found, None
    if failures:
        return found, f"DNS lookup for {host} failed ({', '.join(failures)})"
    return found, f"no A or AAAA records for {host}"


async def _caa(host: str, net: NetworkConfig) -> TestResult:
    """RFC 8659 §3: the CAA RRset of the closest ancestor (the name itself first) that has one."""
    from nds.standards.checks.dns.resolver import DnsClient

    client = DnsClient(net)
    labels = host.split(".")
    for i in range(len(labels) - 1):
        name = ".".join(labels[i:])
        lookup = await client.query(name, "CAA")
        if not lookup.answered:
            return web_eval.caa(None, None, f"{name}: {lookup.rcode}")
        if lookup.records:
            return web_eval.caa(list(lookup.records), name)
    return web_eval.caa([], None)


async def _ns_addresses(host: str, client: Any) -> dict[str, list[str]]:
    from nds.standards.checks.ipv6.check import find_ns

    _, names, _ = await find_ns(host, client)
    out: dict[str, list[str]] = {}
    for ns in names:
        v4, v6 = await client.addresses(ns)
        out[ns] = v4 + v6
    return out


async def _dns_families(
    host: str, net: NetworkConfig, addresses: list[tuple[str, int]], rpki_source: Any
) -> list[TestResult]:
    """DNSSEC, IPv6 and RPKI from the DNS family (imported lazily), and CAA — concurrently."""

    async def guarded(coro: Any, ids: list[str]) -> list[TestResult]:
        try:
            return list(await coro)
        except Exception as exc:  # a family's failure must not sink the whole test
            return [
                TestResult(i, Status.ERROR, f"check failed: {type(exc).__name__}: {exc}", "") for i in ids
            ]

    jobs = []
    try:
        from nds.standards.checks.dns.dnssec import dnssec_subtests
        from nds.standards.checks.dns.resolver import DnsClient

        client = DnsClient(net)
        jobs.append(guarded(dnssec_subtests(host, net, client=client), ["dnssec.exists", "dnssec.valid"]))
    except ImportError:
        client = None
    try:
        from nds.standards.checks.ipv6.check import web_ipv6_subtests

        jobs.append(guarded(web_ipv6_subtests(host, net, client), ["ipv6.web"]))
    except ImportError:
        pass
    try:
        from nds.standards.checks.rpki.check import rpki_subtests

        async def rpki() -> list[TestResult]:
            out = await rpki_subtests({host: [a for a, _ in addresses]}, net, rpki_source, role="web")
            if rpki_source is not None and client is not None:
                out += await rpki_subtests(await _ns_addresses(host, client), net, rpki_source, role="ns")
            return out

        jobs.append(guarded(rpki(), ["rpki.web_exists"]))
    except ImportError:
        pass
    jobs.append(guarded(_single(_caa(host, net)), ["cert.caa"]))
    out: list[TestResult] = []
    for part in await asyncio.gather(*jobs):
        out += part
    return out


async def _single(coro: Any) -> list[TestResult]:
    return [await coro]


def _rpki_source(net: NetworkConfig) -> Any:
    """The default RPKI source: the files named in ``net.extra`` (``rpki_vrps``/``rpki_routes``)."""
    vrps, routes = net.extra.get("rpki_vrps"), net.extra.get("rpki_routes")
    if not (vrps and routes):
        return None
    from pathlib import Path

    from nds.standards.checks.rpki.sources import FileSource

    return FileSource.load(Path(vrps), Path(routes))


async def _one_address(
    host: str, addr: str, port: int, net: NetworkConfig, counter: HandshakeCounter
) -> tuple[TlsFacts, HttpFacts]:
    ca = str(net.ca_file) if net.ca_file else None
    tls = await scan_address(
        addr, port, host, timeout=net.timeout, ca_file=ca, counter=counter, retries=min(net.retries, 1)
    )
    http = await retrieve_http(host, addr, net, counter, https_port=port)
    return tls, http


async def retrieve_web(
    host: str,
    net: NetworkConfig,
    counter: HandshakeCounter,
    *,
    dns_checks: bool = True,
    rpki_source: Any = None,
) -> WebFacts:
    facts = WebFacts(host=host)
    facts.addresses, facts.resolve_error = await _addresses(host, net)
    per_address = [_one_address(host, a, p, net, counter) for a, p in facts.addresses]
    source = rpki_source if rpki_source is not None else _rpki_source(net)
    jobs: list[Any] = list(per_address)
    if dns_checks:
        jobs += [_dns_families(host, net, facts.addresses, source), _tlsa(host, net)]
    results = await asyncio.gather(*jobs)
    for item in results[: len(per_address)]:
        tls, http = item
        facts.tls.append(tls)
        facts.http.append(http)
    if dns_checks:
        facts.dns_results = list(results[-2])
        facts.tlsa = results[-1]
    return facts


async def _tlsa(host: str, net: NetworkConfig) -> Any:
    """TLSA at _443._tcp.<host>, asked without CD so SECURE is exact (internet.nl, issue #1869)."""
    try:
        from nds.standards.checks.dns.resolver import DnsClient

        return await DnsClient(net).query(f"_443._tcp.{host}", "TLSA", accurate_secure=True)
    except Exception:  # DANE is info/notice only: its lookup failing must not sink the test
        return None


_TLS_SUBTESTS = [
    SUBTESTS.get(i)
    for i in (
        "tls.version",
        "tls.ciphers",
        "tls.cipher_order",
        "tls.key_exchange",
        "tls.kex_hash",
        "tls.compression",
        "tls.renegotiation",
        "tls.client_renegotiation",
        "tls.zero_rtt",
        "tls.ems",
        "tls.ocsp_stapling",
        "cert.trust",
        "cert.pubkey",
        "cert.signature",
        "cert.hostname",
    )
]


def evaluate_web(facts: WebFacts, p: Profile) -> list[TestResult]:
    """All web subtests under profile ``p`` (pure)."""
    out: list[TestResult] = []
    if not facts.addresses:
        out.append(
            TestResult(
                web_eval.HTTPS_AVAILABLE.id,
                Status.FAILED,
                facts.resolve_error or "no address",
                web_eval.HTTPS_AVAILABLE.clause,
                "Publish A/AAAA records for the web server.",
            )
        )
        return out
    for tls, http in zip(facts.tls, facts.http, strict=True):
        available = web_eval.https_available(tls)
        out.append(available)
        if available.status is Status.PASSED:
            out += tls_eval.evaluate_tls(tls, p)
            out += tls_eval.evaluate_cert(tls, facts.host, p)
        else:  # as internet.nl: without HTTPS the TLS and certificate subtests are not tested
            out += [
                TestResult(
                    sub.id, Status.NOT_TESTED, "no HTTPS on this address", sub.clause, target=tls.address
                )
                for sub in _TLS_SUBTESTS
            ]
        out.append(web_eval.https_redirect(http, facts.host))
        out.append(web_eval.https_hsts(http))
        if not http.https_error:
            out.append(web_eval.http_compression(http, p))
            out += evaluate_headers(http)
            out.append(evaluate_security_txt(http, facts.host))
    out += evaluate_dane(facts.host, facts.tlsa, facts.tls)
    return out


def _with_profiles(results: list[TestResult], by_profile: dict[str, list[TestResult]]) -> list[TestResult]:
    """Add ``facts.by_profile`` ({profile: status}) to every result whose verdict depends on the profile."""
    index = {name: {(r.id, r.target): r.status for r in rs} for name, rs in by_profile.items()}
    out = []
    for r in results:
        if "profile" not in (r.facts or {}):
            out.append(r)
            continue
        statuses = {
            name: idx[(r.id, r.target)].value for name, idx in index.items() if (r.id, r.target) in idx
        }
        facts = dict(r.facts)
        facts["by_profile"] = statuses
        out.append(TestResult(r.id, r.status, r.detail, r.clause, r.fix, r.target, facts))
    return out


def report_from_facts(facts: WebFacts, profile: str) -> Report:
    """Evaluate stored facts: the report under ``profile`` plus the legal verdict under ncsc-2.1.1."""
    p = get_profile(profile)
    by_profile = {name: evaluate_web(facts, prof) for name, prof in profiles().items()}
    tests = _with_profiles(by_profile[p.name], by_profile)
    tests += facts.dns_results
    hsts = {}
    for http in facts.http:
        values = http.https_chain[0].header("strict-transport-security") if http.https_chain else []
        hsts[http.address] = values[0] if values and not http.https_error else None
    verdict = legal.https_verdict(by_profile[LEGAL_PROFILE], hsts)
    return Report(target=facts.host, profile=p.name, tests=tests, legal=verdict)


async def check_web(
    host: str,
    net: NetworkConfig,
    profile: str,
    counter: HandshakeCounter | None = None,
    *,
    dns_checks: bool = True,
    rpki_source: Any = None,
) -> Report:
    """Run the website test for ``host`` under TLS ``profile``; ``counter`` accumulates TLS handshakes.

    ``dns_checks=False`` skips DNSSEC/IPv6/RPKI/CAA; ``rpki_source`` defaults to the files named in
    ``net.extra`` (``rpki_vrps``/``rpki_routes``), else RPKI is not_tested. Raises ValueError for an
    unknown profile; network trouble becomes statuses, never exceptions.
    """
    get_profile(profile)
    host = host.strip().lower().rstrip(".")
    counter = counter if counter is not None else HandshakeCounter()
    facts = await retrieve_web(host, net, counter, dns_checks=dns_checks, rpki_source=rpki_source)
    return report_from_facts(facts, profile)
