"""DNSSEC method against NSD + validating Unbound with our own trust anchor (loopback only)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from dnsinfra import DnsLab, ZoneSpec, running_lab, tools_available

from nds.standards.checks.dns import DnsClient, DnssecStatus, dnssec_subtests
from nds.standards.checks.dns.dnssec import CLAUSE_EXISTS, CLAUSE_VALID
from nds.standards.model import Status
from nds.standards.net import NetworkConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not tools_available(), reason="nsd/unbound missing: run 'make system-deps'"),
]

ZONES = [
    ZoneSpec("secure.test.", ["@ A 127.0.0.1", "_25._tcp.mx TLSA 3 1 1 " + "ab" * 32, "mx A 127.0.0.1"]),
    ZoneSpec("insecure.test.", ["@ A 127.0.0.1", "_25._tcp.mx TLSA 3 1 1 " + "ab" * 32], mode="insecure"),
    ZoneSpec("expired.test.", ["@ A 127.0.0.1", "_25._tcp.mx TLSA 3 1 1 " + "ab" * 32], mode="expired"),
    ZoneSpec("stripped.test.", ["@ A 127.0.0.1"], mode="stripped"),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsLab]:
    with running_lab(ZONES) as lab:
        yield lab


def _net(lab: DnsLab) -> NetworkConfig:
    return NetworkConfig(resolver=lab.resolver, dns_timeout=2.0, retries=1)


def _by_id(results):
    return {r.id: r for r in results}


def test_secure_zone(lab: DnsLab) -> None:
    r = _by_id(asyncio.run(dnssec_subtests("secure.test", _net(lab))))
    assert r["dnssec.exists"].status is Status.PASSED and r["dnssec.exists"].clause == CLAUSE_EXISTS
    assert r["dnssec.valid"].status is Status.PASSED and r["dnssec.valid"].clause == CLAUSE_VALID


def test_insecure_zone(lab: DnsLab) -> None:
    r = _by_id(asyncio.run(dnssec_subtests("insecure.test", _net(lab))))
    assert r["dnssec.exists"].status is Status.FAILED
    assert "not DNSSEC-signed" in r["dnssec.exists"].detail
    assert r["dnssec.valid"].status is Status.NOT_TESTED


@pytest.mark.parametrize(("zone", "ede"), [("expired.test", 7), ("stripped.test", 9)])
def test_bogus_zones(lab: DnsLab, zone: str, ede: int) -> None:
    r = _by_id(asyncio.run(dnssec_subtests(zone, _net(lab))))
    assert r["dnssec.exists"].status is Status.PASSED
    assert r["dnssec.valid"].status is Status.FAILED
    assert "bogus" in r["dnssec.valid"].detail and r["dnssec.valid"].clause == CLAUSE_VALID
    # RFC 8914: 7 = Signature Expired, 9 = DNSKEY Missing
    assert f"EDE {ede}" in r["dnssec.valid"].detail


def test_cd_queries_hide_bogus_which_is_why_soa_goes_without_cd(lab: DnsLab) -> None:
    async def go():
        c = DnsClient(_net(lab))
        return await c.query("expired.test", "A"), await c.query("expired.test", "SOA", accurate_secure=True)

    with_cd, without_cd = asyncio.run(go())
    assert with_cd.rcode == "NOERROR" and with_cd.dnssec is DnssecStatus.INSECURE
    # 7 (Signature Expired) when fresh; Unbound answers 6 (DNSSEC Bogus) from its bogus cache
    assert without_cd.dnssec is DnssecStatus.BOGUS and without_cd.ede in ((7,), (6,))


def test_nonexistent_domain_is_not_tested(lab: DnsLab) -> None:
    r = _by_id(asyncio.run(dnssec_subtests("nope.secure.test", _net(lab))))
    assert r["dnssec.exists"].status is Status.NOT_TESTED
    assert "NXDOMAIN" in r["dnssec.exists"].detail


def test_resolver_down_is_error() -> None:
    from dnsinfra import free_port

    net = NetworkConfig(resolver=("127.0.53.9", free_port("127.0.53.9")), dns_timeout=0.3, retries=0)
    r = _by_id(asyncio.run(dnssec_subtests("secure.test", net)))
    assert r["dnssec.exists"].status is Status.ERROR and r["dnssec.valid"].status is Status.ERROR


def test_tlsa_status_exact(lab: DnsLab) -> None:
    async def go():
        c = DnsClient(_net(lab))
        return [
            await c.query(f"_25._tcp.mx.{z}", "TLSA", accurate_secure=True)
            for z in ("secure.test", "insecure.test", "expired.test")
        ]

    sec, insec, bogus = asyncio.run(go())
    assert (sec.dnssec, insec.dnssec, bogus.dnssec) == (
        DnssecStatus.SECURE,
        DnssecStatus.INSECURE,
        DnssecStatus.BOGUS,
    )
    assert sec.records == ("3 1 1 " + "ab" * 32,)
    assert bogus.records == sec.records  # data still available (CD retry)
