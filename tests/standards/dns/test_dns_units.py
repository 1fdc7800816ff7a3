"""Pure evaluation rules for DNSSEC, RPKI (RFC 6811) and IPv6 on recorded facts."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import pytest

from nds.standards.checks.dns.dnssec import CLAUSE_EXISTS, CLAUSE_VALID, evaluate
from nds.standards.checks.dns.resolver import DnssecStatus, Lookup, dnssec_status_of
from nds.standards.checks.ipv6.check import (
    MxFacts,
    NsFacts,
    WebFacts,
    evaluate_mx,
    evaluate_ns,
    evaluate_web,
)
from nds.standards.checks.ipv6.reach import distance, simhash
from nds.standards.checks.rpki.check import AddressFacts, RouteFact
from nds.standards.checks.rpki.check import evaluate as rpki_evaluate
from nds.standards.checks.rpki.origin import Route, Validity, Vrp, validate
from nds.standards.checks.rpki.sources import FileSource, SourceError
from nds.standards.model import Status

pytestmark = pytest.mark.unit


def by_id(results):
    return {r.id: r for r in results}


# --- DNSSEC status method ------------------------------------------------------------------------


def _msg(ad: bool = False, ede: int | None = None) -> dns.message.Message:
    q = dns.message.make_query("example.nl", "SOA", use_edns=0)
    m = dns.message.make_response(q)
    if ad:
        m.flags |= dns.flags.AD
    if ede is not None:
        m.use_edns(0, options=[dns.edns.EDEOption(ede)])
    return m


@pytest.mark.parametrize("code", [6, 7, 8, 9, 10, 11, 12])
def test_bogus_class_ede_wins_over_ad(code: int) -> None:
    assert dnssec_status_of(_msg(ad=True, ede=code)) is DnssecStatus.BOGUS


def test_ad_is_secure_and_other_ede_is_not_bogus() -> None:
    assert dnssec_status_of(_msg(ad=True)) is DnssecStatus.SECURE
    assert dnssec_status_of(_msg(ad=False, ede=3)) is DnssecStatus.INSECURE  # 3 = stale answer
    assert dnssec_status_of(_msg()) is DnssecStatus.INSECURE


def _soa(rcode: str, status: DnssecStatus, ede: tuple[int, ...] = ()) -> Lookup:
    return Lookup(
        "example.nl.", "SOA", rcode, ("ns. h. 1 2 3 4 5",) if rcode == "NOERROR" else (), status, ede
    )


def test_dnssec_evaluation_states() -> None:
    r = by_id(evaluate(_soa("NOERROR", DnssecStatus.SECURE)))
    assert (r["dnssec.exists"].status, r["dnssec.valid"].status) == (Status.PASSED, Status.PASSED)
    r = by_id(evaluate(_soa("NOERROR", DnssecStatus.BOGUS, (7,))))
    assert (r["dnssec.exists"].status, r["dnssec.valid"].status) == (Status.PASSED, Status.FAILED)
    assert "EDE 7" in r["dnssec.valid"].detail and r["dnssec.valid"].clause == CLAUSE_VALID
    r = by_id(evaluate(_soa("SERVFAIL", DnssecStatus.BOGUS)))
    assert r["dnssec.valid"].status is Status.FAILED
    r = by_id(evaluate(_soa("NOERROR", DnssecStatus.INSECURE)))
    assert r["dnssec.exists"].status is Status.FAILED and r["dnssec.exists"].clause == CLAUSE_EXISTS
    assert r["dnssec.valid"].status is Status.NOT_TESTED
    r = by_id(evaluate(_soa("SERVFAIL", DnssecStatus.INSECURE)))
    assert r["dnssec.exists"].status is Status.ERROR
    r = by_id(evaluate(_soa("NOERROR", DnssecStatus.SECURE), target="mx.example.nl", mx=True))
    assert (
        set(r) == {"dnssec.mx_exists", "dnssec.mx_valid"} and r["dnssec.mx_valid"].target == "mx.example.nl"
    )


# --- RPKI ----------------------------------------------------------------------------------------

N = ipaddress.ip_network


@pytest.mark.parametrize(
    ("route", "vrps", "expected"),
    [
        (Route(N("192.0.2.0/24"), 64500), [Vrp(64500, N("192.0.2.0/24"), 24)], Validity.VALID),
        (Route(N("192.0.2.0/25"), 64500), [Vrp(64500, N("192.0.2.0/24"), 24)], Validity.INVALID),  # maxLength
        (Route(N("192.0.2.0/25"), 64500), [Vrp(64500, N("192.0.2.0/24"), 25)], Validity.VALID),
        (Route(N("192.0.2.0/24"), 64501), [Vrp(64500, N("192.0.2.0/24"), 24)], Validity.INVALID),  # origin
        (Route(N("192.0.2.0/24"), 0), [Vrp(0, N("192.0.2.0/24"), 24)], Validity.INVALID),  # AS0
        (Route(N("198.51.100.0/24"), 64500), [Vrp(64500, N("192.0.2.0/24"), 24)], Validity.NOT_FOUND),
        (Route(N("2001:db8::/32"), 64500), [Vrp(64500, N("192.0.2.0/24"), 24)], Validity.NOT_FOUND),
        (
            Route(N("192.0.2.0/24"), 64500),
            [Vrp(64501, N("192.0.0.0/16"), 24), Vrp(64500, N("192.0.2.0/23"), 24)],
            Validity.VALID,
        ),
    ],
)
def test_rfc6811_origin_validation(route: Route, vrps: list[Vrp], expected: Validity) -> None:
    assert validate(route, vrps) is expected


def test_rpki_evaluation() -> None:
    assert all(r.status is Status.NOT_TESTED for r in rpki_evaluate([], "web", None))
    assert all(r.status is Status.NOT_APPLICABLE for r in rpki_evaluate([], "web", "files"))
    valid = AddressFacts("www", "192.0.2.1", (RouteFact("192.0.2.0/24", 64500, Validity.VALID),))
    nf = AddressFacts("www", "198.51.100.1", (RouteFact("198.51.100.0/24", 64500, Validity.NOT_FOUND),))
    inv = AddressFacts("www", "203.0.113.1", (RouteFact("203.0.113.0/24", 64501, Validity.INVALID),))
    none = AddressFacts("www", "10.0.0.1", ())
    res = rpki_evaluate([valid, nf, inv, none], "web", "files")
    got = {(r.id, r.target): r.status for r in res}
    assert got[("rpki.web_exists", "www 192.0.2.1")] is Status.PASSED
    assert got[("rpki.web_valid", "www 192.0.2.1")] is Status.PASSED
    assert got[("rpki.web_exists", "www 198.51.100.1")] is Status.FAILED
    assert got[("rpki.web_valid", "www 198.51.100.1")] is Status.WARNING
    assert got[("rpki.web_exists", "www 203.0.113.1")] is Status.PASSED  # a ROA exists, it just disagrees
    assert got[("rpki.web_valid", "www 203.0.113.1")] is Status.FAILED
    assert got[("rpki.web_valid", "www 10.0.0.1")] is Status.NOT_TESTED


def test_file_source_errors(tmp_path: Path) -> None:
    vrps, routes = tmp_path / "v.json", tmp_path / "r.txt"
    vrps.write_text("not json")
    routes.write_text("")
    with pytest.raises(SourceError, match="cannot read VRPs"):
        FileSource.load(vrps, routes)
    vrps.write_text(json.dumps({"roas": [{"asn": 64500, "prefix": "192.0.2.0/24"}]}))
    routes.write_text("192.0.2.0/24\n")
    with pytest.raises(SourceError, match=r"r\.txt:1"):
        FileSource.load(vrps, routes)
    routes.write_text("AS64500 192.0.2.0/24\n")
    src = FileSource.load(vrps, routes)
    assert src.vrps[0].max_length == 24 and src.routes[0].origin == 64500


# --- IPv6 ----------------------------------------------------------------------------------------


def test_ns_rules() -> None:
    two = NsFacts("example.nl", "NOERROR", {"ns1": ["2001:db8::1"], "ns2": ["2001:db8::2"], "ns3": []})
    two.reachable = {"ns1 2001:db8::1": True, "ns2 2001:db8::2": True}
    r = by_id(evaluate_ns(two))
    assert r["ipv6.ns"].status is Status.PASSED and r["ipv6.ns_reachable"].status is Status.PASSED
    two.reachable["ns2 2001:db8::2"] = False
    assert by_id(evaluate_ns(two))["ipv6.ns_reachable"].status is Status.FAILED
    one = NsFacts("example.nl", "NOERROR", {"ns1": ["2001:db8::1"], "ns2": []}, {"ns1 2001:db8::1": True})
    assert by_id(evaluate_ns(one))["ipv6.ns"].status is Status.FAILED
    none = NsFacts("example.nl", "SERVFAIL")
    assert by_id(evaluate_ns(none))["ipv6.ns"].status is Status.ERROR


def test_web_rules() -> None:
    page = simhash(b"<html><body>Welkom bij de gemeente Voorbeeld, alle diensten online</body></html>")
    other = simhash(b"<html><body>404 Not Found nginx default server page for this address</body></html>")
    f = WebFacts(
        "www.example.nl",
        ["192.0.2.1"],
        ["2001:db8::1"],
        {"192.0.2.1": [80, 443]},
        {"2001:db8::1": [80, 443]},
        (200, page),
        (200, page),
    )
    r = by_id(evaluate_web(f))
    assert [r[i].status for i in ("ipv6.web", "ipv6.web_reachable", "ipv6.web_same")] == [Status.PASSED] * 3
    f.page_v6 = (200, other)
    assert by_id(evaluate_web(f))["ipv6.web_same"].status is Status.FAILED
    f.page_v6 = (404, page)
    assert by_id(evaluate_web(f))["ipv6.web_same"].status is Status.FAILED
    f.ports_v6 = {"2001:db8::1": [80]}
    r = by_id(evaluate_web(f))
    assert r["ipv6.web_reachable"].status is Status.FAILED and "443" in r["ipv6.web_reachable"].detail
    no6 = WebFacts("www.example.nl", ["192.0.2.1"], [])
    assert by_id(evaluate_web(no6))["ipv6.web"].status is Status.FAILED


def test_simhash_tolerates_small_changes() -> None:
    base = b" ".join(b"word%d" % i for i in range(300))
    changed = base.replace(b"word150", b"other")
    assert distance(simhash(base), simhash(changed)) <= 10
    assert distance(simhash(base), simhash(b"completely different text here " * 20)) > 10


def test_mx_rules() -> None:
    f = MxFacts({"mx1": ["2001:db8::25"], "mx2": []}, {"mx1 2001:db8::25": True})
    got = {(r.id, r.target): r.status for r in evaluate_mx(f)}
    assert got[("ipv6.mx", "mx1")] is Status.PASSED and got[("ipv6.mx", "mx2")] is Status.FAILED
    assert got[("ipv6.mx_reachable", "mx1")] is Status.PASSED
    assert all(r.status is Status.NOT_APPLICABLE for r in evaluate_mx(MxFacts({})))
