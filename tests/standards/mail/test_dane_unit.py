"""DANE matching (RFC 7672 / RFC 6698) and the DANE subtests on recorded facts."""

from __future__ import annotations

import hashlib

import pytest
from dnsinfra import make_cert

from nds.standards.checks.dns.resolver import DnssecStatus, Lookup
from nds.standards.checks.mail import dane
from nds.standards.checks.mail.evaluate_mx import C_DANE, C_DANE_ROLL, evaluate_dane
from nds.standards.checks.mail.retrieve import MxHost, Probe
from nds.standards.checks.mail.smtp import SessionResult
from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import Status

pytestmark = pytest.mark.unit

CA = make_cert(["Test CA"], ca=True)
LEAF = make_cert(["mx.example.nl"], CA)
OTHER = make_cert(["mx.example.nl"], CA)
WRONG_NAME = make_cert(["other.example.nl"], CA)


def tlsa(usage: int, selector: int, mtype: int, cert) -> str:
    from cryptography.hazmat.primitives import serialization

    data = (
        cert.der
        if selector == 0
        else cert.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    if mtype == 1:
        data = hashlib.sha256(data).digest()
    elif mtype == 2:
        data = hashlib.sha512(data).digest()
    return f"{usage} {selector} {mtype} {data.hex()}"


def host(
    records: list[str], chain: list[bytes] | None, status=DnssecStatus.SECURE, rcode="NOERROR"
) -> MxHost:
    h = MxHost(
        "mx.example.nl",
        10,
        Lookup("mx.example.nl.", "A", "NOERROR", ("192.0.2.1",)),
        Lookup("mx.example.nl.", "AAAA", "NOERROR", ()),
        Lookup("_25._tcp.mx.example.nl.", "TLSA", rcode, tuple(records), status),
    )
    tls = TlsFacts("192.0.2.1", 25, versions=["TLSv1.3"], chain=chain or [])
    h.probes.append(Probe("192.0.2.1", SessionResult("ok"), tls if chain is not None else None))
    return h


def by_id(results):
    return {r.id: r for r in results}


@pytest.mark.parametrize(("sel", "mt"), [(0, 0), (0, 1), (1, 1), (1, 2), (0, 2)])
def test_dane_ee_matches_leaf(sel: int, mt: int) -> None:
    r = by_id(evaluate_dane(host([tlsa(3, sel, mt, LEAF)], [LEAF.der, CA.der])))
    assert r["mail.dane_exists"].status is Status.PASSED and r["mail.dane_exists"].clause == C_DANE
    assert r["mail.dane"].status is Status.PASSED


def test_dane_ee_ignores_name() -> None:
    r = by_id(evaluate_dane(host([tlsa(3, 1, 1, WRONG_NAME)], [WRONG_NAME.der])))
    assert r["mail.dane"].status is Status.PASSED


def test_dane_ta_matches_issuer_and_checks_name() -> None:
    r = by_id(evaluate_dane(host([tlsa(2, 1, 1, CA)], [LEAF.der, CA.der])))
    assert r["mail.dane"].status is Status.PASSED
    r = by_id(evaluate_dane(host([tlsa(2, 1, 1, CA)], [WRONG_NAME.der, CA.der])))
    assert r["mail.dane"].status is Status.FAILED and "does not name mx.example.nl" in r["mail.dane"].detail


def test_dane_ta_requires_chain_link() -> None:
    other_ca = make_cert(["Other CA"], ca=True)
    r = by_id(evaluate_dane(host([tlsa(2, 1, 1, other_ca)], [LEAF.der, other_ca.der])))
    assert r["mail.dane"].status is Status.FAILED and "chain up" in r["mail.dane"].detail


def test_mismatch_fails() -> None:
    r = by_id(evaluate_dane(host([tlsa(3, 1, 1, OTHER)], [LEAF.der, CA.der])))
    assert r["mail.dane"].status is Status.FAILED and r["mail.dane"].clause.startswith("RFC 7672 §3.1.1")


@pytest.mark.parametrize("usage", [0, 1])
def test_pkix_usages_ignored_on_port_25(usage: int) -> None:
    r = by_id(evaluate_dane(host([tlsa(usage, 1, 1, LEAF)], [LEAF.der, CA.der])))
    assert r["mail.dane_exists"].status is Status.PASSED
    assert r["mail.dane"].status is Status.FAILED and r["mail.dane"].clause == "RFC 7672 §3.1.3"


def test_insecure_tlsa_fails_exists() -> None:
    r = by_id(evaluate_dane(host([tlsa(3, 1, 1, LEAF)], [LEAF.der], DnssecStatus.INSECURE)))
    assert (
        r["mail.dane_exists"].status is Status.FAILED and "not DNSSEC-signed" in r["mail.dane_exists"].detail
    )
    assert r["mail.dane"].status is Status.NOT_TESTED


def test_bogus_tlsa_fails_both() -> None:
    r = by_id(evaluate_dane(host([tlsa(3, 1, 1, LEAF)], [LEAF.der], DnssecStatus.BOGUS)))
    assert r["mail.dane_exists"].status is Status.FAILED and r["mail.dane"].status is Status.FAILED


def test_no_tlsa_and_dns_error() -> None:
    r = by_id(evaluate_dane(host([], [LEAF.der], rcode="NXDOMAIN")))
    assert r["mail.dane_exists"].status is Status.FAILED and "no TLSA record" in r["mail.dane_exists"].detail
    r = by_id(evaluate_dane(host([], [LEAF.der], DnssecStatus.INSECURE, rcode="TIMEOUT")))
    assert r["mail.dane_exists"].status is Status.ERROR


def test_no_chain_is_not_tested() -> None:
    r = by_id(evaluate_dane(host([tlsa(3, 1, 1, LEAF)], None)))
    assert r["mail.dane"].status is Status.NOT_TESTED


def test_rollover_schemes() -> None:
    one = by_id(evaluate_dane(host([tlsa(3, 1, 1, LEAF)], [LEAF.der])))["mail.dane_rollover"]
    assert one.status is Status.INFO and one.clause == C_DANE_ROLL
    two = by_id(evaluate_dane(host([tlsa(3, 1, 1, LEAF), tlsa(3, 1, 1, OTHER)], [LEAF.der])))
    assert two["mail.dane_rollover"].status is Status.PASSED and two["mail.dane"].status is Status.PASSED
    mixed = by_id(evaluate_dane(host([tlsa(3, 1, 1, LEAF), tlsa(2, 1, 1, CA)], [LEAF.der, CA.der])))
    assert mixed["mail.dane_rollover"].status is Status.PASSED


def test_malformed_tlsa_and_bad_lengths() -> None:
    assert not dane.Tlsa.parse("3 1 1 abcd").usable  # sha256 must be 32 bytes
    with pytest.raises(ValueError):
        dane.Tlsa.parse("3 1")
