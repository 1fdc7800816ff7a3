"""The mail test end to end against real servers on loopback: NSD + validating Unbound (our own trust
anchor for ``test.``) and SMTP servers with and without STARTTLS, greylisting and DANE."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dnsinfra import Cert, DnsLab, SmtpLab, ZoneSpec, make_cert, running_lab, tools_available

from nds.standards.checks.mail.evaluate_mx import C_DANE, C_MX, C_STARTTLS
from nds.standards.checks.mail.run import check_mail
from nds.standards.model import Report, Status, TestResult
from nds.standards.net import ConnectTo, NetworkConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not tools_available(), reason="nsd/unbound missing: run 'make system-deps'"),
]

GOOD, PLAIN, INSEC, GREY, GREYONCE = "127.0.54.1", "127.0.54.2", "127.0.54.3", "127.0.54.4", "127.0.54.5"
TA, LIMITED = "127.0.54.6", "127.0.54.7"
AUTH_OK = [
    '@ TXT "v=spf1 mx -all"',
    '_dmarc TXT "v=DMARC1; p=reject"',
    'sel._domainkey TXT "v=DKIM1; p=MIIB"',
]


@dataclass
class MailLab:
    dns: DnsLab
    smtp: SmtpLab
    net: NetworkConfig
    ca: Cert
    ca_file: Path
    ports: dict[str, int]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailLab]:
    ca = make_cert(["nds lab CA"], ca=True)
    leaf = make_cert(["mx.good.test"], ca)
    other = make_cert(["mx.other.test"], ca)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(ca.pem())
    smtp = SmtpLab()
    try:
        ports = {
            GOOD: smtp.add(GOOD, "starttls", [leaf, ca]),
            "::1": smtp.add("::1", "starttls", [leaf, ca]),
            PLAIN: smtp.add(PLAIN, "plain"),
            INSEC: smtp.add(INSEC, "starttls", [other, ca]),
            GREY: smtp.add(GREY, "refuse"),
            GREYONCE: smtp.add(GREYONCE, "greylist", [leaf, ca], greylist=1),
            TA: smtp.add(TA, "starttls", [make_cert(["mx.ta.test"], ca), ca]),
            LIMITED: smtp.add(LIMITED, "ratelimit", [leaf, ca], greylist=4),
        }
        tlsa_ca = f"_25._tcp.mx TLSA 2 1 1 {ca.spki_sha256()}"
        tlsa_good = f"_25._tcp.mx TLSA 3 1 1 {leaf.spki_sha256()}"
        zones = [
            ZoneSpec(
                "good.test.",
                [
                    "@ MX 10 mx",
                    f"mx A {GOOD}",
                    "mx AAAA ::1",
                    tlsa_good,
                    *AUTH_OK,
                    'auth.test._report._dmarc.reports TXT "v=DMARC1"',
                ],
            ),
            ZoneSpec(
                "plain.test.",
                ["@ MX 10 mx", f"mx A {PLAIN}", '@ TXT "v=spf1 mx ?all"', '_dmarc TXT "v=DMARC1; p=none"'],
            ),
            ZoneSpec(
                "insecure.test.",
                ["@ MX 10 mx", f"mx A {INSEC}", f"_25._tcp.mx TLSA 3 1 1 {other.spki_sha256()}", *AUTH_OK],
                mode="insecure",
            ),
            ZoneSpec("badtlsa.test.", ["@ MX 10 mx.good.test.", *AUTH_OK]),
            ZoneSpec(
                "wrongtlsa.test.",
                ["@ MX 10 mx", f"mx A {GOOD}", f"_25._tcp.mx TLSA 3 1 1 {other.spki_sha256()}", *AUTH_OK],
            ),
            ZoneSpec("ta.test.", ["@ MX 10 mx", f"mx A {TA}", tlsa_ca, *AUTH_OK]),
            ZoneSpec("limited.test.", ["@ MX 10 mx", f"mx A {LIMITED}", *AUTH_OK]),
            ZoneSpec("tabad.test.", ["@ MX 10 mx", f"mx A {TA}", tlsa_ca, *AUTH_OK]),
            ZoneSpec("nullmx.test.", ["@ MX 0 .", '@ TXT "v=spf1 -all"', '_dmarc TXT "v=DMARC1; p=reject"']),
            ZoneSpec("nomx.test.", ["@ A 127.0.0.1", *AUTH_OK]),
            ZoneSpec("grey.test.", ["@ MX 10 mx", f"mx A {GREY}", *AUTH_OK]),
            ZoneSpec(
                "greyonce.test.",
                ["@ MX 10 mx", f"mx A {GREYONCE}", tlsa_good.replace("_25", "_25"), *AUTH_OK],
            ),
            ZoneSpec(
                "auth.test.",
                [
                    '@ TXT "v=spf1 include:_spf.auth.test -all"',
                    '_spf TXT "v=spf1 include:_spf2.auth.test ip4:192.0.2.0/24 ~all"',
                    '_spf2 TXT "v=spf1 a:host.auth.test -all"',
                    "host A 192.0.2.1",
                    '_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:d@reports.good.test,mailto:x@other.test"',
                    'void TXT "v=spf1 a:n1.auth.test a:n2.auth.test a:n3.auth.test -all"',
                    'loop TXT "v=spf1 include:loop2.auth.test -all"',
                    'loop2 TXT "v=spf1 include:loop.auth.test -all"',
                ],
            ),
            ZoneSpec("expired.test.", ["@ MX 10 mx", f"mx A {GOOD}", tlsa_good, *AUTH_OK], mode="expired"),
        ]
        with running_lab(zones) as dns:
            routes = [ConnectTo(a, 25, a, p) for a, p in ports.items()]
            routes.append(ConnectTo("::1", 53, "::1", dns.nsd_port))
            net = NetworkConfig(
                connect_to=tuple(routes),
                resolver=dns.resolver,
                ca_file=ca_file,
                timeout=5.0,
                dns_timeout=2.0,
                retries=1,
                extra={"smtp_retry_delay": "0.2", "ehlo_name": "checker.test"},
            )
            yield MailLab(dns, smtp, net, ca, ca_file, ports)
    finally:
        smtp.stop()


def results(report: Report, test_id: str) -> list[TestResult]:
    return [t for t in report.tests if t.id == test_id]


def one(report: Report, test_id: str, target: str | None = None) -> TestResult:
    found = [t for t in results(report, test_id) if target is None or t.target == target]
    assert len(found) == 1, (test_id, [(t.target, t.status) for t in results(report, test_id)])
    return found[0]


def check(lab: MailLab, domain: str) -> Report:
    return asyncio.run(check_mail(domain, lab.net))


def test_good_domain(lab: MailLab) -> None:
    r = check(lab, "good.test")
    for tid in ("mail.spf", "mail.spf_policy", "mail.dmarc", "mail.dmarc_policy", "mail.dkim", "mail.mx"):
        assert one(r, tid).status is Status.PASSED, one(r, tid)
    v4 = one(r, "mail.starttls", f"mx.good.test {GOOD}")
    v6 = one(r, "mail.starttls", "mx.good.test ::1")
    assert v4.status is Status.PASSED and v4.clause == C_STARTTLS and "TLSv1.3" in v4.detail
    assert v6.status is Status.PASSED
    assert one(r, "mail.dane_exists").status is Status.PASSED
    assert [t.status for t in results(r, "mail.dane")] == [Status.PASSED, Status.PASSED]
    assert one(r, "mail.dane_rollover").status is Status.INFO
    assert one(r, "mail.cert.trust", f"mx.good.test {GOOD}").status is Status.PASSED
    assert one(r, "mail.cert.hostname", f"mx.good.test {GOOD}").status is Status.PASSED
    assert not results(r, "mail.tls.zero_rtt") and not results(r, "mail.tls.ocsp_stapling")
    assert one(r, "dnssec.exists").status is Status.PASSED and one(r, "dnssec.valid").status is Status.PASSED
    assert one(r, "dnssec.mx_valid", "mx.good.test").status is Status.PASSED
    assert one(r, "ipv6.mx", "mx.good.test").status is Status.PASSED
    assert one(r, "ipv6.mx_reachable").status is Status.PASSED
    ns = one(r, "ipv6.ns")  # ns1.test has AAAA ::1, ns2.test has none
    assert ns.status is Status.FAILED and "only 1 of 2" in ns.detail
    assert one(r, "ipv6.ns_reachable").status is Status.PASSED
    assert one(r, "rpki.mx_exists").status is Status.NOT_TESTED
    std = r.standards()
    assert std["spf"] is Status.PASSED and std["dmarc"] is Status.PASSED and std["dane"] is Status.PASSED
    assert std["starttls"] is Status.PASSED and std["dnssec"] is Status.PASSED
    # politeness: never more than one connection at a time to a mail server address
    assert lab.smtp.max_parallel[(GOOD, lab.ports[GOOD])] == 1


def test_no_starttls_and_weak_auth(lab: MailLab) -> None:
    r = check(lab, "plain.test")
    st = one(r, "mail.starttls")
    assert st.status is Status.FAILED and "not offered" in st.detail and st.clause == C_STARTTLS
    assert one(r, "mail.spf_policy").status is Status.FAILED and "'?all'" in one(r, "mail.spf_policy").detail
    assert one(r, "mail.dmarc_policy").status is Status.FAILED
    assert one(r, "mail.dkim").status is Status.FAILED
    assert one(r, "mail.dane_exists").status is Status.FAILED
    assert all(t.status is Status.NOT_TESTED for t in r.tests if t.id.startswith("mail.tls."))
    assert one(r, "ipv6.mx").status is Status.FAILED
    assert r.standards()["starttls"] is Status.FAILED


def test_insecure_tlsa_and_untrusted_name_is_info(lab: MailLab) -> None:
    r = check(lab, "insecure.test")
    assert one(r, "mail.starttls").status is Status.PASSED
    ex = one(r, "mail.dane_exists")
    assert ex.status is Status.FAILED and "not DNSSEC-signed" in ex.detail and ex.clause == C_DANE
    host = one(r, "mail.cert.hostname")  # certificate names mx.other.test: info only for mail
    assert host.status is Status.INFO
    assert one(r, "dnssec.exists").status is Status.FAILED


def test_tlsa_mismatch(lab: MailLab) -> None:
    r = check(lab, "wrongtlsa.test")
    d = one(r, "mail.dane")
    assert d.status is Status.FAILED and "matches" in d.detail


def test_mx_in_other_domain(lab: MailLab) -> None:
    r = check(lab, "badtlsa.test")
    assert one(r, "mail.starttls", f"mx.good.test {GOOD}").status is Status.PASSED
    assert one(r, "dnssec.mx_exists", "mx.good.test").status is Status.PASSED


def test_null_mx(lab: MailLab) -> None:
    r = check(lab, "nullmx.test")
    mx = one(r, "mail.mx")
    assert mx.status is Status.PASSED and "null MX" in mx.detail and mx.clause == C_MX
    assert one(r, "mail.starttls").status is Status.NOT_APPLICABLE
    assert one(r, "mail.dane").status is Status.NOT_APPLICABLE
    assert one(r, "mail.dkim").status is Status.NOT_TESTED  # non-sending: -all and p=reject
    assert one(r, "ipv6.mx").status is Status.NOT_APPLICABLE
    assert r.standards()["starttls"] is Status.NOT_APPLICABLE


def test_no_mx(lab: MailLab) -> None:
    r = check(lab, "nomx.test")
    assert one(r, "mail.mx").status is Status.WARNING and "implicit MX" in one(r, "mail.mx").detail
    assert one(r, "mail.starttls").status is Status.NOT_APPLICABLE


def test_greylisting_is_not_a_failure(lab: MailLab) -> None:
    r = check(lab, "grey.test")
    st = one(r, "mail.starttls")
    assert st.status is Status.NOT_TESTED and "greylisted" in st.detail and "421" in st.detail
    assert lab.smtp.connections[(GREY, lab.ports[GREY])] == 2  # retried once (retries=1)
    assert r.standards()["starttls"] is Status.NOT_TESTED


def test_greylisted_once_then_passes(lab: MailLab) -> None:
    r = check(lab, "greyonce.test")
    assert one(r, "mail.starttls").status is Status.PASSED
    assert one(r, "mail.starttls").facts["attempts"] == 2


def test_bogus_mx_zone(lab: MailLab) -> None:
    r = check(lab, "expired.test")
    assert one(r, "dnssec.valid").status is Status.FAILED
    assert one(r, "dnssec.mx_valid", "mx.expired.test").status is Status.FAILED
    assert one(r, "mail.dane_exists").status is Status.FAILED and "bogus" in one(r, "mail.dane_exists").detail


def test_nonexistent_domain(lab: MailLab) -> None:
    r = check(lab, "nope.test")
    assert one(r, "mail.mx").status is Status.ERROR
    assert one(r, "mail.spf").status is Status.NOT_TESTED


def test_cli_json(lab: MailLab) -> None:
    args = [sys.executable, "-m", "nds", "check", "mail", "nullmx.test", "--format", "json"]
    args += ["--resolver", f"{lab.dns.resolver[0]}:{lab.dns.resolver[1]}", "--ca-file", str(lab.ca_file)]
    args += ["--connect-to", f"[::1]:53:[::1]:{lab.dns.nsd_port}", "--timeout", "5"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    doc = json.loads(out.stdout)
    assert doc["target"] == "nullmx.test" and doc["profile"] == "ncsc-2025-05"
    ids = {t["id"]: t for t in doc["tests"]}
    assert ids["mail.mx"]["status"] == "passed" and ids["mail.mx"]["clause"] == C_MX
    assert doc["standards"]["spf"] == "passed"
    assert out.returncode == 1  # ipv6 name servers fail (ns2.test has no AAAA)


@pytest.mark.parametrize(
    "extra",
    [
        ["good.test", "--resolver", "nonsense"],
        ["not a domain"],
        ["good.test", "--ehlo-name", "x\r\nRCPT TO:<a@b>"],
        ["good.test", "--profile", "ncsc-9"],
        ["good.test", "--rpki-vrps", "/nonexistent.json"],
        ["good.test", "--format", "xml"],
    ],
)
def test_cli_bad_input(extra: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nds", "check", "mail", *extra], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "error:" in out.stderr and "Traceback" not in out.stderr


def test_spf_tree_and_dmarc_reports_over_dns(lab: MailLab) -> None:
    r = check(lab, "auth.test")
    policy = one(r, "mail.spf_policy")
    assert policy.status is Status.PASSED and policy.facts["lookups"] == 3
    assert [d for d, _ in policy.facts["records"]] == ["auth.test", "_spf.auth.test", "_spf2.auth.test"]
    ext = one(r, "mail.dmarc_external")  # reports.good.test authorised, other.test not
    assert ext.status is Status.WARNING and "auth.test._report._dmarc.other.test" in ext.detail
    assert "reports.good.test" not in ext.detail
    assert one(r, "mail.dmarc_policy").status is Status.PASSED


def test_void_lookups_and_org_dmarc_over_dns(lab: MailLab) -> None:
    r = check(lab, "void.auth.test")
    policy = one(r, "mail.spf_policy")
    assert policy.status is Status.FAILED and "3 void lookups" in policy.detail
    dmarc = one(r, "mail.dmarc")  # no _dmarc.void.auth.test: the organizational domain's record applies
    assert dmarc.status is Status.PASSED and "_dmarc.auth.test" in dmarc.detail


def test_spf_loop_over_dns(lab: MailLab) -> None:
    r = check(lab, "loop.auth.test")
    assert one(r, "mail.spf_policy").status is Status.FAILED and "loop" in one(r, "mail.spf_policy").detail


def test_round_context_shares_mx_results(lab: MailLab) -> None:
    from nds.standards.rounds import RoundContext

    ctx = RoundContext()
    key = (GOOD, lab.ports[GOOD])

    async def both() -> tuple[Report, Report]:
        return await asyncio.gather(
            check_mail("good.test", lab.net, context=ctx), check_mail("badtlsa.test", lab.net, context=ctx)
        )

    before = lab.smtp.connections[key]
    a, b = asyncio.run(both())
    used = lab.smtp.connections[key] - before
    assert one(a, "mail.starttls", f"mx.good.test {GOOD}").status is Status.PASSED
    assert one(b, "mail.starttls", f"mx.good.test {GOOD}").status is Status.PASSED
    assert f"mx.good.test {GOOD}" in ctx.mx_cache and ctx.handshakes > 0
    assert lab.smtp.max_parallel[key] == 1
    # the second domain reused the first one's result: a scan's sessions, not two scans
    single = ctx.mx_cache[f"mx.good.test {GOOD}"].tls.handshakes + 1
    assert used <= single + 1


def test_rpki_with_file_source(lab: MailLab, tmp_path: Path) -> None:
    from nds.standards.checks.rpki import FileSource

    vrps = tmp_path / "vrps.json"
    vrps.write_text(
        json.dumps(
            {
                "roas": [
                    {"asn": "AS64500", "prefix": "127.0.54.0/24", "maxLength": 24},
                    {"asn": "AS64500", "prefix": "127.0.53.0/24", "maxLength": 24},
                ]
            }
        )
    )
    routes = tmp_path / "routes.txt"
    routes.write_text("# prefix origin\n127.0.54.0/24 64500\n64501\t127.0.53.0/24\t12\n")
    source = FileSource.load(vrps, routes)
    r = asyncio.run(check_mail("good.test", lab.net, rpki_source=source))
    assert one(r, "rpki.mx_valid", f"mx.good.test {GOOD}").status is Status.PASSED
    assert one(r, "rpki.mx_exists", "mx.good.test ::1").status is Status.NOT_TESTED  # not announced
    ns = one(r, "rpki.ns_valid", "ns1.test 127.0.53.2")
    assert ns.status is Status.FAILED and "AS64501: invalid" in ns.detail
    assert r.standards()["rpki"] is Status.FAILED


def test_dane_ta_over_starttls(lab: MailLab) -> None:
    ok = one(check(lab, "ta.test"), "mail.dane")
    assert ok.status is Status.PASSED and ok.detail.startswith("TLSA 2 1 1")
    bad = one(check(lab, "tabad.test"), "mail.dane")  # the certificate names mx.ta.test, not mx.tabad.test
    assert bad.status is Status.FAILED and "does not name mx.tabad.test" in bad.detail


def test_tls_handshake_budget(lab: MailLab) -> None:
    st = one(check(lab, "good.test"), "mail.starttls", f"mx.good.test {GOOD}")
    assert 0 < st.facts["tls_handshakes"] <= 40  # internet.nl #2031: ~214 per server after 1.11


def test_rate_limit_during_tls_scan_gives_not_tested(lab: MailLab) -> None:
    r = check(lab, "limited.test")  # the server answers 421 after four sessions
    tls = [t for t in r.tests if t.id.startswith("mail.tls.") or t.id.startswith("mail.cert.")]
    assert tls and all(t.status is Status.NOT_TESTED for t in tls)
    assert "refused" in tls[0].detail
    assert one(r, "mail.starttls").status is Status.PASSED  # STARTTLS itself worked
    assert r.standards()["starttls_ncsc"] is Status.NOT_TESTED  # never a false failure
