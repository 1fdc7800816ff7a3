"""Lint an OpenAPI document against one pinned version of the API Design Rules.

``lint(doc, version)`` returns every linter finding (Spectral rule name, path, severity), the
shape the official linter prints; ``evaluate(doc, version)`` groups them into one verdict per
ADR rule id:

- ``api.<rule id>`` (e.g. ``api.core/version-header``): normative for the pinned *final* version;
  ``failed`` when any error-level finding exists, else ``passed``. Counts for the standard.
- ``api.advisory.<rule id>``: linter warnings and rules that are errors only in the 2.2.0 draft;
  ``warning`` or ``passed``. Shown, never counted.

Every verdict carries the rules version in its clause ("ADR 2.1.0 /core/semver") and in
``facts.rules_version``, so a result stored today stays interpretable after the rules change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nds.standards.checks.api import rules as _checks
from nds.standards.checks.api.rules.catalog import (
    BY_KEY,
    ERROR,
    RULES,
    VERSIONS,
    normative,
)
from nds.standards.checks.api.rules.doc import DocumentTooComplex, Oas, format_path
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult

STANDARD = "API Design Rules"
SPEC_URL = "https://gitdocumentatie.logius.nl/publicatie/api/adr/"

_TITLES = {
    "/core/doc-openapi": "OpenAPI-document (OAS 3)",
    "/core/publish-openapi": "OpenAPI-document gepubliceerd",
    "/core/version-header": "API-Version header",
    "/core/uri-version": "Hoofdversie in de URI",
    "/core/no-trailing-slash": "Geen slash aan het eind van paden",
    "/core/doc-openapi-contact": "Contactgegevens in info.contact",
    "/core/http-methods": "Alleen standaard HTTP-methoden",
    "/core/path-segments-kebab-case": "Padsegmenten in kebab-case",
    "/core/query-keys-camel-case": "Query-parameters in camelCase",
    "/core/naming-resources": "Naamgeving (stijl)",
    "/core/transport/tls": "TLS",
    "/core/transport-security": "TLS",
    "/core/transport/security-headers": "Beveiligingsheaders",
    "/core/error-handling/problem-details": "Foutmeldingen als problem details",
    "/core/error-handling/invalid-input": "400 bij ongeldige invoer",
    "/core/date-time/format": "Datum- en tijdformaten",
    "/core/date-time/date-omit-time-portion": "Datumvelden zonder tijd",
    "/core/semver": "Semantic Versioning",
}

_FIXES = {
    "/core/doc-openapi": "Publish a valid OpenAPI 3 document (set `openapi`, fix schema errors).",
    "/core/publish-openapi": "Serve the OpenAPI document at <base>/openapi.json, unauthenticated, "
    "with `Access-Control-Allow-Origin: *`.",
    "/core/version-header": "Declare and return `API-Version: <info.version>` on every response.",
    "/core/uri-version": "Put the major version in every server URL, e.g. https://api.example.org/v1.",
    "/core/no-trailing-slash": "Remove the trailing `/` from path keys.",
    "/core/doc-openapi-contact": "Add info.contact with name, email and url.",
    "/core/http-methods": "Offer only GET, PUT, POST, PATCH and DELETE operations.",
    "/core/semver": "Use a SemVer info.version such as 1.0.2.",
    "/core/transport/security-headers": "Return the API security headers on every response.",
    "/core/transport/tls": "Serve the API only over HTTPS configured per the NCSC TLS guidelines.",
    "/core/transport-security": "Serve the API only over HTTPS configured per the NCSC TLS guidelines.",
}


def subtest_id(adr_id: str, advisory: bool = False) -> str:
    return ("api.advisory." if advisory else "api.") + adr_id.lstrip("/")


def clause(adr_id: str, version: str) -> str:
    draft = " (werkversie)" if version == "2.2.0" else ""
    return f"ADR {version}{draft} {adr_id}"


def _all_adr_ids() -> set[str]:
    ids = {spec.adr_id(v) for spec in RULES for v in VERSIONS}
    return ids | {
        "/core/transport/security-headers",
        "/core/transport/tls",
        "/core/transport-security",
        "/core/publish-openapi",
        "/core/version-header",
    }


def _declare() -> None:
    for adr_id in sorted(_all_adr_ids()):
        title = _TITLES.get(adr_id, adr_id)
        SUBTESTS.declare(Subtest(subtest_id(adr_id), STANDARD, Status.FAILED, title, f"ADR {adr_id}"))
        SUBTESTS.declare(
            Subtest(subtest_id(adr_id, True), STANDARD, Status.WARNING, f"{title} (advies)", f"ADR {adr_id}")
        )


_declare()


TOO_COMPLEX = "document-too-complex"


@dataclass(frozen=True)
class LintFinding:
    rule: str  # the Spectral rule name as that version's linter prints it
    key: str
    adr: str
    severity: str  # "error" | "warn" (the linter's severity in that version)
    normative: bool  # fails the verdict under the pinned version
    path: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "adr": self.adr,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "normative": self.normative,
        }


def lint(doc: Any, version: str) -> list[LintFinding]:
    """Every finding of every rule that runs under ``version`` (pure; no I/O)."""
    oas = Oas(doc)
    if not isinstance(doc, dict):
        return [
            LintFinding(
                "oas3-schema",
                "oas3-schema",
                "/core/doc-openapi",
                ERROR,
                True,
                "",
                "The OpenAPI document must be a JSON object.",
            )
        ]
    recognised = _checks.is_oas3(doc)
    out: list[LintFinding] = []
    for spec in RULES:
        sev = spec.severity.get(version)
        if sev is None or (spec.builtin and not recognised):
            continue
        try:
            found = _checks.RULE_FUNCTIONS[spec.key](oas, version)
        except (DocumentTooComplex, RecursionError) as exc:
            message = str(exc) if isinstance(exc, DocumentTooComplex) else "the document is nested too deeply"
            out.append(LintFinding(TOO_COMPLEX, TOO_COMPLEX, "/core/doc-openapi", ERROR, True, "", message))
            return out  # the other rules cannot be judged on this document
        for f in found:
            out.append(
                LintFinding(
                    spec.name(version),
                    spec.key,
                    spec.adr_id(version),
                    sev,
                    normative(spec, version),
                    format_path(f.path),
                    f.message,
                )
            )
    for ref in sorted(oas.broken_refs):
        out.append(
            LintFinding(
                "oas3-schema",
                "oas3-schema",
                "/core/doc-openapi",
                ERROR,
                True,
                "",
                f"$ref {ref} does not resolve within the document.",
            )
        )
    for ref in sorted(oas.remote_refs):
        out.append(
            LintFinding(
                "remote-ref",
                "remote-ref",
                "/core/doc-openapi",
                "warn",
                False,
                "",
                f"remote $ref {ref} was not followed (the self-check never fetches remote references).",
            )
        )
    return out


def _summary(findings: list[LintFinding], limit: int = 5) -> str:
    parts = [f"{f.path or '(root)'}: {f.message}" for f in findings[:limit]]
    more = f" (+{len(findings) - limit} more)" if len(findings) > limit else ""
    return "; ".join(parts) + more


def evaluate(doc: Any, version: str) -> list[TestResult]:
    """One normative and one advisory verdict per ADR rule id that runs under ``version``."""
    findings = lint(doc, version)
    ids: dict[str, set[bool]] = {}
    for spec in RULES:
        if version in spec.severity:
            ids.setdefault(spec.adr_id(version), set()).add(normative(spec, version))
    for f in findings:
        ids.setdefault(f.adr, set()).add(f.normative)
    results: list[TestResult] = []
    fatal = any(f.key == TOO_COMPLEX for f in findings)
    for adr_id in sorted(ids):
        for is_normative in sorted(ids[adr_id], reverse=True):
            mine = [f for f in findings if f.adr == adr_id and f.normative == is_normative]
            facts = {"rules_version": version, "findings": [f.to_json() for f in mine]}
            if fatal and not mine:
                results.append(
                    TestResult(
                        subtest_id(adr_id, not is_normative),
                        Status.NOT_TESTED,
                        "not evaluated: the document could not be processed",
                        clause(adr_id, version),
                        facts=facts,
                    )
                )
                continue
            if is_normative:
                status = Status.FAILED if mine else Status.PASSED
                detail = _summary(mine) if mine else "no findings"
            else:
                status = Status.WARNING if mine else Status.PASSED
                detail = ("advisory: " + _summary(mine)) if mine else "no findings"
            results.append(
                TestResult(
                    subtest_id(adr_id, not is_normative),
                    status,
                    detail,
                    clause(adr_id, version),
                    fix=_FIXES.get(adr_id, "") if mine else "",
                    facts=facts,
                )
            )
    return results


def known_rule_keys() -> set[str]:
    return set(BY_KEY)
