"""A DNS stub client against one configured *validating* resolver, with internet.nl's DNSSEC method.

DNSSEC status of an answer (as internet.nl ``checks/resolver.py``, learned, not copied):

- ``bogus`` when the answer carries an RFC 8914 Extended DNS Error of the bogus class
  (DNSSEC Bogus, Signature Expired, Signature Not Yet Valid, DNSKEY Missing, RRSIGs Missing,
  No Zone Key Bit Set, NSEC Missing);
- ``secure`` when the resolver set the AD flag (RFC 4035 §3.2.3);
- ``insecure`` otherwise.

Queries normally carry CD (RFC 4035 §3.2.2), so a bogus zone still yields its data. Where
``secure`` must be exact (SOA for DNSSEC itself, TLSA for DANE) the query goes *without* CD: a
validating resolver then answers SERVFAIL for bogus data, which we take as bogus once a CD retry
shows the data exists (a SERVFAIL on both is a broken delegation: an error, not bogus).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import dns.asyncquery
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from nds.standards.net import NetworkConfig

BOGUS_EDE = frozenset(
    {
        dns.edns.EDECode.DNSSEC_BOGUS,
        dns.edns.EDECode.SIGNATURE_EXPIRED,
        dns.edns.EDECode.SIGNATURE_NOT_YET_VALID,
        dns.edns.EDECode.DNSKEY_MISSING,
        dns.edns.EDECode.RRSIGS_MISSING,
        dns.edns.EDECode.NO_ZONE_KEY_BIT_SET,
        dns.edns.EDECode.NSEC_MISSING,
    }
)

# rcodes we report; "TIMEOUT" is ours (no answer at all after the retries).
TIMEOUT = "TIMEOUT"


class DnssecStatus(StrEnum):
    SECURE = "secure"
    INSECURE = "insecure"
    BOGUS = "bogus"


def dnssec_status_of(message: dns.message.Message) -> DnssecStatus:
    """internet.nl's rule: bogus-class EDE first, then the AD flag."""
    if any(e.code in BOGUS_EDE for e in message.extended_errors()):
        return DnssecStatus.BOGUS
    if message.flags & dns.flags.AD:
        return DnssecStatus.SECURE
    return DnssecStatus.INSECURE


def _txt_text(rd: Any) -> str:
    # RFC 7208 §3.3: the strings of one TXT record are concatenated without spaces.
    return b"".join(rd.strings).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Lookup:
    """The recorded outcome of one query: what evaluation needs, as plain data."""

    name: str
    rdtype: str
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or TIMEOUT
    records: tuple[str, ...] = ()  # TXT: joined strings; others: presentation format
    dnssec: DnssecStatus = DnssecStatus.INSECURE
    ede: tuple[int, ...] = ()
    canonical: str = ""  # the name after following CNAMEs

    @property
    def answered(self) -> bool:
        """NOERROR or NXDOMAIN: the DNS gave a definite answer."""
        return self.rcode in ("NOERROR", "NXDOMAIN")

    @property
    def void(self) -> bool:
        """RFC 7208 §4.6.4: NXDOMAIN or NOERROR without answers."""
        return self.rcode == "NXDOMAIN" or (self.rcode == "NOERROR" and not self.records)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.rdtype,
            "rcode": self.rcode,
            "records": list(self.records),
            "dnssec": self.dnssec.value,
        }
        if self.ede:
            out["ede"] = list(self.ede)
        return out


def _extract(
    msg: dns.message.Message, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> tuple[list[Any], str]:
    """The rdatas of (qname, rdtype), following a CNAME chain inside the answer section."""
    current = qname
    for _ in range(16):
        rrset = msg.get_rrset(msg.answer, current, dns.rdataclass.IN, rdtype)
        if rrset is not None:
            return list(rrset), current.to_text()
        cname = msg.get_rrset(msg.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is None or rdtype == dns.rdatatype.CNAME:
            break
        current = next(iter(cname)).target
    return [], current.to_text()


def default_servers() -> list[tuple[str, int]]:
    """The system's resolvers (/etc/resolv.conf) when no --resolver was given."""
    try:
        r = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        return []
    return [(str(ns), 53) for ns in r.nameservers]


@dataclass
class DnsClient:
    """An async stub client with a per-run cache (MX, SPF includes and NS are asked once)."""

    net: NetworkConfig
    servers: list[tuple[str, int]] = field(default_factory=list)
    _cache: dict[tuple[str, str, bool], Lookup] = field(default_factory=dict)
    _locks: dict[tuple[str, str, bool], asyncio.Lock] = field(default_factory=dict)
    queries: int = 0

    def __post_init__(self) -> None:
        if not self.servers:
            self.servers = [self.net.resolver] if self.net.resolver else default_servers()

    async def _ask(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, cd: bool
    ) -> dns.message.Message | None:
        q = dns.message.make_query(qname, rdtype, want_dnssec=True, use_edns=0, payload=1232)
        q.flags |= dns.flags.RD
        if cd:
            q.flags |= dns.flags.CD
        for attempt in range(self.net.retries + 1):
            for addr, port in self.servers:
                self.queries += 1
                with contextlib.suppress(dns.exception.DNSException, OSError, ValueError):
                    resp, _ = await dns.asyncquery.udp_with_fallback(
                        q, addr, timeout=self.net.dns_timeout, port=port
                    )
                    return resp
            if attempt < self.net.retries:
                await asyncio.sleep(0.2 * (attempt + 1))
        return None

    def _lookup(
        self,
        name: str,
        rdtype: dns.rdatatype.RdataType,
        msg: dns.message.Message | None,
        status: DnssecStatus | None = None,
    ) -> Lookup:
        tname = dns.rdatatype.to_text(rdtype)
        if msg is None:
            return Lookup(name, tname, TIMEOUT)
        qname = dns.name.from_text(name)
        rdatas, canonical = _extract(msg, qname, rdtype)
        if rdtype == dns.rdatatype.TXT:
            records = tuple(_txt_text(rd) for rd in rdatas)
        else:
            records = tuple(rd.to_text() for rd in rdatas)
        return Lookup(
            name,
            tname,
            dns.rcode.to_text(msg.rcode()),
            records,
            status or dnssec_status_of(msg),
            tuple(int(e.code) for e in msg.extended_errors()),
            canonical,
        )

    async def query(self, name: str, rdtype: str, *, accurate_secure: bool = False) -> Lookup:
        """Resolve ``name``/``rdtype``; ``accurate_secure`` queries without CD (SOA, TLSA)."""
        name = name.rstrip(".").lower() + "."
        key = (name, rdtype.upper(), accurate_secure)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._cache:
                return self._cache[key]
            result = await self._resolve(name, dns.rdatatype.from_text(rdtype), accurate_secure)
            self._cache[key] = result
            return result

    async def _resolve(self, name: str, rdtype: dns.rdatatype.RdataType, accurate_secure: bool) -> Lookup:
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            return Lookup(name, dns.rdatatype.to_text(rdtype), "FORMERR")
        if not accurate_secure:
            return self._lookup(name, rdtype, await self._ask(qname, rdtype, cd=True))
        msg = await self._ask(qname, rdtype, cd=False)
        if msg is not None and msg.rcode() == dns.rcode.SERVFAIL:
            retry = await self._ask(qname, rdtype, cd=True)
            if retry is not None and retry.rcode() != dns.rcode.SERVFAIL:
                # The data exists but does not validate: bogus (internet.nl issue #1869).
                found = self._lookup(name, rdtype, retry, DnssecStatus.BOGUS)
                ede = tuple(int(e.code) for e in msg.extended_errors())
                return Lookup(
                    found.name,
                    found.rdtype,
                    found.rcode,
                    found.records,
                    DnssecStatus.BOGUS,
                    ede or found.ede,
                    found.canonical,
                )
        return self._lookup(name, rdtype, msg)

    async def addresses(self, name: str) -> tuple[list[str], list[str]]:
        """(IPv4, IPv6) addresses of ``name``."""
        a, aaaa = await asyncio.gather(self.query(name, "A"), self.query(name, "AAAA"))
        return list(a.records), list(aaaa.records)
