"""Unit tests of the web rules on recorded HTTP facts: redirect, HSTS, HTTP compression, CAA, headers,
CSP, Referrer-Policy, security.txt, and the legal verdict where it and internet.nl disagree."""

from __future__ import annotations

import datetime as dt

import pytest

from nds.standards import legal
from nds.standards.checks.web import evaluate as ev
from nds.standards.checks.web import headers as hd
from nds.standards.checks.web.retrieve import HttpFacts, Response
from nds.standards.checks.web.securitytxt import evaluate_security_txt
from nds.standards.model import Status, TestResult
from nds.standards.policy import get_profile

pytestmark = pytest.mark.unit
HOST = "www.example.nl"


def resp(url: str, status: int = 200, body: bytes = b"", **headers: str) -> Response:
    return Response(url, status, [(k.replace("_", "-"), v) for k, v in headers.items()], body)


def http(**kw) -> HttpFacts:
    return HttpFacts(address="192.0.2.1", **kw)


# --- redirect ------------------------------------------------------------------------------------------


def test_redirect_same_host_passes() -> None:
    h = http(http_chain=[resp(f"http://{HOST}/", 301, location=f"https://{HOST}/")])
    r = ev.https_redirect(h, HOST)
    assert r.status is Status.PASSED and "Stb. 2023, 179" in r.clause


def test_redirect_relative_then_https() -> None:
    h = http(
        http_chain=[
            resp(f"http://{HOST}/", 302, location="/nl/"),
            resp(f"http://{HOST}/nl/", 301, location=f"https://{HOST}/nl/"),
        ]
    )
    assert ev.https_redirect(h, HOST).status is Status.PASSED


def test_redirect_to_other_host_first_fails() -> None:
    h = http(http_chain=[resp(f"http://{HOST}/", 301, location="https://example.nl/")])
    r = ev.https_redirect(h, HOST)
    assert r.status is Status.FAILED and "another host (example.nl)" in r.detail


def test_plain_http_200_fails_and_closed_port_passes() -> None:
    assert ev.https_redirect(http(http_chain=[resp(f"http://{HOST}/")]), HOST).status is Status.FAILED
    assert ev.https_redirect(http(http_error="connection refused"), HOST).status is Status.PASSED


# --- HSTS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=31536000", {"max-age": "31536000"}),
        (
            'max-age="63072000"; includeSubDomains; preload',
            {"max-age": "63072000", "includesubdomains": None, "preload": None},
        ),
        ("includeSubDomains", None),
        ("max-age=abc", None),
        ("max-age=1; max-age=2", None),
    ],
)
def test_parse_hsts(value: str, expected: dict | None) -> None:
    assert ev.parse_hsts(value) == expected


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("max-age=31536000", Status.PASSED),
        ("max-age=31535999", Status.FAILED),
        ("max-age=0", Status.FAILED),
        (None, Status.FAILED),
        ("max-age", Status.FAILED),
    ],
)
def test_hsts_on_first_response(value: str | None, status: Status) -> None:
    hdrs = {"strict_transport_security": value} if value else {}
    h = http(https_chain=[resp(f"https://{HOST}/", **hdrs)])
    assert ev.https_hsts(h).status is status


def test_hsts_only_on_a_later_hop_fails() -> None:
    h = http(
        https_chain=[
            resp(f"https://{HOST}/", 302, location="/home"),
            resp(f"https://{HOST}/home", strict_transport_security="max-age=31536000"),
        ]
    )
    assert ev.https_hsts(h).status is Status.FAILED


def test_http_compression_is_info() -> None:
    p = get_profile("ncsc-2025-05")
    assert ev.http_compression(http(content_encoding="gzip"), p).status is Status.INFO
    assert ev.http_compression(http(content_encoding=None), p).status is Status.PASSED


def test_caa() -> None:
    assert ev.caa([], None).status is Status.WARNING
    assert ev.caa(['0 issue "letsencrypt.org"'], "example.nl").status is Status.PASSED
    assert ev.caa(['0 iodef "mailto:x@example.nl"'], "example.nl").status is Status.WARNING
    assert ev.caa(None, None, "SERVFAIL").status is Status.NOT_TESTED


# --- headers -------------------------------------------------------------------------------------------

GOOD_CSP = "default-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        (GOOD_CSP, None),
        ("default-src 'self'", "frame-ancestors missing"),
        (GOOD_CSP + "; script-src 'self' 'unsafe-inline'", "script-src allows 'unsafe-inline'"),
        (GOOD_CSP + "; script-src 'unsafe-eval'", "script-src allows 'unsafe-eval'"),
        (GOOD_CSP + "; img-src https:", "img-src allows any host via https:"),
        (GOOD_CSP + "; img-src http://cdn.example.nl", "img-src allows plain-HTTP sources"),
        (GOOD_CSP + "; img-src *", "img-src allows any host via *"),
        (GOOD_CSP + "; connect-src 127.0.0.1:8080", "connect-src allows a local address"),
        (GOOD_CSP + "; object-src data:", "object-src allows data: URLs"),
        (
            "default-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "script-src allows data: URLs",
        ),
        (GOOD_CSP + "; style-src *.nl", "wildcard over a whole top-level domain"),
    ],
)
def test_csp_rules(policy: str, problem: str | None) -> None:
    r, parsed = hd.csp(resp(f"https://{HOST}/", content_security_policy=policy), "a")
    if problem is None:
        assert r.status is Status.PASSED and parsed is not None
    else:
        assert r.status is Status.WARNING and problem in r.detail


def test_csp_report_only_does_not_count() -> None:
    r, _ = hd.csp(resp(f"https://{HOST}/", content_security_policy_report_only=GOOD_CSP), "a")
    assert r.status is Status.WARNING and "Report-Only" in r.detail


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("no-referrer", Status.PASSED),
        ("same-origin", Status.PASSED),
        ("strict-origin-when-cross-origin", Status.PASSED),
        ("unsafe-url", Status.WARNING),
        ("no-referrer-when-downgrade", Status.WARNING),
        ("bogus", Status.WARNING),
        ("unsafe-url, no-referrer", Status.PASSED),
    ],
)
def test_referrer_policy(value: str, status: Status) -> None:
    assert hd.referrer_policy(resp("u", referrer_policy=value), "a").status is status


def test_xfo_and_xcto() -> None:
    assert hd.x_frame_options(resp("u", x_frame_options="DENY"), "a", None).status is Status.PASSED
    assert hd.x_frame_options(resp("u", x_frame_options="ALLOW-FROM x"), "a", None).status is Status.INFO
    assert hd.x_frame_options(resp("u"), "a", {"frame-ancestors": ["'none'"]}).status is Status.PASSED
    assert hd.x_content_type_options(resp("u", x_content_type_options="nosniff"), "a").status is Status.PASSED
    assert hd.x_content_type_options(resp("u"), "a").status is Status.WARNING


# --- security.txt --------------------------------------------------------------------------------------


def _sectxt(expires_days: int = 200, contact: bool = True) -> bytes:
    exp = (dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ([f"Contact: mailto:security@{HOST}"] if contact else []) + [f"Expires: {exp}", ""]
    return "\n".join(lines).encode()


def _found(
    body: bytes, path: str = "/.well-known/security.txt", ctype: str = "text/plain; charset=utf-8"
) -> HttpFacts:
    return http(security_txt=[resp(f"https://{HOST}{path}", 200, body, content_type=ctype)])


def test_security_txt_valid() -> None:
    r = evaluate_security_txt(_found(_sectxt()), HOST)
    assert r.status is Status.PASSED, r.detail


@pytest.mark.parametrize(
    ("facts", "needle"),
    [
        (lambda: _found(_sectxt(expires_days=-1)), "expire"),
        (lambda: _found(_sectxt(contact=False)), "Contact"),
        (lambda: _found(_sectxt(), ctype="text/html"), "not text/plain"),
        (lambda: _found(_sectxt(), ctype="text/plain; charset=latin-1"), "charset"),
        (lambda: _found(_sectxt(), path="/security.txt"), "legacy"),
        (
            lambda: http(security_txt=[resp(f"https://{HOST}/.well-known/security.txt", 404)]),
            "no security.txt",
        ),
    ],
)
def test_security_txt_problems(facts, needle: str) -> None:
    r = evaluate_security_txt(facts(), HOST)
    assert r.status is Status.WARNING and needle.lower() in r.detail.lower(), r.detail
    assert r.clause.startswith("RFC 9116")


# --- legal verdict -------------------------------------------------------------------------------------


def _r(sub: str, status: Status, level: str | None = None) -> TestResult:
    return TestResult(
        sub,
        status,
        "detail",
        "clause",
        target="192.0.2.1",
        facts={"profile": "ncsc-2.1.1", **({"level": level} if level else {})},
    )


def _all_good() -> list[TestResult]:
    return [
        _r("https.available", Status.PASSED),
        _r("https.redirect", Status.PASSED),
        _r("cert.trust", Status.PASSED),
        _r("cert.hostname", Status.PASSED),
    ] + [_r(s, Status.PASSED, "good") for s in legal.TLS_SUBTESTS]


def test_legal_compliant_even_with_short_hsts() -> None:
    """internet.nl fails max-age < 1 year; the Besluit only requires HSTS."""
    v = legal.https_verdict(_all_good(), {"192.0.2.1": "max-age=86400"})
    assert v["verdict"] == "compliant" and v["profile"] == "ncsc-2.1.1"
    assert v["instrument"].endswith("(Stb. 2023, 179)")


def test_legal_phase_out_is_non_compliant() -> None:
    """A phase-out item is only a warning at internet.nl but not 'voldoende of goed' under art. 2(a)."""
    results = [r for r in _all_good() if r.id != "tls.version"] + [
        _r("tls.version", Status.WARNING, "phase_out")
    ]
    v = legal.https_verdict(results, {"192.0.2.1": "max-age=31536000"})
    assert v["verdict"] == "non_compliant"
    assert v["reasons"][0]["clause"].endswith(
        "art. 2, onderdeel a (TLS-richtlijnen 2.1.1: voldoende of goed)"
    )


def test_legal_redirect_and_hsts_reasons() -> None:
    results = [r for r in _all_good() if r.id != "https.redirect"] + [_r("https.redirect", Status.FAILED)]
    v = legal.https_verdict(results, {"192.0.2.1": None})
    clauses = [x["clause"] for x in v["reasons"]]
    assert any("onderdeel b" in c for c in clauses)
    assert any(c.endswith("art. 2 (HTTPS en HSTS)") for c in clauses)
    assert legal.https_verdict(_all_good(), {"a": "max-age=0"})["verdict"] == "non_compliant"


def test_legal_ignores_internetnl_only_rules() -> None:
    extra = [
        _r("headers.csp", Status.WARNING),
        _r("security_txt", Status.WARNING),
        _r("cert.caa", Status.WARNING),
    ]
    assert legal.https_verdict(_all_good() + extra, {"a": "max-age=10"})["verdict"] == "compliant"


def test_legal_undetermined_when_a_tls_subtest_could_not_run() -> None:
    results = [r for r in _all_good() if r.id != "tls.zero_rtt"] + [_r("tls.zero_rtt", Status.NOT_TESTED)]
    v = legal.https_verdict(results, {"a": "max-age=31536000"})
    assert v["verdict"] == "undetermined" and v["undetermined"]


# --- DANE ----------------------------------------------------------------------------------------------


def _chain() -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return [cert.public_bytes(serialization.Encoding.DER)]


def _tlsa(records: tuple[str, ...], dnssec: str = "secure", rcode: str = "NOERROR"):
    from nds.standards.checks.dns.resolver import DnssecStatus, Lookup

    return Lookup(f"_443._tcp.{HOST}", "TLSA", rcode, records, DnssecStatus(dnssec))


def test_dane_web_rules() -> None:
    import hashlib

    from cryptography import x509

    from nds.standards.checks.tls.retrieve import TlsFacts
    from nds.standards.checks.web.dane import evaluate_dane

    chain = _chain()
    spki_hash = hashlib.sha256(
        x509.load_der_x509_certificate(chain[0])
        .public_key()
        .public_bytes(
            __import__("cryptography").hazmat.primitives.serialization.Encoding.DER,
            __import__("cryptography").hazmat.primitives.serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    ).hexdigest()
    untrusted = TlsFacts("192.0.2.1", 443, chain=chain, trust_error="self-signed certificate")
    trusted = TlsFacts("192.0.2.1", 443, chain=chain)

    def by(results: list) -> dict:
        return {r.id: r.status for r in results}

    assert by(evaluate_dane(HOST, _tlsa((f"3 1 1 {spki_hash}",)), [untrusted])) == {
        "dane.exists": Status.PASSED,
        "dane.valid": Status.PASSED,
    }
    assert (
        by(evaluate_dane(HOST, _tlsa(("3 1 1 " + "ab" * 32,)), [untrusted]))["dane.valid"] is Status.WARNING
    )
    # PKIX-EE (usage 1) also needs ordinary trust
    assert (
        by(evaluate_dane(HOST, _tlsa((f"1 1 1 {spki_hash}",)), [untrusted]))["dane.valid"] is Status.WARNING
    )
    assert by(evaluate_dane(HOST, _tlsa((f"1 1 1 {spki_hash}",)), [trusted]))["dane.valid"] is Status.PASSED
    assert by(evaluate_dane(HOST, _tlsa(()), [trusted])) == {"dane.exists": Status.INFO}
    assert by(evaluate_dane(HOST, _tlsa((f"3 1 1 {spki_hash}",), "bogus"), [trusted]))["dane.valid"] is (
        Status.WARNING
    )
    assert by(evaluate_dane(HOST, _tlsa((), rcode="SERVFAIL"), [trusted])) == {
        "dane.exists": Status.NOT_TESTED
    }
    assert evaluate_dane(HOST, None, [trusted]) == []
