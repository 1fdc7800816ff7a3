"""The official linter test cases as oracle: same (severity, rule, path) set as Spectral prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nds.standards.checks.api.lint import lint
from nds.standards.checks.api.rules.catalog import NOT_IN_LINTER

ORACLE = Path(__file__).parent / "oracle"
CASES = sorted((v.name, c.name) for v in ORACLE.iterdir() if v.is_dir() for c in v.iterdir() if c.is_dir())
_LINE = re.compile(r"^\s*\d+:\d+\s+(error|warning)\s+")


def expected(version: str, case: str) -> set[tuple[str, str, str]]:
    out = set()
    for line in (ORACLE / version / case / "expected-output.txt").read_text().splitlines():
        if not _LINE.match(line):
            continue
        cols = re.split(r"\s{2,}", line.strip())
        severity, rule = cols[1], cols[2]
        path = cols[4] if len(cols) > 4 else ""
        out.add(("warn" if severity == "warning" else severity, rule, path))
    return out


@pytest.mark.unit
def test_oracle_has_cases() -> None:
    assert len([c for c in CASES if c[0] == "2.2.0"]) >= 25
    assert len([c for c in CASES if c[0] == "2.1.0"]) >= 15


@pytest.mark.unit
@pytest.mark.parametrize(("version", "case"), CASES, ids=[f"{v}-{c}" for v, c in CASES])
def test_linter_matches_official_output(version: str, case: str) -> None:
    doc = json.loads((ORACLE / version / case / "openapi.json").read_text())
    skip = NOT_IN_LINTER[version]
    got = {(f.severity, f.rule, f.path) for f in lint(doc, version) if f.key not in skip}
    assert got == expected(version, case)
