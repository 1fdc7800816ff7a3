"""Integration: ``check_web`` against real websites on loopback (aiohttp + Python ssl, separate 127.0.0.x
addresses), asserting exact statuses, clauses, the profile in every result and the legal verdict."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from nds_tls_helpers import TestCA
from websites import Site, security_txt, serve

from nds.standards.checks.tls.probe import HandshakeCounter
from nds.standards.checks.web.run import check_web
from nds.standards.model import Report, Status

pytestmark = pytest.mark.integration
HOST = "www.gemeente.test"


def run(
    site: Site, addr: str, profile: str = "ncsc-2025-05", counter: HandshakeCounter | None = None
) -> Report:
    async def go() -> Report:
        async with serve(site, addr) as net:
            return await check_web(site.host, net, profile, counter, dns_checks=False)

    return asyncio.run(go())


def status(report: Report, sub: str) -> Status:
    found = {r.status for r in report.tests if r.id == sub}
    assert len(found) == 1, (sub, found)
    return found.pop()


def result(report: Report, sub: str):
    (r,) = [r for r in report.tests if r.id == sub]
    return r


def test_good_site_passes_everything(ca: TestCA) -> None:
    site = Site(HOST, ca.issue(HOST, curve=ec.SECP256R1(), label="good"))
    counter = HandshakeCounter()
    report = run(site, "127.0.0.41", counter=counter)
    bad = {r.id: (r.status.value, r.detail) for r in report.tests if r.status is not Status.PASSED}
    assert bad == {}
    assert report.standards() == {
        "https": Status.PASSED,
        "tls_ncsc": Status.PASSED,
        "security_txt": Status.PASSED,  # on the comply-or-explain list: decided by its notice subtest
    }  # security options are informational: reported per subtest, no standard status
    assert report.legal and report.legal["verdict"] == "compliant"
    assert report.profile == "ncsc-2025-05"
    assert all(r.facts.get("profile") == "ncsc-2025-05" for r in report.tests if r.id.startswith("tls."))
    assert counter.count <= 30
    data = report.to_json()
    assert {"target", "profile", "tests", "standards", "legal"} <= set(data)
    assert {"id", "status", "detail", "clause"} <= set(data["tests"][0])


def test_short_hsts_fails_internetnl_but_is_legal(ca: TestCA) -> None:
    site = Site(HOST, ca.issue(HOST, curve=ec.SECP256R1(), label="shorthsts"))
    site.headers["Strict-Transport-Security"] = "max-age=86400"
    report = run(site, "127.0.0.42")
    r = result(report, "https.hsts")
    assert r.status is Status.FAILED and "86400" in r.detail and "31536000" in r.clause
    assert report.standards()["https"] is Status.FAILED
    assert report.legal["verdict"] == "compliant"


def test_missing_hsts_fails_both(ca: TestCA) -> None:
    site = Site(HOST, ca.issue(HOST, curve=ec.SECP256R1(), label="nohsts"))
    del site.headers["Strict-Transport-Security"]
    report = run(site, "127.0.0.43")
    assert status(report, "https.hsts") is Status.FAILED
    assert report.legal["verdict"] == "non_compliant"
    assert any(x["detail"].startswith("no HSTS header") for x in report.legal["reasons"])


def test_redirect_to_other_host_first(ca: TestCA) -> None:
    site = Site(HOST, ca.issue(HOST, curve=ec.SECP256R1(), label="otherhost"), http="redirect-other")
    report = run(site, "127.0.0.44")
    r = result(report, "https.redirect")
    assert r.status is Status.FAILED and "www.elders.test" in r.detail
    assert r.clause.startswith(
        "Besluit beveiligde verbinding met overheidswebsites (Stb. 2023, 179) art. 2 onderdeel b"
    )
    assert any("onderdeel b" in x["clause"] for x in report.legal["reasons"])


def test_plain_http_without_redirect_and_closed_http(ca: TestCA) -> None:
    cert = ca.issue(HOST, curve=ec.SECP256R1(), label="plain")
    assert status(run(Site(HOST, cert, http="plain"), "127.0.0.45"), "https.redirect") is Status.FAILED
    assert status(run(Site(HOST, cert, http="closed"), "127.0.0.46"), "https.redirect") is Status.PASSED


def test_tls10_enabled_profiles_and_law_disagree(ca: TestCA) -> None:
    """TLS 1.0: phase out under 2.1.1 (internet.nl 2.1: warning, no fail) — but not 'voldoende of goed',
    so non-compliant under the Besluit; insufficient (failed) under 2025-05."""
    site = Site(
        HOST,
        ca.issue(HOST, curve=ec.SECP256R1(), label="tls10"),
        min_version=ssl.TLSVersion.TLSv1,
        ciphers="ECDHE+AESGCM:ECDHE-ECDSA-AES256-SHA",
    )
    old = run(site, "127.0.0.47", "ncsc-2.1.1")
    r = result(old, "tls.version")
    assert r.status is Status.WARNING and "TLSv1.0" in r.detail
    assert r.clause == "NCSC TLS 2.1 Table 1 (TLS versions)"
    assert r.facts["by_profile"] == {"ncsc-2.1.1": "warning", "ncsc-2025-05": "failed"}
    assert old.standards()["tls_ncsc"] is Status.WARNING
    assert old.legal["verdict"] == "non_compliant"
    assert any("tls.version" in x["detail"] for x in old.legal["reasons"])
    new = run(site, "127.0.0.47", "ncsc-2025-05")
    assert status(new, "tls.version") is Status.FAILED
    assert status(new, "tls.ciphers") is Status.FAILED  # ECDHE CBC with SHA-1


def test_rsa2048_vs_rsa3072(ca: TestCA) -> None:
    rsa2048 = Site(HOST, ca.issue(HOST, rsa_bits=2048, label="rsa2048"), ciphers="ECDHE+AESGCM")
    old, new = run(rsa2048, "127.0.0.48", "ncsc-2.1.1"), run(rsa2048, "127.0.0.48", "ncsc-2025-05")
    assert status(old, "cert.pubkey") is Status.PASSED
    assert result(old, "cert.pubkey").clause == "NCSC TLS 2.1 Table 3 (certificate public keys)"
    assert status(new, "cert.pubkey") is Status.WARNING
    assert result(new, "cert.pubkey").clause == "NCSC TLS 2025-05 §certificates (public keys)"
    assert result(new, "cert.pubkey").facts["by_profile"] == {
        "ncsc-2.1.1": "passed",
        "ncsc-2025-05": "warning",
    }
    assert old.legal["verdict"] == new.legal["verdict"] == "compliant"  # legal is always judged under 2.1.1
    rsa3072 = Site(HOST, ca.issue(HOST, rsa_bits=3072, label="rsa3072"), ciphers="ECDHE+AESGCM")
    assert status(run(rsa3072, "127.0.0.49"), "cert.pubkey") is Status.PASSED


def test_expired_and_wrong_name(ca: TestCA) -> None:
    expired = Site(HOST, ca.issue(HOST, curve=ec.SECP256R1(), expired=True, label="expired"))
    report = run(expired, "127.0.0.50")
    r = result(report, "cert.trust")
    assert r.status is Status.FAILED and "expired" in r.detail
    assert r.clause == "NCSC TLS guidelines: certificates; RFC 5280 §6"
    assert report.legal["verdict"] == "non_compliant"
    wrong = Site(HOST, ca.issue("www.anders.test", curve=ec.SECP256R1(), label="wrongname"))
    report = run(wrong, "127.0.0.51")
    assert status(report, "cert.hostname") is Status.FAILED
    assert result(report, "cert.hostname").clause == "RFC 6125 §6; RFC 9110 §4.3.4"
    assert status(report, "cert.trust") is Status.PASSED


def test_broken_security_txt_and_bad_csp(ca: TestCA) -> None:
    site = Site(
        HOST,
        ca.issue(HOST, curve=ec.SECP256R1(), label="sectxt"),
        sectxt="Contact: nope\n",
        sectxt_type="text/html",
    )
    site.headers["Content-Security-Policy"] = "default-src * 'unsafe-inline'"
    report = run(site, "127.0.0.52")
    s = result(report, "security_txt")
    assert s.status is Status.WARNING and "not text/plain" in s.detail and "Expires" in s.detail
    assert s.clause.startswith("RFC 9116")
    c = result(report, "headers.csp")
    assert (
        c.status is Status.WARNING and "'unsafe-inline'" in c.detail and "frame-ancestors missing" in c.detail
    )
    assert c.clause == "W3C CSP Level 3; internet.nl CSP rules (notice)"
    # notice-level subtests never fail another standard, and the law ignores them; security.txt is a
    # standard of its own on the comply-or-explain list, so its notice makes that standard not passed
    assert report.standards()["https"] is Status.PASSED
    assert report.standards()["security_txt"] is Status.WARNING
    assert "security_options" not in report.standards()
    assert report.legal["verdict"] == "compliant"


def test_unreachable_host_is_a_failure_not_an_exception() -> None:
    from nds_tls_helpers import free_port

    from nds.standards.net import ConnectTo, NetworkConfig

    port = free_port("127.0.0.53")
    net = NetworkConfig(
        connect_to=(ConnectTo(HOST, 443, "127.0.0.53", port), ConnectTo(HOST, 80, "127.0.0.53", port)),
        timeout=2,
    )
    report = asyncio.run(check_web(HOST, net, "ncsc-2.1.1", dns_checks=False))
    r = result(report, "https.available")
    assert r.status is Status.FAILED and "refused" in r.detail
    assert report.legal["verdict"] == "non_compliant"
    assert status(report, "tls.version") is Status.NOT_TESTED
    assert report.standards()["tls_ncsc"] is Status.NOT_TESTED


def test_stored_facts_re_evaluate_to_the_same_report(ca: TestCA) -> None:
    """Rounds store the raw facts: re-evaluating them (JSON round trip) gives the identical report, and
    under another profile a report that differs only where the profiles differ."""
    import json

    from nds.standards.checks.web.run import WebFacts, report_from_facts, retrieve_web

    site = Site(HOST, ca.issue(HOST, rsa_bits=2048, label="stored"), ciphers="ECDHE+AESGCM:ECDHE+AES")

    async def go() -> WebFacts:
        async with serve(site, "127.0.0.54") as net:
            return await retrieve_web(HOST, net, HandshakeCounter(), dns_checks=False)

    facts = asyncio.run(go())
    stored = json.loads(json.dumps(facts.to_json()))
    again = WebFacts.from_json(stored)
    assert (
        report_from_facts(again, "ncsc-2025-05").to_json()
        == report_from_facts(facts, "ncsc-2025-05").to_json()
    )
    old = {r.id: r.status for r in report_from_facts(again, "ncsc-2.1.1").tests}
    new = {r.id: r.status for r in report_from_facts(again, "ncsc-2025-05").tests}
    assert {k for k in old if old[k] != new[k]} == {"tls.ciphers", "cert.pubkey"}
    assert result(report_from_facts(again, "ncsc-2025-05"), "security_txt").status is Status.PASSED


def test_security_txt_redirected_to_a_central_one(ca: TestCA) -> None:
    """Many organisations redirect security.txt to a central file on another host (RFC 9116 §3 allows
    redirects over HTTPS): followed, and Canonical may name the requested URL."""
    from dataclasses import replace

    central_host = "beveiliging.test"
    central = Site(central_host, ca.issue(central_host, curve=ec.SECP256R1(), label="central"))
    requested = f"https://{HOST}/.well-known/security.txt"
    central.sectxt = security_txt(central_host) + f"Canonical: {requested}\n"
    site = Site(
        HOST,
        ca.issue(HOST, curve=ec.SECP256R1(), label="redirsec"),
        sectxt_redirect=f"https://{central_host}/.well-known/security.txt",
    )

    async def go() -> Report:
        async with serve(central, "127.0.0.55") as cnet, serve(site, "127.0.0.56") as net:
            both = replace(net, connect_to=net.connect_to + cnet.connect_to)
            return await check_web(HOST, both, "ncsc-2025-05", dns_checks=False)

    report = asyncio.run(go())
    r = result(report, "security_txt")
    assert r.status is Status.PASSED, r.detail
    assert r.facts["url"] == f"https://{central_host}/.well-known/security.txt"
    assert r.facts["requested"] == requested
