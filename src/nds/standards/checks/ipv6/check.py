"""IPv6 subtests (internet.nl's IPv6 category, learned, not copied).

- ``ipv6.ns``: at least two name servers of the domain have an AAAA record;
- ``ipv6.ns_reachable``: every such IPv6 address answers DNS queries;
- ``ipv6.web``: the web host has an AAAA record; ``ipv6.web_reachable``: every IPv6 address
  accepts connections on every port (80/443) that IPv4 accepts; ``ipv6.web_same``: the same site
  over IPv4 and IPv6 (same HTTP status, simhash distance ≤ 10);
- ``ipv6.mx``: every MX host has an AAAA record; ``ipv6.mx_reachable``: port 25 reachable over IPv6.

Retrieval (``retrieve_*``) records facts; ``evaluate_*`` are pure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from nds.standards.checks.dns.resolver import DnsClient
from nds.standards.checks.ipv6.reach import distance, dns_reachable, http_fetch, simhash, tcp_reachable
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult
from nds.standards.net import NetworkConfig

STANDARD = "ipv6"
CLAUSE_NS = "Forum Standaardisatie 'IPv6 en IPv4' (name servers with IPv6); RFC 3596 (AAAA)"
CLAUSE_WEB = "Forum Standaardisatie 'IPv6 en IPv4' (web server reachable over IPv6); RFC 8200"
CLAUSE_MX = "Forum Standaardisatie 'IPv6 en IPv4' (mail server reachable over IPv6); RFC 8200"
SIMHASH_MAX_DISTANCE = 10

for _id, _title, _clause in (
    ("ipv6.ns", "At least two name servers have an IPv6 address", CLAUSE_NS),
    ("ipv6.ns_reachable", "Name servers reachable over IPv6", CLAUSE_NS),
    ("ipv6.web", "Web server has an IPv6 address", CLAUSE_WEB),
    ("ipv6.web_reachable", "Web server reachable over IPv6", CLAUSE_WEB),
    ("ipv6.web_same", "Same website over IPv6 and IPv4", CLAUSE_WEB),
    ("ipv6.mx", "Every mail server (MX) has an IPv6 address", CLAUSE_MX),
    ("ipv6.mx_reachable", "Mail servers reachable over IPv6", CLAUSE_MX),
):
    SUBTESTS.declare(Subtest(_id, STANDARD, Status.FAILED, _title, _clause))


# --- name servers -------------------------------------------------------------------------------


@dataclass
class NsFacts:
    zone: str
    rcode: str
    servers: dict[str, list[str]] = field(default_factory=dict)  # NS name -> IPv6 addresses
    reachable: dict[str, bool] = field(default_factory=dict)  # "ns addr" -> answered


async def find_ns(domain: str, client: DnsClient) -> tuple[str, list[str], str]:
    """The NS set of the zone holding ``domain`` (climbing from a non-apex name)."""
    labels = domain.rstrip(".").split(".")
    rcode = ""
    for i in range(len(labels) - 1):
        name = ".".join(labels[i:])
        lk = await client.query(name, "NS")
        rcode = rcode or lk.rcode
        if lk.rcode not in ("NOERROR", "NXDOMAIN"):
            return name, [], lk.rcode
        if lk.records:
            return name, sorted(r.rstrip(".").lower() for r in lk.records), "NOERROR"
    return domain, [], rcode or "NXDOMAIN"


async def retrieve_ns(domain: str, net: NetworkConfig, client: DnsClient) -> NsFacts:
    zone, names, rcode = await find_ns(domain, client)
    facts = NsFacts(zone, rcode)
    for ns in names:
        facts.servers[ns] = sorted((await client.query(ns, "AAAA")).records)
    checks = [(ns, a) for ns, addrs in facts.servers.items() for a in addrs]
    results = await asyncio.gather(*(dns_reachable(net, ns, a, zone) for ns, a in checks))
    facts.reachable = {f"{ns} {a}": ok for (ns, a), ok in zip(checks, results, strict=True)}
    return facts


def evaluate_ns(f: NsFacts) -> list[TestResult]:
    info: dict[str, Any] = {"zone": f.zone, "ns_ipv6": f.servers}
    if not f.servers:
        d = (
            f"no name servers found for {f.zone} ({f.rcode})"
            if f.rcode != "NOERROR"
            else f"no name servers found for {f.zone}"
        )
        st = Status.ERROR if f.rcode not in ("NOERROR", "NXDOMAIN") else Status.NOT_TESTED
        return [
            TestResult("ipv6.ns", st, d, CLAUSE_NS, facts=info),
            TestResult("ipv6.ns_reachable", st, d, CLAUSE_NS, facts=info),
        ]
    with6 = [ns for ns, a in f.servers.items() if a]
    if len(with6) >= 2:
        ns_r = TestResult(
            "ipv6.ns",
            Status.PASSED,
            f"{len(with6)} of {len(f.servers)} name servers have an IPv6 address",
            CLAUSE_NS,
            facts=info,
        )
    else:
        ns_r = TestResult(
            "ipv6.ns",
            Status.FAILED,
            f"only {len(with6)} of {len(f.servers)} name servers "
            "have an IPv6 address; at least two are required",
            CLAUSE_NS,
            fix="Give at least two name servers an AAAA record (ask your DNS provider).",
            facts=info,
        )
    if not with6:
        return [
            ns_r,
            TestResult(
                "ipv6.ns_reachable",
                Status.NOT_TESTED,
                "no name server has an IPv6 address",
                CLAUSE_NS,
                facts=info,
            ),
        ]
    down = [k for k, ok in f.reachable.items() if not ok]
    facts = {**info, "reachable": f.reachable}
    if down:
        reach = TestResult(
            "ipv6.ns_reachable",
            Status.FAILED,
            "not reachable over IPv6: " + ", ".join(down),
            CLAUSE_NS,
            fix="Make the name servers answer DNS queries on their IPv6 addresses.",
            facts=facts,
        )
    else:
        reach = TestResult(
            "ipv6.ns_reachable",
            Status.PASSED,
            "every IPv6 name server address answers",
            CLAUSE_NS,
            facts=facts,
        )
    return [ns_r, reach]


async def ns_ipv6_subtests(
    domain: str, net: NetworkConfig, client: DnsClient | None = None
) -> list[TestResult]:
    client = client or DnsClient(net)
    return evaluate_ns(await retrieve_ns(domain, net, client))


# --- web ----------------------------------------------------------------------------------------


@dataclass
class WebFacts:
    host: str
    v4: list[str]
    v6: list[str]
    ports_v4: dict[str, list[int]] = field(default_factory=dict)
    ports_v6: dict[str, list[int]] = field(default_factory=dict)
    page_v4: tuple[int, int] | None = None  # (HTTP status, simhash)
    page_v6: tuple[int, int] | None = None


async def _page(net: NetworkConfig, host: str, addr: str, ports: list[int]) -> tuple[int, int] | None:
    for port, tls in ((443, True), (80, False)):
        if port in ports:
            got = await http_fetch(net, host, addr, port, tls)
            if got is not None:
                return got[0], simhash(got[1])
    return None


async def retrieve_web(host: str, net: NetworkConfig, client: DnsClient) -> WebFacts:
    v4, v6 = await client.addresses(host)
    f = WebFacts(host, sorted(v4), sorted(v6))
    for family, addrs in ((f.ports_v4, f.v4), (f.ports_v6, f.v6)):
        for a in addrs:
            family[a] = [p for p in (80, 443) if await tcp_reachable(net, host, a, p)]
    if f.v4 and f.v6:
        f.page_v4 = await _page(net, host, f.v4[0], f.ports_v4[f.v4[0]])
        f.page_v6 = await _page(net, host, f.v6[0], f.ports_v6[f.v6[0]])
    return f


def evaluate_web(f: WebFacts) -> list[TestResult]:
    info: dict[str, Any] = {"ipv4": f.v4, "ipv6": f.v6, "ports_v4": f.ports_v4, "ports_v6": f.ports_v6}
    if not f.v6:
        return [
            TestResult(
                "ipv6.web",
                Status.FAILED,
                f"{f.host} has no AAAA record",
                CLAUSE_WEB,
                fix="Publish an AAAA record for the web server.",
                facts=info,
            ),
            TestResult("ipv6.web_reachable", Status.NOT_TESTED, "no IPv6 address", CLAUSE_WEB),
            TestResult("ipv6.web_same", Status.NOT_TESTED, "no IPv6 address", CLAUSE_WEB),
        ]
    out = [
        TestResult(
            "ipv6.web",
            Status.PASSED,
            f"{f.host} has IPv6 address(es) {', '.join(f.v6)}",
            CLAUSE_WEB,
            facts=info,
        )
    ]
    wanted = set().union(*f.ports_v4.values()) if f.ports_v4 else {80, 443}
    missing = {a: sorted(wanted - set(p)) for a, p in f.ports_v6.items()}
    missing = {a: m for a, m in missing.items() if m or not f.ports_v6[a]}
    if missing:
        what = "; ".join(
            f"{a} not reachable on port(s) {', '.join(map(str, m or [80, 443]))}" for a, m in missing.items()
        )
        out.append(
            TestResult(
                "ipv6.web_reachable",
                Status.FAILED,
                what,
                CLAUSE_WEB,
                fix="Make the web server listen on its IPv6 address(es) on the same ports as IPv4.",
                facts=info,
            )
        )
        out.append(
            TestResult("ipv6.web_same", Status.NOT_TESTED, "web server not reachable over IPv6", CLAUSE_WEB)
        )
        return out
    out.append(
        TestResult(
            "ipv6.web_reachable",
            Status.PASSED,
            "every IPv6 address is reachable on " + ", ".join(map(str, sorted(wanted))),
            CLAUSE_WEB,
            facts=info,
        )
    )
    if not f.v4:
        out.append(
            TestResult("ipv6.web_same", Status.NOT_APPLICABLE, "no IPv4 address to compare with", CLAUSE_WEB)
        )
    elif f.page_v4 is None or f.page_v6 is None:
        out.append(
            TestResult(
                "ipv6.web_same",
                Status.NOT_TESTED,
                "could not fetch the page over " + ("IPv4" if f.page_v4 is None else "IPv6"),
                CLAUSE_WEB,
            )
        )
    else:
        d = distance(f.page_v4[1], f.page_v6[1])
        same = f.page_v4[0] == f.page_v6[0] and d <= SIMHASH_MAX_DISTANCE
        facts = {"status_v4": f.page_v4[0], "status_v6": f.page_v6[0], "simhash_distance": d}
        out.append(
            TestResult(
                "ipv6.web_same",
                Status.PASSED if same else Status.FAILED,
                ("same page" if same else "different page") + f" over IPv4 and IPv6 (HTTP {f.page_v4[0]} vs "
                f"{f.page_v6[0]}, simhash distance {d}, at most {SIMHASH_MAX_DISTANCE} allowed)",
                CLAUSE_WEB,
                fix="" if same else "Serve the same site on the IPv6 address(es) as on IPv4.",
                facts=facts,
            )
        )
    return out


async def web_ipv6_subtests(
    host: str, net: NetworkConfig, client: DnsClient | None = None
) -> list[TestResult]:
    """IPv6 subtests for a web host: name servers of its zone, and the web server itself."""
    client = client or DnsClient(net)
    ns = await ns_ipv6_subtests(host, net, client)
    return ns + evaluate_web(await retrieve_web(host, net, client))


# --- mail ---------------------------------------------------------------------------------------


@dataclass
class MxFacts:
    mx: dict[str, list[str]]  # MX host -> IPv6 addresses
    reachable: dict[str, bool] = field(default_factory=dict)  # "mx addr" -> port 25 open


async def retrieve_mx(mx_hosts: list[str], net: NetworkConfig, client: DnsClient) -> MxFacts:
    f = MxFacts({mx: sorted((await client.query(mx, "AAAA")).records) for mx in mx_hosts})
    for mx, addrs in f.mx.items():
        if addrs:  # one IPv6 address per MX, one connection at a time (politeness, as internet.nl)
            f.reachable[f"{mx} {addrs[0]}"] = await tcp_reachable(net, mx, addrs[0], 25)
    return f


def evaluate_mx(f: MxFacts) -> list[TestResult]:
    if not f.mx:
        return [
            TestResult("ipv6.mx", Status.NOT_APPLICABLE, "no mail servers (MX)", CLAUSE_MX),
            TestResult("ipv6.mx_reachable", Status.NOT_APPLICABLE, "no mail servers (MX)", CLAUSE_MX),
        ]
    out: list[TestResult] = []
    for mx, addrs in f.mx.items():
        if addrs:
            out.append(
                TestResult(
                    "ipv6.mx",
                    Status.PASSED,
                    f"{mx} has IPv6 address(es) {', '.join(addrs)}",
                    CLAUSE_MX,
                    target=mx,
                )
            )
        else:
            out.append(
                TestResult(
                    "ipv6.mx",
                    Status.FAILED,
                    f"{mx} has no AAAA record",
                    CLAUSE_MX,
                    fix="Publish an AAAA record for the mail server.",
                    target=mx,
                )
            )
    for key, ok in f.reachable.items():
        mx = key.split()[0]
        out.append(
            TestResult(
                "ipv6.mx_reachable",
                Status.PASSED if ok else Status.FAILED,
                f"{key}: port 25 {'reachable' if ok else 'not reachable'} over IPv6",
                CLAUSE_MX,
                fix="" if ok else "Make the mail server accept SMTP on its IPv6 address.",
                target=mx,
            )
        )
    if not f.reachable:
        out.append(TestResult("ipv6.mx_reachable", Status.NOT_TESTED, "no MX has an IPv6 address", CLAUSE_MX))
    return out


async def mx_ipv6_subtests(mx_hosts: list[str], net: NetworkConfig, client: DnsClient) -> list[TestResult]:
    return evaluate_mx(await retrieve_mx(mx_hosts, net, client))
