"""Network retrieval for the mail test: DNS facts (SPF tree, DMARC, DKIM, MX, TLSA) and, per MX,
one IPv4 and one IPv6 address tested over SMTP STARTTLS, one connection at a time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from nds.standards.checks.dns.resolver import DnsClient, Lookup
from nds.standards.checks.ipv6.reach import route_address
from nds.standards.checks.mail import dmarc as dm
from nds.standards.checks.mail import spf
from nds.standards.checks.mail.smtp import SessionResult, StarttlsProxy, session
from nds.standards.net import NetworkConfig

MAX_MX = 10  # MX hosts tested per domain
MAX_SPF_NAMES = 30  # TXT names followed through include/redirect (beyond 10 lookups is a fail anyway)
MAX_DMARC_DESTINATIONS = 10


@dataclass
class DmarcFacts:
    domain: str
    own: Lookup
    org_domain: str
    org: Lookup | None = None
    authorisations: dict[str, Lookup] = field(default_factory=dict)  # destination host -> lookup


@dataclass
class Probe:
    """One MX address: the SMTP session outcome and, when STARTTLS worked, the TLS facts."""

    address: str
    session: SessionResult
    tls: Any = None  # nds.standards.checks.tls.retrieve.TlsFacts
    scan_failures: list[str] = field(default_factory=list)  # SMTP preambles that failed mid-scan


@dataclass
class MxHost:
    name: str
    preference: int
    a: Lookup
    aaaa: Lookup
    tlsa: Lookup | None = None
    probes: list[Probe] = field(default_factory=list)


@dataclass
class MailFacts:
    domain: str
    mx: Lookup
    spf: spf.SpfFacts
    dmarc: DmarcFacts
    dkim: Lookup
    hosts: list[MxHost] = field(default_factory=list)
    null_mx: bool = False
    null_mx_mixed: bool = False

    @property
    def mx_names(self) -> list[str]:
        return [h.name for h in self.hosts]


def parse_mx(records: tuple[str, ...]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for r in records:
        pref, _, name = r.partition(" ")
        try:
            out.append((int(pref), name.strip().rstrip(".").lower()))
        except ValueError:
            continue
    return sorted(out)


async def retrieve_spf(domain: str, client: DnsClient) -> spf.SpfFacts:
    facts = spf.SpfFacts(domain)
    queue = [domain]
    while queue and len(facts.txt) < MAX_SPF_NAMES:
        name = queue.pop(0)
        if name in facts.txt:
            continue
        lk = await client.query(name, "TXT")
        facts.txt[name] = lk
        recs = spf.spf_records(lk)
        if len(recs) != 1:
            continue
        txt_names, hosts = spf.targets(spf.parse(recs[0]), name)
        queue += [n for n in txt_names if n not in facts.txt]
        for rtype, host in hosts:
            key = f"{rtype} {host}"
            if key not in facts.hosts:
                types = ["A", "AAAA"] if rtype == "A" else ["MX"]
                facts.hosts[key] = list(await asyncio.gather(*(client.query(host, t) for t in types)))
    return facts


async def retrieve_dmarc(domain: str, client: DnsClient) -> DmarcFacts:
    own = await client.query(f"_dmarc.{domain}", "TXT")
    facts = DmarcFacts(domain, own, dm.org_domain(domain))
    record_at = domain
    if not dm.dmarc_records(own) and own.answered and facts.org_domain != domain:
        facts.org = await client.query(f"_dmarc.{facts.org_domain}", "TXT")
        record_at = facts.org_domain
    found = dm.dmarc_records(facts.org if facts.org is not None else own)
    if len(found) == 1:
        rec = dm.parse(found[0])
        for host in dm.external_hosts(rec, record_at)[:MAX_DMARC_DESTINATIONS]:
            facts.authorisations[host] = await client.query(f"{record_at}._report._dmarc.{host}", "TXT")
    return facts


def _pick(lk: Lookup) -> str | None:
    return sorted(lk.records)[0] if lk.records else None


async def probe_address(
    mx: str,
    address: str,
    net: NetworkConfig,
    profile_timeout: float,
    counter: Any = None,
    context: Any = None,
) -> Probe:
    """SMTP session check, then the TLS scan through a STARTTLS proxy (sessions serialised).

    ``context`` (a round's ``RoundContext``) gives one lock per MX address across all domains of a
    round and a cache, so a mail host serving many domains is tested once per round."""
    if context is None:
        return await _probe(mx, address, net, profile_timeout, counter)
    key = f"{mx} {address}"
    async with context.mx_lock(address):
        cached = context.mx_cache.get(key)
        if cached is None:
            cached = await _probe(mx, address, net, profile_timeout, counter)
            if cached.tls is not None and hasattr(context, "handshakes"):
                context.handshakes += cached.tls.handshakes
            context.mx_cache[key] = cached
        return cached


async def _probe(mx: str, address: str, net: NetworkConfig, profile_timeout: float, counter: Any) -> Probe:
    addr, port = route_address(net, mx, address, 25)
    res, stream = await session(addr, port, net)
    if stream is not None:  # this first session only established STARTTLS works: close it
        stream[1].close()
    probe = Probe(address, res)
    if not res.ok:
        return probe
    from nds.standards.checks.tls.retrieve import scan_address

    async with StarttlsProxy(addr, port, net) as proxy:
        host, pport = proxy.listen
        probe.tls = await scan_address(
            host,
            pport,
            mx,
            timeout=profile_timeout,
            ca_file=str(net.ca_file) if net.ca_file else None,
            counter=counter,
        )
        probe.tls.address = address
        probe.tls.port = 25
        probe.scan_failures = list(proxy.failures)
    return probe


async def retrieve_mx_host(
    pref: int,
    name: str,
    client: DnsClient,
    net: NetworkConfig,
    *,
    smtp: bool = True,
    counter: Any = None,
    context: Any = None,
) -> MxHost:
    a, aaaa = await asyncio.gather(client.query(name, "A"), client.query(name, "AAAA"))
    host = MxHost(name, pref, a, aaaa)
    host.tlsa = await client.query(f"_25._tcp.{name}", "TLSA", accurate_secure=True)
    if smtp:
        for lk in (a, aaaa):  # one IPv4 and one IPv6 address per MX, one at a time
            address = _pick(lk)
            if address:
                host.probes.append(await probe_address(name, address, net, net.timeout, counter, context))
    return host


async def retrieve(
    domain: str,
    net: NetworkConfig,
    client: DnsClient | None = None,
    *,
    smtp: bool = True,
    counter: Any = None,
    context: Any = None,
) -> MailFacts:
    client = client or DnsClient(net)
    domain = domain.rstrip(".").lower()
    mx, spf_facts, dmarc_facts, dkim = await asyncio.gather(
        client.query(domain, "MX"),
        retrieve_spf(domain, client),
        retrieve_dmarc(domain, client),
        client.query(f"_domainkey.{domain}", "TXT"),
    )
    facts = MailFacts(domain, mx, spf_facts, dmarc_facts, dkim)
    entries = parse_mx(mx.records)
    names = [e for e in entries if e[1] not in ("", ".")]
    facts.null_mx = bool(entries) and len(names) < len(entries)
    facts.null_mx_mixed = facts.null_mx and bool(names)
    for pref, name in names[:MAX_MX]:
        facts.hosts.append(
            await retrieve_mx_host(pref, name, client, net, smtp=smtp, counter=counter, context=context)
        )
    return facts
