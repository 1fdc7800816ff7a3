"""DMARC and DKIM evaluation on recorded facts (RFC 7489, RFC 9989 t tag, RFC 6376)."""

from __future__ import annotations

import pytest

from nds.standards.checks.dns.resolver import Lookup
from nds.standards.checks.mail import dmarc as dm
from nds.standards.checks.mail import spf
from nds.standards.checks.mail.evaluate import (
    C_DKIM,
    C_DMARC,
    C_DMARC_EXT,
    C_DMARC_POLICY,
    C_DMARC_T,
    evaluate_dkim,
    evaluate_dmarc,
    non_sending,
)
from nds.standards.checks.mail.retrieve import DmarcFacts
from nds.standards.model import Status

pytestmark = pytest.mark.unit


def txt(name: str, *records: str, rcode: str = "NOERROR") -> Lookup:
    return Lookup(name + ".", "TXT", rcode, tuple(records))


def run(domain: str, own: Lookup, org: Lookup | None = None, authz: dict[str, Lookup] | None = None):
    f = DmarcFacts(domain, own, dm.org_domain(domain), org, authz or {})
    return {r.id: r for r in evaluate_dmarc(f)}


@pytest.mark.parametrize(
    "record",
    [
        "v=DMARC1; p=reject",
        "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.nl",
        "v=DMARC1;p=reject;sp=quarantine;adkim=s;aspf=r;fo=1",
        "v=DMARC1; p=reject; t=y",
        "v=DMARC1; p=reject; future=tag",
    ],
)
def test_strict_policies_pass(record: str) -> None:
    r = run("example.nl", txt("_dmarc.example.nl", record))
    assert r["mail.dmarc"].status is Status.PASSED and r["mail.dmarc"].clause == C_DMARC
    assert r["mail.dmarc_policy"].status is Status.PASSED, r["mail.dmarc_policy"].detail
    assert r["mail.dmarc_policy"].clause == C_DMARC_POLICY


def test_missing_record_fails() -> None:
    r = run("example.nl", txt("_dmarc.example.nl", rcode="NXDOMAIN"))
    assert r["mail.dmarc"].status is Status.FAILED and r["mail.dmarc_policy"].status is Status.NOT_TESTED


def test_two_records_means_no_dmarc() -> None:
    r = run("example.nl", txt("_dmarc.example.nl", "v=DMARC1; p=reject", "v=DMARC1; p=none"))
    assert r["mail.dmarc"].status is Status.FAILED and "2 DMARC records" in r["mail.dmarc"].detail


def test_dns_error_is_error() -> None:
    r = run("example.nl", txt("_dmarc.example.nl", rcode="SERVFAIL"))
    assert r["mail.dmarc"].status is Status.ERROR


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("v=DMARC1; p=none", "p=none"),
        ("v=DMARC1; p=reject; sp=none", "sp=none"),
    ],
)
def test_weak_policies_fail(record: str, fragment: str) -> None:
    r = run("example.nl", txt("_dmarc.example.nl", record))
    assert r["mail.dmarc_policy"].status is Status.FAILED and fragment in r["mail.dmarc_policy"].detail


def test_quarantine_in_test_mode_fails() -> None:
    r = run("example.nl", txt("_dmarc.example.nl", "v=DMARC1; p=quarantine; t=y"))
    assert r["mail.dmarc_policy"].status is Status.FAILED and r["mail.dmarc_policy"].clause == C_DMARC_T


@pytest.mark.parametrize(
    "record",
    [
        "v=DMARC1; p=block",
        "v=DMARC1; rua=mailto:a@example.nl",
        "p=reject; v=DMARC1",
        "v=DMARC1; p=reject; t=x",
    ],
)
def test_syntax_errors_fail(record: str) -> None:
    own = txt("_dmarc.example.nl", record)
    r = run("example.nl", own)
    if dm.is_dmarc(record):
        assert r["mail.dmarc_policy"].status is Status.FAILED
        assert "invalid DMARC record" in r["mail.dmarc_policy"].detail
    else:
        assert r["mail.dmarc"].status is Status.FAILED


def test_subdomain_uses_org_sp() -> None:
    own = txt("_dmarc.mail.example.nl", rcode="NXDOMAIN")
    r = run("mail.example.nl", own, txt("_dmarc.example.nl", "v=DMARC1; p=reject; sp=none"))
    assert r["mail.dmarc"].status is Status.PASSED and "_dmarc.example.nl" in r["mail.dmarc"].detail
    assert r["mail.dmarc_policy"].status is Status.FAILED and "sp=none" in r["mail.dmarc_policy"].detail
    r = run("mail.example.nl", own, txt("_dmarc.example.nl", "v=DMARC1; p=reject"))
    assert r["mail.dmarc_policy"].status is Status.PASSED and r["mail.dmarc_policy"].detail.startswith(
        "p=reject"
    )


def test_org_domain_with_public_suffix_list() -> None:
    assert dm.org_domain("a.b.example.co.uk") == "example.co.uk"
    assert dm.org_domain("mail.gemeente.nl") == "gemeente.nl"


def test_external_destinations() -> None:
    rec = (
        "v=DMARC1; p=reject; rua=mailto:d@example.nl,mailto:r@reports.example.com!10m; "
        "ruf=mailto:f@sub.example.nl"
    )
    own = txt("_dmarc.example.nl", rec)
    ok = txt("example.nl._report._dmarc.reports.example.com", "v=DMARC1")
    r = run("example.nl", own, authz={"reports.example.com": ok})
    assert r["mail.dmarc_external"].status is Status.PASSED and r["mail.dmarc_external"].facts[
        "external"
    ] == ["reports.example.com"]
    missing = txt("example.nl._report._dmarc.reports.example.com", rcode="NXDOMAIN")
    r = run("example.nl", own, authz={"reports.example.com": missing})
    assert (
        r["mail.dmarc_external"].status is Status.WARNING and r["mail.dmarc_external"].clause == C_DMARC_EXT
    )
    assert r["mail.dmarc_policy"].status is Status.PASSED  # notice only, never a policy failure


def _spf(record: str) -> spf.SpfFacts:
    f = spf.SpfFacts("example.nl")
    f.txt["example.nl"] = txt("example.nl", record)
    return f


def test_dkim_states() -> None:
    assert evaluate_dkim(Lookup("_domainkey.example.nl.", "TXT", "NOERROR"), True).status is Status.PASSED
    nx = Lookup("_domainkey.example.nl.", "TXT", "NXDOMAIN")
    r = evaluate_dkim(nx, True)
    assert r.status is Status.FAILED and r.clause == C_DKIM
    assert evaluate_dkim(nx, False).status is Status.NOT_TESTED
    assert evaluate_dkim(Lookup("_domainkey.example.nl.", "TXT", "SERVFAIL"), True).status is Status.ERROR


def test_non_sending_domain_detection() -> None:
    reject = DmarcFacts("example.nl", txt("_dmarc.example.nl", "v=DMARC1; p=reject"), "example.nl")
    quarantine = DmarcFacts("example.nl", txt("_dmarc.example.nl", "v=DMARC1; p=quarantine"), "example.nl")
    assert non_sending(_spf("v=spf1 -all"), reject)
    assert not non_sending(_spf("v=spf1 mx -all"), reject)
    assert not non_sending(_spf("v=spf1 -all"), quarantine)
    sub = DmarcFacts(
        "a.example.nl",
        txt("_dmarc.a.example.nl", rcode="NXDOMAIN"),
        "example.nl",
        txt("_dmarc.example.nl", "v=DMARC1; p=reject; sp=none"),
    )
    f = spf.SpfFacts("a.example.nl")
    f.txt["a.example.nl"] = txt("a.example.nl", "v=spf1 -all")
    assert not non_sending(f, sub)


def test_several_records_do_not_fall_back_to_org_domain() -> None:
    own = txt("_dmarc.mail.example.nl", "v=DMARC1; p=reject", "v=DMARC1; p=quarantine")
    r = run("mail.example.nl", own, txt("_dmarc.example.nl", "v=DMARC1; p=reject"))
    assert (
        r["mail.dmarc"].status is Status.FAILED
        and "2 DMARC records at _dmarc.mail.example.nl" in r["mail.dmarc"].detail
    )
