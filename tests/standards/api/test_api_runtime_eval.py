"""Pure evaluation of live API observations (no network): each runtime rule, positive and negative."""

from __future__ import annotations

import pytest

from nds.standards.checks.api.retrieve import ApiObservation, Fetched
from nds.standards.checks.api.runtime import publish_openapi, security_headers, transport_tls, version_header
from nds.standards.model import Status, TestResult

pytestmark = pytest.mark.unit
DOC = {"openapi": "3.0.3", "info": {"title": "x", "version": "1.2.3"}, "paths": {}}
GOOD_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "content-type": "application/json",
    "strict-transport-security": "max-age=31536000",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "access-control-allow-origin": "*",
    "api-version": "1.2.3",
}


def obs(
    doc_headers: dict[str, str] | None = None,
    root_status: int = 200,
    root_headers: dict[str, str] | None = None,
    base: str = "https://api.test/v1",
    status: int = 200,
    yaml_doc: object = None,
) -> ApiObservation:
    d = Fetched(
        url=base + "/openapi.json",
        status=status,
        headers=doc_headers if doc_headers is not None else dict(GOOD_HEADERS),
        body=b"{}",
        scheme=base.split(":")[0],
    )
    root = Fetched(
        url=base,
        status=root_status,
        headers=root_headers if root_headers is not None else dict(GOOD_HEADERS),
        scheme=base.split(":")[0],
    )
    y = None
    if yaml_doc is not None:
        y = Fetched(url=base + "/openapi.yaml", status=200, body=b"x")
    return ApiObservation(base_url=base, document=d, yaml_document=y, root=root, doc=DOC, yaml_doc=yaml_doc)


def test_publish_openapi() -> None:
    assert publish_openapi(obs(), "2.1.0").status is Status.PASSED
    assert publish_openapi(obs(yaml_doc=DOC), "2.1.0").status is Status.PASSED
    r = publish_openapi(obs(yaml_doc={"openapi": "3.0.3"}), "2.1.0")
    assert r.status is Status.FAILED and "openapi.yaml" in r.detail
    r = publish_openapi(obs(doc_headers={"access-control-allow-origin": "https://a.example"}), "2.1.0")
    assert r.status is Status.FAILED and "not '*'" in r.detail
    assert publish_openapi(obs(status=403), "2.1.0").status is Status.FAILED
    assert publish_openapi(obs(status=404), "2.1.0").status is Status.FAILED


def test_version_header() -> None:
    assert version_header(obs(), "2.1.0").status is Status.PASSED
    r = version_header(obs(root_headers={**GOOD_HEADERS, "api-version": "1.2.4"}), "2.1.0")
    assert r.status is Status.FAILED and "'1.2.4'" in r.detail
    r = version_header(obs(root_headers={}), "2.1.0")
    assert r.status is Status.FAILED and "API root: missing" in r.detail
    # a gateway's 404 for the bare base path may lack the header
    assert version_header(obs(root_status=404, root_headers={}), "2.1.0").status is Status.PASSED


def test_security_headers() -> None:
    assert security_headers(obs(), "2.1.0").status is Status.PASSED  # type: ignore[union-attr]
    assert security_headers(obs(), "2.0.2") is None  # not a rule in ADR 2.0
    for missing, text in (
        ("cache-control", "no-store"),
        ("x-frame-options", "X-Frame-Options"),
        ("strict-transport-security", "Strict-Transport-Security"),
        ("content-security-policy", "frame-ancestors"),
    ):
        h = {k: v for k, v in GOOD_HEADERS.items() if k != missing}
        r = security_headers(obs(root_headers=h), "2.1.0")
        assert r is not None and r.status is Status.FAILED and text in r.detail
    h = {k: v for k, v in GOOD_HEADERS.items() if k != "strict-transport-security"}
    r = security_headers(
        obs(root_headers=h, base="http://api.test/v1"), "2.1.0"
    )  # HSTS only means something on HTTPS
    assert r is not None and r.status is Status.PASSED


def test_transport_tls() -> None:
    assert transport_tls(obs(base="http://api.test/v1"), "2.1.0").status is Status.FAILED
    assert transport_tls(obs(), "2.1.0").status is Status.GOOD_NOT_TESTED
    bad = TestResult("tls", Status.FAILED, "tls.version: failed", "NCSC")
    assert transport_tls(obs(), "2.1.0", bad).status is Status.FAILED
    assert transport_tls(obs(), "2.0.2").clause == "ADR 2.0.2 /core/transport-security"
