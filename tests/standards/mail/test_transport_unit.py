"""MX state and STARTTLS outcome rules on recorded facts (no network)."""

from __future__ import annotations

import pytest

from nds.standards.checks.dns.resolver import Lookup
from nds.standards.checks.mail import spf
from nds.standards.checks.mail.evaluate_mx import evaluate_mx_state, evaluate_transport
from nds.standards.checks.mail.retrieve import DmarcFacts, MailFacts, MxHost, Probe, parse_mx
from nds.standards.checks.mail.smtp import SessionResult
from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import Status
from nds.standards.policy import get_profile

pytestmark = pytest.mark.unit
PROFILE = get_profile("ncsc-2025-05")


def facts(mx: Lookup, hosts: list[MxHost] | None = None) -> MailFacts:
    f = MailFacts(
        "example.nl",
        mx,
        spf.SpfFacts("example.nl"),
        DmarcFacts("example.nl", Lookup("_dmarc.example.nl.", "TXT", "NXDOMAIN"), "example.nl"),
        Lookup("_domainkey.example.nl.", "TXT", "NXDOMAIN"),
        hosts or [],
    )
    entries = parse_mx(mx.records)
    names = [e for e in entries if e[1]]
    f.null_mx = bool(entries) and len(names) < len(entries)
    f.null_mx_mixed = f.null_mx and bool(names)
    return f


def mxl(*records: str, rcode: str = "NOERROR") -> Lookup:
    return Lookup("example.nl.", "MX", rcode, records)


def host(*probes: Probe, a: tuple[str, ...] = ("192.0.2.25",), a_rcode: str = "NOERROR") -> MxHost:
    return MxHost(
        "mx.example.nl",
        10,
        Lookup("mx.example.nl.", "A", a_rcode, a),
        Lookup("mx.example.nl.", "AAAA", "NOERROR", ()),
        None,
        list(probes),
    )


def starttls(f: MailFacts):
    return [r for r in evaluate_transport(f, PROFILE) if r.id == "mail.starttls"]


def test_parse_mx_and_null_mx() -> None:
    assert parse_mx(("20 b.example.nl.", "10 A.example.nl.", "0 .")) == [
        (0, ""),
        (10, "a.example.nl"),
        (20, "b.example.nl"),
    ]
    assert evaluate_mx_state(facts(mxl("0 ."))).status is Status.PASSED
    mixed = evaluate_mx_state(facts(mxl("0 .", "10 mx.example.nl."), [host()]))
    assert mixed.status is Status.WARNING and mixed.clause == "RFC 7505 §3"
    assert evaluate_mx_state(facts(mxl())).status is Status.WARNING
    assert evaluate_mx_state(facts(mxl(rcode="SERVFAIL"))).status is Status.ERROR
    assert evaluate_mx_state(facts(mxl(rcode="NXDOMAIN"))).status is Status.ERROR


@pytest.mark.parametrize(
    ("session", "expected", "fragment"),
    [
        (SessionResult("no_starttls", extensions=["PIPELINING", "8BITMIME"]), Status.FAILED, "not offered"),
        (SessionResult("transient", "banner: 421 try later", attempts=3), Status.NOT_TESTED, "greylisted"),
        (SessionResult("unreachable", "cannot connect"), Status.ERROR, "unreachable"),
        (SessionResult("refused", "banner: 554 go away"), Status.ERROR, "refused"),
    ],
)
def test_starttls_outcomes(session: SessionResult, expected: Status, fragment: str) -> None:
    (r,) = starttls(facts(mxl("10 mx.example.nl."), [host(Probe("192.0.2.25", session))]))
    assert r.status is expected and fragment in r.detail and r.target == "mx.example.nl 192.0.2.25"


def test_handshake_failure_vs_refused_scan() -> None:
    broken = Probe("192.0.2.25", SessionResult("ok"), TlsFacts("192.0.2.25", 25, error="handshake failure"))
    (r,) = starttls(facts(mxl("10 mx.example.nl."), [host(broken)]))
    assert r.status is Status.FAILED and "handshake fails" in r.detail
    limited = Probe("192.0.2.25", SessionResult("ok"), TlsFacts("192.0.2.25", 25), ["banner: 421 too many"])
    (r,) = starttls(facts(mxl("10 mx.example.nl."), [host(limited)]))
    assert r.status is Status.NOT_TESTED


def test_scan_with_refused_sessions_gives_not_tested_tls() -> None:
    tls = TlsFacts("192.0.2.25", 25, versions=["TLSv1.3"])
    p = Probe("192.0.2.25", SessionResult("ok"), tls, ["banner: 421 rate limit"])
    res = [r for r in evaluate_transport(facts(mxl("10 mx.example.nl."), [host(p)]), PROFILE)]
    tls_res = [r for r in res if r.id.startswith("mail.tls.")]
    assert tls_res and all(r.status is Status.NOT_TESTED for r in tls_res)


def test_mx_without_address() -> None:
    (r,) = starttls(facts(mxl("10 mx.example.nl."), [host(a=())]))
    assert r.status is Status.FAILED and "no A or AAAA" in r.detail
    (r,) = starttls(facts(mxl("10 mx.example.nl."), [host(a=(), a_rcode="SERVFAIL")]))
    assert r.status is Status.ERROR


def test_mail_tls_subtests_are_their_own_standard() -> None:
    from nds.standards.model import SUBTESTS

    assert SUBTESTS.get("mail.tls.version").standard == "starttls_ncsc"
    assert SUBTESTS.get("mail.cert.trust").worst_status is Status.INFO  # info only for mail
    assert SUBTESTS.get("mail.cert.pubkey").worst_status is Status.FAILED
    ids = {s.id for s in SUBTESTS.all()}
    assert "mail.tls.zero_rtt" not in ids and "mail.tls.ocsp_stapling" not in ids
