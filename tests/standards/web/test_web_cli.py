"""``nds check web`` as a user runs it: JSON shape, exit codes, bad input, and the DNS-based subtests
(DNSSEC, CAA) against the offline DNS lab (NSD behind a validating Unbound with our own trust anchor)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from nds_tls_helpers import TestCA
from websites import Site, serve

from nds.standards.checks.web.run import check_web
from nds.standards.model import Status

pytestmark = pytest.mark.integration
NDS = [sys.executable, "-m", "nds"]


async def _cli(site: Site, addr: str, *extra: str) -> subprocess.CompletedProcess[str]:
    async with serve(site, addr) as net:
        args = [*NDS, "check", "web", site.host, "--no-dns", "--ca-file", str(net.ca_file), *extra]
        for c in net.connect_to:
            args += ["--connect-to", f"{c.host}:{c.port}:{c.addr}:{c.addr_port}"]
        proc = await asyncio.create_subprocess_exec(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        return subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())


def test_cli_json_and_exit_codes(ca: TestCA) -> None:
    host = "www.cli.test"
    good = Site(host, ca.issue(host, curve=ec.SECP256R1(), label="cli-good"))
    res = asyncio.run(_cli(good, "127.0.0.61", "--format", "json", "--profile", "ncsc-2.1.1"))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["target"] == host and data["profile"] == "ncsc-2.1.1"
    assert data["standards"]["https"] == "passed" and data["legal"]["verdict"] == "compliant"
    ids = {t["id"] for t in data["tests"]}
    assert {
        "https.available",
        "https.redirect",
        "https.hsts",
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
        "cert.hostname",
        "cert.pubkey",
        "cert.signature",
        "http.compression",
        "headers.x_content_type_options",
        "headers.x_frame_options",
        "headers.csp",
        "headers.referrer_policy",
        "security_txt",
    } <= ids
    bad = Site(host, ca.issue(host, curve=ec.SECP256R1(), label="cli-bad"), http="plain")
    res = asyncio.run(_cli(bad, "127.0.0.62"))
    assert res.returncode == 1
    assert "https.redirect" in res.stdout and "How to fix" in res.stdout and "Legal verdict" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["www.x.test", "--profile", "ncsc-9"], "unknown --profile"),
        (["www.x.test", "--connect-to", "nonsense"], "HOST:PORT:ADDR:PORT"),
        (["www.x.test", "--resolver", "127.0.0.1"], "--resolver must be"),
        (["www.x.test", "--ca-file", "/nonexistent.pem"], "does not exist"),
        (["https://www.x.test/"], "HOST must be a host name"),
        (["www.x.test", "--format", "xml"], "--format must be"),
    ],
)
def test_cli_bad_input(args: list[str], message: str) -> None:
    res = subprocess.run([*NDS, "check", "web", *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr


def test_dnssec_caa_and_dane_through_the_dns_lab(ca: TestCA) -> None:
    dnsinfra = pytest.importorskip("dnsinfra")
    if not dnsinfra.tools_available():
        pytest.skip("nsd/unbound not installed")
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certs = {
        h: ca.issue(h, curve=ec.SECP256R1(), label=h) for h in ("www.gemeente.test", "www.onveilig.test")
    }
    leaf = x509.load_pem_x509_certificate(certs["www.gemeente.test"].cert.read_bytes())
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tlsa = f"_443._tcp.www TLSA 3 1 1 {hashlib.sha256(spki).hexdigest()}"
    wrong = "_443._tcp.www TLSA 3 1 1 " + "00" * 32
    zones = [
        dnsinfra.ZoneSpec(
            "gemeente.test.", ["www A 127.0.0.63", '@ CAA 0 issue "ca.example"', tlsa], "secure"
        ),
        dnsinfra.ZoneSpec("onveilig.test.", ["www A 127.0.0.64", wrong], "insecure"),
    ]
    with dnsinfra.running_lab(zones) as lab:

        async def go(host: str, addr: str):
            async with serve(Site(host, certs[host]), addr) as net:
                from dataclasses import replace

                return await check_web(host, replace(net, resolver=lab.resolver, timeout=5), "ncsc-2025-05")

        secure = asyncio.run(go("www.gemeente.test", "127.0.0.63"))
        insecure = asyncio.run(go("www.onveilig.test", "127.0.0.64"))
    by = {r.id: r for r in secure.tests}
    assert by["cert.caa"].status is Status.PASSED and by["cert.caa"].facts["zone"] == "gemeente.test"
    assert by["dnssec.valid"].status is Status.PASSED
    assert secure.standards()["dnssec"] is Status.PASSED
    assert by["dane.exists"].status is Status.PASSED and by["dane.valid"].status is Status.PASSED
    by2 = {r.id: r for r in insecure.tests}
    assert by2["cert.caa"].status is Status.WARNING
    assert insecure.standards()["dnssec"] is Status.FAILED
    assert by2["dane.exists"].status is Status.INFO and "not DNSSEC-signed" in by2["dane.exists"].detail
    assert "dane.valid" not in by2
    assert secure.standards()["https"] is Status.PASSED  # DANE is info/notice: never counted


def test_every_address_is_tested(ca: TestCA) -> None:
    """www has an A and an AAAA record; only the IPv6 server forgets HSTS: the standard fails, and the
    result names the address. ``--connect-to HOST:443::PORT`` keeps DNS resolution (as curl)."""
    dnsinfra = pytest.importorskip("dnsinfra")
    if not dnsinfra.tools_available():
        pytest.skip("nsd/unbound not installed")
    from nds_tls_helpers import free_port

    from nds.standards.net import ConnectTo

    host = "www.multi.test"
    zones = [dnsinfra.ZoneSpec("multi.test.", ["www A 127.0.0.66", "www AAAA ::1"], "insecure")]
    ports = (free_port("::1"), free_port("::1"))
    cert = ca.issue(host, curve=ec.SECP256R1(), label="multi")
    v4 = Site(host, cert)
    v6 = Site(host, cert)
    del v6.headers["Strict-Transport-Security"]
    with dnsinfra.running_lab(zones) as lab:

        async def go():
            async with serve(v4, "127.0.0.66", ports) as net, serve(v6, "::1", ports):
                from dataclasses import replace

                pins = (ConnectTo(host, 443, "", ports[0]), ConnectTo(host, 80, "", ports[1]))
                return await check_web(
                    host,
                    replace(net, connect_to=pins, resolver=lab.resolver),
                    "ncsc-2025-05",
                    dns_checks=False,
                )

        report = asyncio.run(go())
    hsts = {r.target: r.status for r in report.tests if r.id == "https.hsts"}
    assert hsts == {"127.0.0.66": Status.PASSED, "::1": Status.FAILED}
    assert {r.target for r in report.tests if r.id == "https.available"} == {"127.0.0.66", "::1"}
    assert report.standards()["https"] is Status.FAILED
    assert report.legal["verdict"] == "non_compliant"
