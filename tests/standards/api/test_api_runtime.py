"""The API check against real servers on loopback: a compliant make_api app over TLS, bad ones over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import api_apps as apps
import pytest
from api_servers import make_tls, serve_aiohttp, serve_asgi
from typer.testing import CliRunner

from nds.standards.checks.api.retrieve import MAX_DOCUMENT_BYTES
from nds.standards.checks.api.run import check_api
from nds.standards.model import Status, worst
from nds.standards.net import ConnectTo, NetworkConfig

pytestmark = pytest.mark.integration


def tls_worst(subtests: dict[str, str]) -> Status:
    from nds.standards.model import SUBTESTS

    counted = [Status(v) for k, v in subtests.items() if SUBTESTS.get(k.split("@")[0]).counts]
    return worst(counted)


def by_id(report):  # type: ignore[no-untyped-def]
    return {t.id: t for t in report.tests}


def test_compliant_make_api_over_tls(tmp_path: Path) -> None:
    tls = make_tls(tmp_path, ["api.gebouwen.test"])
    with serve_asgi(apps.compliant_app(), "127.0.0.21", tls) as port:
        net = NetworkConfig(
            connect_to=(ConnectTo("api.gebouwen.test", 443, "127.0.0.21", port),),
            ca_file=tls.ca_file,
            timeout=5,
        )
        report = asyncio.run(check_api("https://api.gebouwen.test/v1", net, "2.2.0"))
        r21 = by_id(asyncio.run(check_api("https://api.gebouwen.test/v1", net, "2.1.0")))
    # make_api writes OpenAPI 3.0.3 (ADR 2.1.0 accepts only 3.0.x)
    assert r21["api.core/doc-openapi"].status is Status.PASSED
    assert r21["api.core/version-header"].status is Status.PASSED
    assert set(k for k, v in r21.items() if v.status is Status.FAILED) <= {"api.core/transport/tls"}
    t = by_id(report)
    assert t["api.core/publish-openapi"].status is Status.PASSED, t["api.core/publish-openapi"].detail
    assert t["api.core/version-header"].status is Status.PASSED, t["api.core/version-header"].detail
    assert t["api.core/version-header"].facts["observed"] == {"openapi.json": "1.2.3", "API root": "1.2.3"}
    assert t["api.core/transport/security-headers"].status is Status.PASSED
    # The TLS rule is judged by the NCSC TLS evaluation (ncsc-2025-05) of the web checks' TLS family:
    # its verdict is the worst counted TLS/certificate subtest of the address.
    tls_verdict = t["api.core/transport/tls"]
    assert tls_verdict.detail.startswith("HTTPS; NCSC TLS: ncsc-2025-05")
    subtests = tls_verdict.facts["tls"]["facts"]["subtests"]
    assert subtests["tls.version@127.0.0.21"] == "passed" and subtests["cert.trust@127.0.0.21"] == "passed"
    assert subtests["cert.hostname@127.0.0.21"] == "passed"
    assert tls_verdict.status is tls_worst(subtests)
    assert t["api.core/uri-version"].status is Status.PASSED
    assert t["api.core/semver"].status is Status.PASSED
    failed = [x.id for x in report.tests if x.status is Status.FAILED]
    assert set(failed) <= {"api.core/transport/tls"}  # everything else passes
    assert report.standards()["API Design Rules"] is worst([Status.PASSED, tls_verdict.status])
    assert all(x.clause.startswith("ADR 2.2.0 (werkversie) ") for x in report.tests)
    assert all(x.facts["rules_version"] == "2.2.0" for x in report.tests)


def test_untrusted_certificate_fails_tls(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "a", ["api.gebouwen.test"])
    other = make_tls(tmp_path / "b", ["api.gebouwen.test"])
    with serve_asgi(apps.compliant_app(), "127.0.0.22", tls) as port:
        net = NetworkConfig(
            connect_to=(ConnectTo("api.gebouwen.test", 443, "127.0.0.22", port),),
            ca_file=other.ca_file,
            timeout=5,
            retries=0,
        )
        report = asyncio.run(check_api("https://api.gebouwen.test/v1", net, "2.1.0"))
    t = by_id(report)
    assert t["api.core/transport/tls"].status is Status.FAILED
    assert "certificate not trusted" in t["api.core/transport/tls"].detail
    assert t["api.core/publish-openapi"].status is Status.FAILED


def test_hand_built_noncompliant_api() -> None:
    with serve_aiohttp(apps.bad_app(), "127.0.0.23") as port:
        net = NetworkConfig(connect_to=(ConnectTo("api.test", 80, "127.0.0.23", port),), timeout=5)
        report = asyncio.run(check_api("http://api.test/api", net, "2.1.0"))
    t = by_id(report)
    pub = t["api.core/publish-openapi"]
    assert pub.status is Status.FAILED
    assert "Access-Control-Allow-Origin" in pub.detail and "openapi.yaml" in pub.detail
    vh = t["api.core/version-header"]
    assert vh.status is Status.FAILED and "'0.9.0'" in vh.detail and "API root: missing" in vh.detail
    sh = t["api.core/transport/security-headers"]
    assert sh.status is Status.FAILED and "X-Frame-Options" in sh.detail
    assert t["api.core/transport/tls"].status is Status.FAILED
    assert t["api.core/semver"].status is Status.FAILED
    assert t["api.core/uri-version"].status is Status.FAILED
    assert t["api.core/http-methods"].status is Status.FAILED
    assert t["api.advisory.core/no-trailing-slash"].status is Status.WARNING  # warn in the 2.1.0 linter
    assert report.standards()["API Design Rules"] is Status.FAILED


def test_rules_version_changes_verdicts() -> None:
    with serve_aiohttp(apps.bad_app(), "127.0.0.23") as port:
        net = NetworkConfig(connect_to=(ConnectTo("api.test", 80, "127.0.0.23", port),), timeout=5)
        r20 = by_id(asyncio.run(check_api("http://api.test/api", net, "2.0.2")))
        r22 = by_id(asyncio.run(check_api("http://api.test/api", net, "2.2.0")))
    assert r20["api.core/no-trailing-slash"].status is Status.FAILED  # 2.0's own rule is an error
    assert "api.core/transport/security-headers" not in r20  # no such rule in 2.0
    assert r20["api.core/transport-security"].clause == "ADR 2.0.2 /core/transport-security"
    # 2.2.0 is a draft: kebab-case is an error there, so only advisory
    assert r22["api.advisory.core/path-segments-kebab-case"].status is Status.WARNING
    assert "werkversie" in r22["api.advisory.core/path-segments-kebab-case"].clause


def test_unauthenticated_required_and_size_cap() -> None:
    with serve_aiohttp(apps.auth_app(), "127.0.0.24") as port:
        net = NetworkConfig(connect_to=(ConnectTo("api.test", 80, "127.0.0.24", port),), timeout=5)
        t = by_id(asyncio.run(check_api("http://api.test/v1/openapi.json", net)))
    assert t["api.core/publish-openapi"].status is Status.FAILED
    assert "authentication" in t["api.core/publish-openapi"].detail
    with serve_aiohttp(apps.huge_app(MAX_DOCUMENT_BYTES + 200_000), "127.0.0.25") as port:
        net = NetworkConfig(connect_to=(ConnectTo("api.test", 80, "127.0.0.25", port),), timeout=10)
        t = by_id(asyncio.run(check_api("http://api.test/v1", net)))
    assert t["api.core/publish-openapi"].status is Status.FAILED
    assert "exceeds the cap" in t["api.core/publish-openapi"].detail


def test_cli_json_and_errors(tmp_path: Path) -> None:
    from nds.cli import app

    runner = CliRunner()
    with serve_aiohttp(apps.bad_app(), "127.0.0.23") as port:
        res = runner.invoke(
            app,
            [
                "check",
                "api",
                "http://api.test/api",
                "--format",
                "json",
                "--connect-to",
                f"api.test:80:127.0.0.23:{port}",
            ],
        )
    assert res.exit_code == 1, res.output
    out = json.loads(res.stdout)
    assert out["profile"] == "adr-2.1.0" and out["standards"]["API Design Rules"] == "failed"
    ids = {t["id"] for t in out["tests"]}
    assert {"api.core/publish-openapi", "api.core/version-header", "api.core/semver"} <= ids
    assert all({"id", "status", "detail", "clause"} <= set(t) for t in out["tests"])
    bad = runner.invoke(app, ["check", "api", "http://x.test/v1", "--rules-version", "9.9"])
    assert bad.exit_code == 2 and "unknown API Design Rules version" in bad.stderr
    bad = runner.invoke(app, ["check", "api", "ftp://x.test/v1"])
    assert bad.exit_code == 2 and "http:// or https://" in bad.stderr
    doc = tmp_path / "openapi.json"
    doc.write_text("{not json")
    bad = runner.invoke(app, ["check", "api", "https://x.test/v1", "--document", str(doc)])
    assert bad.exit_code == 2 and "not valid JSON" in bad.stderr and "Traceback" not in bad.output


def test_rate_limits_retry_then_error_never_failure() -> None:
    with serve_aiohttp(apps.rate_limited_app(2), "127.0.0.27") as port:
        net = NetworkConfig(connect_to=(ConnectTo("api.test", 80, "127.0.0.27", port),), timeout=5, retries=2)
        t = by_id(asyncio.run(check_api("http://api.test/api", net, "2.2.0")))
    assert t["api.core/publish-openapi"].status is Status.PASSED  # two 429s, then the document
    with serve_aiohttp(apps.rate_limited_app(100), "127.0.0.28") as port:
        net = NetworkConfig(connect_to=(ConnectTo("api.test", 80, "127.0.0.28", port),), timeout=5, retries=2)
        t = by_id(asyncio.run(check_api("http://api.test/api", net)))
    assert t["api.core/publish-openapi"].status is Status.ERROR
    assert "rate limited" in t["api.core/publish-openapi"].detail
