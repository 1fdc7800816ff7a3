"""Shared pieces of the linter rules, which are pure functions ``(Oas, version) -> list[Finding]``.

Each function re-implements the intent of the Spectral rule of the same key (see ``catalog``),
including the quirks that decide what the official linter reports, so that the linter test
cases of ``Logius-standaarden/API-Design-Rules`` can serve as oracle. Where a quirk would make a
rule inert or wrong, the function follows the normative text instead; ``catalog`` says where.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nds.standards.checks.api.rules.doc import Oas, Path

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ALLOWED_METHODS = frozenset({"get", "put", "post", "delete", "patch"})
_STATUS_2XX_3XX = re.compile(r"(2|3)\d\d")
_STATUS_4XX_5XX = re.compile(r"(4|5)\d\d")
_VERSION_HEADER = "api-version"
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?\Z"
)
KEBAB_PATH = re.compile(
    r"^(\/|(\/_[a-z0-9]+|\/(([a-z0-9\-]+|{[^}]+})(\/([a-z0-9\-\.]+|{[^}]+}))*)(\/_[a-z]+)?)\/?)\Z"
)
CAMEL_QUERY_KEY = re.compile(r"^\$?[a-z][a-z\d]*([A-Z][a-z\d]*)*\Z")
_DATE_NAME = re.compile(r"((\w+D)|(_[dD]))((ate)|(atum))")
_PASCAL = re.compile(r"^[A-Z][a-zA-Z0-9]*\Z")
_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*\Z")


@dataclass(frozen=True)
class Finding:
    key: str  # RuleSpec.key
    path: Path
    message: str


Rule = Callable[[Oas, str], list[Finding]]
RULE_FUNCTIONS: dict[str, Rule] = {}


def rule(key: str) -> Callable[[Rule], Rule]:
    def deco(fn: Rule) -> Rule:
        RULE_FUNCTIONS[key] = fn
        return fn

    return deco


def is_oas3(doc: Any) -> bool:
    """Spectral's format detection for OpenAPI 3.x."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("openapi"), str)
        and bool(re.match(r"^3(?:\.\d+)*\Z", doc["openapi"]))
    )


def operations(oas: Oas) -> Iterator[tuple[str, str, dict[str, Any], Path]]:
    """(path key, method, operation, real path of the operation)."""
    paths = oas.get(oas.doc, (), "paths")
    if paths is None or not isinstance(paths[0], dict):
        return
    for pkey, item, ipath in oas.children(*paths):
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = oas.get(item, ipath, method)
            if op is not None and isinstance(op[0], dict):
                yield str(pkey), method, op[0], op[1]


def _servers(oas: Oas) -> Iterator[tuple[dict[str, Any], Path]]:
    for key, node, path in oas.walk():
        if key == "servers" and isinstance(node, list):
            for i, s in enumerate(node):
                if isinstance(s, dict):
                    yield s, (*path, i)


def _params(oas: Oas, node: Any, path: Path) -> list[tuple[dict[str, Any], Path]]:
    got = oas.get(node, path, "parameters")
    if got is None or not isinstance(got[0], list):
        return []
    return [(p, pp) for _i, p, pp in oas.children(*got) if isinstance(p, dict)]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, Path]] = set()
    out = []
    for f in findings:
        if (f.key, f.path) not in seen:
            seen.add((f.key, f.path))
            out.append(f)
    return out
