"""SPF parsing and policy evaluation on recorded facts (RFC 7208)."""

from __future__ import annotations

import pytest

from nds.standards.checks.dns.resolver import Lookup
from nds.standards.checks.mail import spf
from nds.standards.checks.mail.evaluate import (
    C_SPF,
    C_SPF_ALL,
    C_SPF_INCLUDE,
    C_SPF_LIMIT,
    C_SPF_SYNTAX,
    C_SPF_VOID,
    evaluate_spf,
)
from nds.standards.model import Status

pytestmark = pytest.mark.unit


def txt(name: str, *records: str, rcode: str = "NOERROR") -> Lookup:
    return Lookup(name + ".", "TXT", rcode, tuple(records))


def facts(domain: str, txts: dict[str, tuple[str, ...] | str], hosts: dict[str, list[Lookup]] | None = None):
    f = spf.SpfFacts(domain)
    for name, recs in txts.items():
        f.txt[name] = txt(name, rcode=recs) if isinstance(recs, str) else txt(name, *recs)
    f.hosts = hosts or {}
    return f


def run(f):
    r = {t.id: t for t in evaluate_spf(f)}
    return r["mail.spf"], r["mail.spf_policy"]


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 -all",
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 mx a:mail.example.nl/28 ~all",
        "V=SPF1 IP4:192.0.2.1 -ALL",
        "v=spf1 a//64 mx/24//64 exp=explain.%{d} -all",
        "v=spf1 exists:%{i}._spf.%{d} -all",
        "v=spf1 unknown-mod=foo -all",
    ],
)
def test_valid_strict_records_pass(record: str) -> None:
    hosts = {
        "A example.nl": [Lookup("example.nl.", "A", "NOERROR", ("192.0.2.1",))],
        "MX example.nl": [Lookup("example.nl.", "MX", "NOERROR", ("10 mx.example.nl.",))],
        "A mail.example.nl": [Lookup("mail.example.nl.", "A", "NOERROR", ("192.0.2.2",))],
    }
    exists, policy = run(facts("example.nl", {"example.nl": (record,)}, hosts))
    assert exists.status is Status.PASSED and exists.clause == C_SPF
    assert policy.status is Status.PASSED, policy.detail
    assert policy.clause == C_SPF_ALL


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("v=spf1 ip4:192.0.2.300 -all", "invalid ip4 address"),
        ("v=spf1 ip4:192.0.2.0/33 -all", "too long"),
        ("v=spf1 ip6:192.0.2.1 -all", "invalid ip6"),
        ("v=spf1 foo:bar -all", "unknown mechanism"),
        ("v=spf1 include -all", "needs a domain"),
        ("v=spf1 redirect=a.nl redirect=b.nl", "more than once"),
        ("v=spf1 include:nodot -all", "not a fully qualified"),
        ("v=spf1 exists:%{z}.example.nl -all", "invalid macro"),
        ("v=spf1 all:foo", "takes no argument"),
    ],
)
def test_syntax_errors_fail(record: str, fragment: str) -> None:
    _, policy = run(facts("example.nl", {"example.nl": (record,)}))
    assert policy.status is Status.FAILED and policy.clause == C_SPF_SYNTAX
    assert fragment in policy.detail


def test_no_record_and_two_records() -> None:
    exists, policy = run(facts("example.nl", {"example.nl": ("google-site-verification=x",)}))
    assert exists.status is Status.FAILED and "no SPF record" in exists.detail
    assert policy.status is Status.NOT_TESTED
    exists, _ = run(facts("example.nl", {"example.nl": ("v=spf1 -all", "v=spf1 ~all")}))
    assert exists.status is Status.FAILED and "2 SPF records" in exists.detail


def test_spf_prefix_must_be_exact() -> None:
    exists, _ = run(facts("example.nl", {"example.nl": ("v=spf10 -all",)}))
    assert exists.status is Status.FAILED


def test_txt_lookup_error_is_error_not_failure() -> None:
    exists, policy = run(facts("example.nl", {"example.nl": "SERVFAIL"}))
    assert exists.status is Status.ERROR and policy.status is Status.NOT_TESTED


@pytest.mark.parametrize(
    ("record", "shown"), [("v=spf1 +all", "'+all'"), ("v=spf1 ?all", "'?all'"), ("v=spf1 mx", "no 'all'")]
)
def test_permissive_policies_fail(record: str, shown: str) -> None:
    hosts = {"MX example.nl": [Lookup("example.nl.", "MX", "NOERROR", ("10 mx.example.nl.",))]}
    _, policy = run(facts("example.nl", {"example.nl": (record,)}, hosts))
    assert policy.status is Status.FAILED and policy.clause == C_SPF_ALL and shown in policy.detail


def test_policy_through_redirect() -> None:
    f = facts(
        "example.nl",
        {"example.nl": ("v=spf1 redirect=_spf.example.nl",), "_spf.example.nl": ("v=spf1 -all",)},
    )
    _, policy = run(f)
    assert policy.status is Status.PASSED and policy.facts["policy"] == "-"
    f = facts(
        "example.nl",
        {"example.nl": ("v=spf1 redirect=_spf.example.nl",), "_spf.example.nl": ("v=spf1 ?all",)},
    )
    assert run(f)[1].status is Status.FAILED


def test_redirect_ignored_when_all_present() -> None:
    f = facts("example.nl", {"example.nl": ("v=spf1 -all redirect=_spf.example.nl",)})
    _, policy = run(f)
    assert policy.status is Status.PASSED and policy.facts["lookups"] == 0


def test_include_all_does_not_set_policy() -> None:
    f = facts("example.nl", {"example.nl": ("v=spf1 include:a.nl ?all",), "a.nl": ("v=spf1 -all",)})
    assert run(f)[1].status is Status.FAILED


def test_eleven_lookups_fail_recursively() -> None:
    txts: dict[str, tuple[str, ...] | str] = {"example.nl": ("v=spf1 include:i1.nl include:i2.nl -all",)}
    txts["i1.nl"] = ("v=spf1 " + " ".join(f"include:n{i}.nl" for i in range(5)) + " -all",)
    txts["i2.nl"] = ("v=spf1 " + " ".join(f"include:m{i}.nl" for i in range(4)) + " -all",)
    for i in range(5):
        txts[f"n{i}.nl"] = ("v=spf1 ip4:192.0.2.1 -all",)
    for i in range(4):
        txts[f"m{i}.nl"] = ("v=spf1 ip4:192.0.2.1 -all",)
    _, policy = run(facts("example.nl", txts))
    assert policy.facts["lookups"] == 11
    assert (
        policy.status is Status.FAILED and policy.clause == C_SPF_LIMIT and "11 DNS-querying" in policy.detail
    )
    # ten is allowed
    txts["i2.nl"] = ("v=spf1 " + " ".join(f"include:m{i}.nl" for i in range(3)) + " -all",)
    _, policy = run(facts("example.nl", txts))
    assert policy.facts["lookups"] == 10 and policy.status is Status.PASSED


def test_void_lookups() -> None:
    void = [Lookup("x.", "A", "NXDOMAIN"), Lookup("x.", "AAAA", "NXDOMAIN")]
    hosts = {f"A v{i}.example.nl": void for i in range(3)}
    rec = "v=spf1 a:v0.example.nl a:v1.example.nl a:v2.example.nl -all"
    _, policy = run(facts("example.nl", {"example.nl": (rec,)}, hosts))
    assert policy.status is Status.FAILED and policy.clause == C_SPF_VOID and "3 void" in policy.detail
    rec2 = "v=spf1 a:v0.example.nl a:v1.example.nl -all"
    assert run(facts("example.nl", {"example.nl": (rec2,)}, hosts))[1].status is Status.PASSED


def test_loop_detected() -> None:
    f = facts(
        "example.nl",
        {"example.nl": ("v=spf1 include:a.nl -all",), "a.nl": ("v=spf1 include:example.nl -all",)},
    )
    _, policy = run(f)
    assert policy.status is Status.FAILED and "loop" in policy.detail and policy.clause == C_SPF_LIMIT


def test_include_without_spf_is_permerror() -> None:
    f = facts("example.nl", {"example.nl": ("v=spf1 include:a.nl -all",), "a.nl": ("something else",)})
    _, policy = run(f)
    assert (
        policy.status is Status.FAILED and policy.clause == C_SPF_INCLUDE and "no SPF record" in policy.detail
    )


def test_include_dns_error_is_error() -> None:
    f = facts("example.nl", {"example.nl": ("v=spf1 include:a.nl -all",), "a.nl": "SERVFAIL"})
    _, policy = run(f)
    assert policy.status is Status.ERROR


def test_macro_include_counted_not_followed() -> None:
    f = facts("example.nl", {"example.nl": ("v=spf1 include:%{d}.spf.example.nl -all",)})
    _, policy = run(f)
    assert policy.status is Status.PASSED and policy.facts["lookups"] == 1


def test_targets_for_retrieval() -> None:
    p = spf.parse("v=spf1 include:A.nl a mx:m.nl redirect=r.nl exists:%{i}.x.nl")
    names, hosts = spf.targets(p, "example.nl")
    assert names == ["a.nl", "r.nl"]
    assert hosts == [("A", "example.nl"), ("MX", "m.nl")]


def test_mx_with_more_than_ten_records_is_permerror() -> None:
    many = Lookup("example.nl.", "MX", "NOERROR", tuple(f"{i} mx{i}.example.nl." for i in range(11)))
    _, policy = run(facts("example.nl", {"example.nl": ("v=spf1 mx -all",)}, {"MX example.nl": [many]}))
    assert policy.status is Status.FAILED and "11 MX records" in policy.detail
