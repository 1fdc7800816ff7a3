"""Which linter rule belongs to which ADR rule, under which Spectral name, at which severity.

Sources (each version read from ``Logius-standaarden/API-Design-Rules``):

- ``2.0.2``: the repository has no linter at that tag; the rules follow the technical rules of
  ``DesignRules.md`` (v2.0.2) as packaged by developer.overheid.nl for ADR 2.0.
- ``2.1.0``: ``linter/spectral.yml`` at tag ``v2.1.0`` (extends ``spectral:oas``).
- ``2.2.0``: ``media/linter.yaml`` on ``develop`` (the working version, a *draft*).

Severity ``error`` in a *final* version (2.0.2, 2.1.0) makes a normative verdict (``failed``).
Anything else (``warn`` in the linter, or a rule that is ``error`` only in the 2.2.0 draft) is
reported as advisory (``warning``) and never fails the standard.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSIONS = ("2.0.2", "2.1.0", "2.2.0")
FINAL_VERSIONS = ("2.0.2", "2.1.0")
DRAFT_VERSIONS = ("2.2.0",)
DEFAULT_VERSION = "2.1.0"

_ALIASES = {
    "2.0": "2.0.2",
    "2.0.0": "2.0.2",
    "2.0.1": "2.0.2",
    "2.0.2": "2.0.2",
    "2.0.x": "2.0.2",
    "2.1": "2.1.0",
    "2.1.0": "2.1.0",
    "2.2": "2.2.0",
    "2.2.0": "2.2.0",
    "draft": "2.2.0",
    "2.2.0-draft": "2.2.0",
}


def parse_version(text: str) -> str:
    """Normalise a user-given rules version; ValueError with the accepted values otherwise."""
    v = _ALIASES.get(text.strip().lower().removeprefix("v"))
    if v is None:
        raise ValueError(f"unknown API Design Rules version {text!r}; use one of 2.0.2, 2.1.0, 2.2.0 (draft)")
    return v


ERROR = "error"
WARN = "warn"


@dataclass(frozen=True)
class RuleSpec:
    key: str  # our stable key, used by the rule functions
    adr: dict[str, str]  # version -> ADR rule id ("/core/...")
    names: dict[str, str]  # version -> Spectral rule name as printed by that version's linter
    severity: dict[str, str]  # version -> "error" | "warn"; absent: rule not run in that version
    builtin: bool = False  # a spectral:oas rule: only runs on a recognised OpenAPI 3.x document

    def adr_id(self, version: str) -> str:
        return self.adr.get(version) or next(iter(self.adr.values()))

    def name(self, version: str) -> str:
        return self.names.get(version) or self.key


def _same(value: str) -> dict[str, str]:
    return dict.fromkeys(VERSIONS, value)


def _nl(name: str) -> dict[str, str]:
    """2.0.2/2.1.0 print the bare name, 2.2.0 prefixes ``nlgov:``."""
    return {"2.0.2": name, "2.1.0": name, "2.2.0": f"nlgov:{name}"}


PUBLISH = "/core/publish-openapi"
DOC = "/core/doc-openapi"
_PUB_OR_DOC = {"2.0.2": DOC, "2.1.0": DOC, "2.2.0": PUBLISH}

RULES: tuple[RuleSpec, ...] = (
    # -- the document is a valid OpenAPI description ----------------------------------------
    RuleSpec("oas3-schema", _PUB_OR_DOC, _same("oas3-schema"), _same(ERROR), builtin=True),
    RuleSpec(
        "operation-operationId-unique",
        _PUB_OR_DOC,
        _same("operation-operationId-unique"),
        _same(ERROR),
        builtin=True,
    ),
    RuleSpec("path-params", _PUB_OR_DOC, _same("path-params"), _same(ERROR), builtin=True),
    RuleSpec(
        "openapi-tags-uniqueness", _PUB_OR_DOC, _same("openapi-tags-uniqueness"), _same(ERROR), builtin=True
    ),
    RuleSpec(
        "oas3-valid-media-example",
        _PUB_OR_DOC,
        _same("oas3-valid-media-example"),
        _same(ERROR),  # spectral:oas makes these errors in 2.1.0 too (checked against Spectral)
        builtin=True,
    ),
    RuleSpec(
        "oas3-valid-schema-example",
        _PUB_OR_DOC,
        _same("oas3-valid-schema-example"),
        _same(ERROR),  # spectral:oas makes these errors in 2.1.0 too (checked against Spectral)
        builtin=True,
    ),
    RuleSpec(
        "oas3-server-variables",
        _PUB_OR_DOC,
        _same("oas3-server-variables"),
        _same(ERROR),  # spectral:oas makes these errors in 2.1.0 too (checked against Spectral)
        builtin=True,
    ),
    RuleSpec(
        "oas3-api-servers",
        {"2.0.2": "/core/uri-version", "2.1.0": "/core/uri-version", "2.2.0": PUBLISH},
        _same("oas3-api-servers"),
        {"2.0.2": WARN, "2.1.0": ERROR, "2.2.0": ERROR},
        builtin=True,
    ),
    RuleSpec("unrecognized-format", _same(DOC), _same("unrecognized-format"), _same(WARN)),
    # -- /core/doc-openapi -------------------------------------------------------------------
    RuleSpec("openapi3", _same(DOC), _nl("openapi3"), {"2.0.2": WARN, "2.1.0": ERROR, "2.2.0": ERROR}),
    RuleSpec(
        "openapi-root-exists",
        _same(DOC),
        {"2.2.0": "nlgov:openapi-root-exists"},
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    # -- /core/publish-openapi (2.1.0 only: the document must describe /openapi.json) -------
    RuleSpec("paths-open-api-json-resource-exists", _same(PUBLISH), {}, {"2.0.2": WARN, "2.1.0": ERROR}),
    RuleSpec("paths-open-api-json-resource-has-get", _same(PUBLISH), {}, {"2.0.2": WARN, "2.1.0": ERROR}),
    RuleSpec("paths-open-api-json-specify-cors-header", _same(PUBLISH), {}, {"2.0.2": WARN, "2.1.0": ERROR}),
    # -- /core/version-header ----------------------------------------------------------------
    RuleSpec(
        "missing-version-header", _same("/core/version-header"), _nl("missing-version-header"), _same(ERROR)
    ),
    RuleSpec("missing-header", _same("/core/version-header"), _nl("missing-header"), _same(ERROR)),
    # -- /core/uri-version -------------------------------------------------------------------
    RuleSpec(
        "include-major-version-in-uri",
        _same("/core/uri-version"),
        _nl("include-major-version-in-uri"),
        _same(ERROR),
    ),
    # -- /core/no-trailing-slash -------------------------------------------------------------
    # 2.1.0 and 2.2.0 also define ``paths-no-trailing-slash`` with the pattern ".+ \/$" (note the
    # space): it can never match a path key, so the built-in rule below is what really tests it.
    RuleSpec("paths-no-trailing-slash", _same("/core/no-trailing-slash"), {}, {"2.0.2": ERROR}),
    RuleSpec(
        "path-keys-no-trailing-slash",
        _same("/core/no-trailing-slash"),
        _same("path-keys-no-trailing-slash"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
        builtin=True,
    ),
    # -- /core/doc-openapi-contact -----------------------------------------------------------
    RuleSpec(
        "info-contact",
        _same("/core/doc-openapi-contact"),
        _same("info-contact"),
        {"2.0.2": WARN, "2.1.0": ERROR, "2.2.0": ERROR},
        builtin=True,
    ),
    RuleSpec(
        "info-contact-fields-exist",
        _same("/core/doc-openapi-contact"),
        _nl("info-contact-fields-exist"),
        {"2.0.2": WARN, "2.1.0": ERROR, "2.2.0": ERROR},
    ),
    # -- /core/http-methods (functional from 2.2.0 on) ---------------------------------------
    RuleSpec(
        "http-methods",
        _same("/core/http-methods"),
        _nl("http-methods"),
        {"2.0.2": ERROR, "2.1.0": ERROR, "2.2.0": WARN},
    ),
    # -- /core/path-segments-kebab-case, /core/query-keys-camel-case (new in 2.2.0) ---------
    RuleSpec(
        "paths-kebab-case",
        _same("/core/path-segments-kebab-case"),
        _nl("paths-kebab-case"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    RuleSpec(
        "query-keys-camel-case",
        _same("/core/query-keys-camel-case"),
        _nl("query-keys-camel-case"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    # -- style warnings without their own ADR rule -------------------------------------------
    RuleSpec("schema-camel-case", _same("/core/naming-resources"), _nl("schema-camel-case"), _same(WARN)),
    # ``property-casing`` (`_links` keys lowerCamelCase) is not implemented: its JSONPath selects nothing in
    # Spectral 6, so the official linter never reports it (found by the differential test).
    RuleSpec(
        "servers-use-https",
        {"2.0.2": "/core/transport-security", "2.1.0": "/core/transport/tls", "2.2.0": "/core/transport/tls"},
        _nl("servers-use-https"),
        _same(WARN),
    ),
    # -- /core/error-handling/* (new in 2.2.0) -----------------------------------------------
    RuleSpec(
        "use-problem-schema",
        _same("/core/error-handling/problem-details"),
        _nl("use-problem-schema"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    RuleSpec(
        "problem-schema-members",
        _same("/core/error-handling/problem-details"),
        _nl("problem-schema-members"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    RuleSpec(
        "problem-invalid-input",
        _same("/core/error-handling/invalid-input"),
        _nl("problem-invalid-input"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    # -- /core/date-time/* (new in 2.2.0) ----------------------------------------------------
    RuleSpec(
        "date-time-ensure-timezone",
        _same("/core/date-time/format"),
        _nl("date-time-ensure-timezone"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    RuleSpec(
        "time-without-timezone",
        _same("/core/date-time/format"),
        _nl("time-without-timezone"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    RuleSpec(
        "specify-format-for-date-and-time",
        _same("/core/date-time/date-omit-time-portion"),
        _nl("specify-format-for-date-and-time"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    RuleSpec(
        "use-date-instead-of-datetime",
        _same("/core/date-time/date-omit-time-portion"),
        _nl("use-date-instead-of-datetime"),
        {"2.0.2": WARN, "2.1.0": WARN, "2.2.0": ERROR},
    ),
    # -- /core/semver ------------------------------------------------------------------------
    # 2.1.0's linter has no semver rule although the rule is technical with a "how to test":
    # we test it there too (documented deviation from the 2.1.0 linter).
    RuleSpec("semver", _same("/core/semver"), _nl("semver"), _same(ERROR)),
)

BY_KEY = {r.key: r for r in RULES}


def normative(spec: RuleSpec, version: str) -> bool:
    """True when a finding of this rule fails the verdict under ``version``.

    For the 2.2.0 draft only rules that are already ``error`` in the latest final version (2.1.0)
    are normative; rules that are errors only in the draft are advisory.
    """
    sev = spec.severity.get(version)
    if sev != ERROR:
        return False
    if version in FINAL_VERSIONS:
        return True
    return spec.severity.get(FINAL_VERSIONS[-1]) == ERROR


#: Rules we run in a version although that version's official linter does not define them
#: (future rules as advisories, or a technical rule the linter forgot). The linter test cases of
#: that version are compared on the other rules only.
NOT_IN_LINTER: dict[str, frozenset[str]] = {
    "2.0.2": frozenset(r.key for r in RULES),  # no official linter at that tag
    "2.1.0": frozenset(
        {
            "openapi-root-exists",
            "paths-no-trailing-slash",
            "query-keys-camel-case",
            "problem-schema-members",
            "problem-invalid-input",
            "date-time-ensure-timezone",
            "time-without-timezone",
            "specify-format-for-date-and-time",
            "use-date-instead-of-datetime",
            "semver",
        }
    ),
    "2.2.0": frozenset(
        {
            "paths-no-trailing-slash",
            "paths-open-api-json-resource-exists",
            "paths-open-api-json-resource-has-get",
            "paths-open-api-json-specify-cors-header",
        }
    ),
}
