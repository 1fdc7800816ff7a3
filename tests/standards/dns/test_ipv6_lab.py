"""IPv6 web subtests against loopback HTTP servers (IPv4 127.0.55.x, IPv6 ::1) and the DNS lab."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from dnsinfra import DnsLab, SmtpLab, ZoneSpec, free_port, running_lab, tools_available

from nds.standards.checks.ipv6 import web_ipv6_subtests
from nds.standards.model import Status
from nds.standards.net import ConnectTo, NetworkConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not tools_available(), reason="nsd/unbound missing: run 'make system-deps'"),
]

PAGE = (
    b"<html><body><h1>Gemeente Voorbeeld</h1>"
    + b" ".join(b"dienst%d" % i for i in range(200))
    + b"</body></html>"
)
OTHER = b"<html><body>Welcome to nginx! If you see this page, the web server is installed.</body></html>"


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[DnsLab, NetworkConfig]]:
    servers = SmtpLab()
    try:
        v6 = servers.add_http("::1", {"same.test": PAGE, "diff.test": OTHER, "ports.test": PAGE})
        routes = [ConnectTo("::1", 80, "::1", v6), ConnectTo("::1", 443, "::1", free_port("::1"))]
        for i, name in enumerate(("same.test", "diff.test", "ports.test", "no6.test"), start=1):
            addr = f"127.0.55.{i}"
            routes.append(ConnectTo(addr, 80, addr, servers.add_http(addr, {name: PAGE})))
            closed = free_port(addr)
            routes.append(
                ConnectTo(addr, 443, addr, servers.add_http(addr, {}) if name == "ports.test" else closed)
            )
        zones = [
            ZoneSpec("same.test.", ["@ A 127.0.55.1", "@ AAAA ::1"]),
            ZoneSpec("diff.test.", ["@ A 127.0.55.2", "@ AAAA ::1"]),
            ZoneSpec("ports.test.", ["@ A 127.0.55.3", "@ AAAA ::1"]),
            ZoneSpec("no6.test.", ["@ A 127.0.55.4"]),
        ]
        with running_lab(zones) as lab:
            routes.append(ConnectTo("::1", 53, "::1", lab.nsd_port))
            yield (
                lab,
                NetworkConfig(
                    connect_to=tuple(routes), resolver=lab.resolver, timeout=3, dns_timeout=2, retries=0
                ),
            )
    finally:
        servers.stop()


def run(net: NetworkConfig, host: str) -> dict[str, object]:
    return {r.id: r for r in asyncio.run(web_ipv6_subtests(host, net))}


def test_same_site(env) -> None:
    r = run(env[1], "same.test")
    assert r["ipv6.web"].status is Status.PASSED
    assert r["ipv6.web_reachable"].status is Status.PASSED
    assert r["ipv6.web_same"].status is Status.PASSED and r["ipv6.web_same"].facts["simhash_distance"] <= 10
    assert r["ipv6.ns"].status is Status.FAILED  # only ns1.test has an AAAA


def test_different_site(env) -> None:
    r = run(env[1], "diff.test")
    assert r["ipv6.web_same"].status is Status.FAILED and "different page" in r["ipv6.web_same"].detail


def test_port_missing_over_ipv6(env) -> None:
    r = run(env[1], "ports.test")
    assert r["ipv6.web_reachable"].status is Status.FAILED and "443" in r["ipv6.web_reachable"].detail
    assert r["ipv6.web_same"].status is Status.NOT_TESTED


def test_no_aaaa(env) -> None:
    r = run(env[1], "no6.test")
    assert r["ipv6.web"].status is Status.FAILED and "no AAAA" in r["ipv6.web"].detail
