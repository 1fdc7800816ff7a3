"""Pure evaluation of what the live API returned (no I/O): the technical rules' "how to test".

- ``/core/publish-openapi``: ``openapi.json`` at the base path, unauthenticated (200), valid JSON,
  ``Access-Control-Allow-Origin`` allowing all origins; an ``openapi.yaml`` copy is optional but,
  if served, must parse and hold the same description (ADR 2.2.0 "how to test", steps 2-3).
- ``/core/version-header``: the live ``API-Version`` header equals ``info.version``.
- ``/core/transport/security-headers`` (2.1.0+): the mandatory headers on a call to the API root.
- ``/core/transport/tls`` (``/core/transport-security`` in 2.0.2): HTTPS with a trusted
  certificate; the NCSC evaluation of the TLS configuration comes from the TLS check when present.
"""

from __future__ import annotations

from typing import Any

from nds.standards.checks.api.lint import clause, subtest_id
from nds.standards.checks.api.retrieve import RATE_LIMITED, ApiObservation, Fetched
from nds.standards.model import Status, TestResult

SECURITY_HEADERS = (
    "cache-control",
    "content-security-policy",
    "content-type",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "access-control-allow-origin",
)


def _result(
    adr_id: str, version: str, status: Status, detail: str, fix: str = "", **facts: Any
) -> TestResult:
    return TestResult(
        subtest_id(adr_id),
        status,
        detail,
        clause(adr_id, version),
        fix=fix,
        facts={"rules_version": version, "runtime": True, **facts},
    )


def publish_openapi(obs: ApiObservation, version: str) -> TestResult:
    d = obs.document
    rule = "/core/publish-openapi"
    fix = "Serve <base>/openapi.json without authentication, with Access-Control-Allow-Origin: *."
    if d.error is not None:
        return _result(
            rule,
            version,
            Status.FAILED,
            f"openapi.json could not be retrieved: {d.error}",
            fix,
            fetched=d.facts(),
        )
    if d.status in RATE_LIMITED:
        return _result(
            rule,
            version,
            Status.ERROR,
            f"openapi.json answered HTTP {d.status} (rate limited or overloaded) after retries; not judged",
            fetched=d.facts(),
        )
    if d.status in (401, 403):
        return _result(
            rule,
            version,
            Status.FAILED,
            f"openapi.json requires authentication (HTTP {d.status})",
            fix,
            fetched=d.facts(),
        )
    if d.status != 200:
        return _result(
            rule, version, Status.FAILED, f"openapi.json answered HTTP {d.status}", fix, fetched=d.facts()
        )
    if obs.parse_error is not None:
        return _result(rule, version, Status.FAILED, obs.parse_error, fix, fetched=d.facts())
    problems: list[str] = []
    acao = d.header("access-control-allow-origin")
    if acao is None:
        problems.append("no Access-Control-Allow-Origin header (browsers elsewhere cannot read the document)")
    elif acao.strip() != "*":
        problems.append(f"Access-Control-Allow-Origin is {acao!r}, not '*' (all origins)")
    y = obs.yaml_document
    if y is not None and y.status == 200 and y.error is None and y.body:
        if obs.yaml_error is not None:
            problems.append(obs.yaml_error)
        elif obs.yaml_doc != obs.doc:
            problems.append("openapi.yaml does not hold the same description as openapi.json")
    if problems:
        return _result(rule, version, Status.FAILED, "; ".join(problems), fix, fetched=d.facts())
    return _result(
        rule,
        version,
        Status.PASSED,
        "openapi.json is public, valid JSON and readable from any origin",
        fetched=d.facts(),
    )


def version_header(obs: ApiObservation, version: str) -> TestResult:
    rule = "/core/version-header"
    fix = "Return `API-Version: <info.version>` on every response."
    info = obs.doc.get("info") if isinstance(obs.doc, dict) else None
    declared = info.get("version") if isinstance(info, dict) else None
    if declared is None:
        return _result(
            rule, version, Status.FAILED, "no info.version to compare the API-Version header with", fix
        )
    seen: dict[str, str | None] = {}
    for name, f in (("openapi.json", obs.document), ("API root", obs.root)):
        if f is None or f.status is None or f.error is not None or f.status in RATE_LIMITED:
            continue
        # An error answered by an intermediary (e.g. a gateway's 404 for the bare base path) MAY lack
        # the header (ADR /core/version-header rationale): only judge it when present.
        if f.status >= 400 and f.header("api-version") is None:
            continue
        seen[name] = f.header("api-version")
    if not seen:
        return _result(rule, version, Status.ERROR, "no response to read the API-Version header from", fix)
    bad = {n: v for n, v in seen.items() if v is None or v.strip() != str(declared)}
    if bad:
        parts = [f"{n}: {'missing' if v is None else repr(v)}" for n, v in bad.items()]
        return _result(
            rule,
            version,
            Status.FAILED,
            f"API-Version must equal info.version {declared!r}; got " + ", ".join(parts),
            fix,
            observed=seen,
            declared=str(declared),
        )
    return _result(
        rule,
        version,
        Status.PASSED,
        f"API-Version {declared} on every response checked",
        observed=seen,
        declared=str(declared),
    )


def security_headers(obs: ApiObservation, version: str) -> TestResult | None:
    if version == "2.0.2":
        return None  # ADR 2.0 has no security-headers rule
    rule = "/core/transport/security-headers"
    root: Fetched | None = obs.root
    if root is None or root.status is None or root.error is not None or root.status in RATE_LIMITED:
        reason = (root.error or f"HTTP {root.status} (rate limited)") if root is not None else "not requested"
        return _result(rule, version, Status.ERROR, f"the API root could not be retrieved: {reason}")
    h = root.header
    problems: list[str] = []
    cc = (h("cache-control") or "").lower()
    if "no-store" not in cc:
        problems.append("Cache-Control lacks no-store")
    csp = (h("content-security-policy") or "").lower()
    if "frame-ancestors 'none'" not in csp:
        problems.append("Content-Security-Policy lacks frame-ancestors 'none'")
    if not h("content-type"):
        problems.append("no Content-Type")
    if root.scheme == "https" and not h("strict-transport-security"):
        problems.append("no Strict-Transport-Security")
    if (h("x-content-type-options") or "").strip().lower() != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if (h("x-frame-options") or "").strip().upper() != "DENY":
        problems.append("X-Frame-Options is not DENY")
    if h("access-control-allow-origin") is None:
        problems.append("no Access-Control-Allow-Origin")
    present = {k: h(k) for k in SECURITY_HEADERS if h(k) is not None}
    if problems:
        return _result(
            rule,
            version,
            Status.FAILED,
            f"on GET {root.url} (HTTP {root.status}): " + "; ".join(problems),
            "Return Cache-Control: no-store, CSP frame-ancestors 'none', Content-Type, HSTS, "
            "X-Content-Type-Options: nosniff, X-Frame-Options: DENY and Access-Control-Allow-Origin.",
            headers=present,
        )
    return _result(
        rule,
        version,
        Status.PASSED,
        "all mandatory security headers present on the API root",
        headers=present,
    )


def transport_tls(obs: ApiObservation, version: str, tls_verdict: TestResult | None = None) -> TestResult:
    rule = "/core/transport-security" if version == "2.0.2" else "/core/transport/tls"
    fix = "Serve the API only over HTTPS, configured per the NCSC TLS guidelines."
    d = obs.document
    if not obs.base_url.startswith("https://"):
        return _result(rule, version, Status.FAILED, "the API is not served over HTTPS", fix)
    if d.error is not None and d.error.startswith("certificate not trusted"):
        return _result(rule, version, Status.FAILED, d.error, fix)
    if d.status is None:
        return _result(rule, version, Status.ERROR, f"no TLS connection: {d.error}", fix)
    if tls_verdict is None:
        return _result(
            rule,
            version,
            Status.GOOD_NOT_TESTED,
            "HTTPS with a trusted certificate; the NCSC evaluation of the TLS configuration was not run",
        )
    return _result(
        rule,
        version,
        tls_verdict.status,
        f"HTTPS; NCSC TLS: {tls_verdict.detail}",
        fix if tls_verdict.status in (Status.FAILED, Status.WARNING) else "",
        tls=tls_verdict.to_json(),
    )


def evaluate_runtime(
    obs: ApiObservation, version: str, tls_verdict: TestResult | None = None
) -> list[TestResult]:
    out = [publish_openapi(obs, version)]
    if obs.doc is not None:
        out.append(version_header(obs, version))
    sh = security_headers(obs, version)
    if sh is not None:
        out.append(sh)
    out.append(transport_tls(obs, version, tls_verdict))
    return out
