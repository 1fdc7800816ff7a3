"""Accessibility statement statuses: A–C comply (C at most 6 months), only A is accessible."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from nds.standards.accessibility import (
    AccessibilityImportError,
    accessible,
    compliant,
    parse_statements,
    summarise,
)

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 11, 28)


def test_statuses() -> None:
    assert compliant("A", None, TODAY) and compliant("B", None, TODAY)
    assert compliant("C", TODAY - dt.timedelta(days=183), TODAY)
    assert not compliant("C", TODAY - dt.timedelta(days=184), TODAY)
    assert not compliant("C", None, TODAY)
    assert not compliant("D", TODAY, TODAY) and not compliant("E", None, TODAY)
    assert accessible("A") and not accessible("B") and not accessible("C")


def test_parse_and_summarise() -> None:
    rows = parse_statements("Organisatie,URL,Status,Datum\nA-stad,a.nl,a,01-02-2026\nA-stad,b.nl,D,\n")
    assert rows[0] == {
        "organisation": "A-stad",
        "site": "a.nl",
        "status": "A",
        "statement_date": dt.date(2026, 2, 1),
    }
    overall, per_org = summarise([SimpleNamespace(**r) for r in rows], TODAY)
    assert (overall.sites, overall.compliant, overall.accessible) == (2, 1, 1)
    assert per_org["A-stad"].by_status == {"A": 1, "B": 0, "C": 0, "D": 1, "E": 0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("organisatie,website\nA,a.nl\n", "missing column"),
        ("organisatie,website,status\nA,a.nl,F\n", "line 2: status must be one of"),
        ("organisatie,website,status,datum\nA,a.nl,A,gisteren\n", "line 2: date"),
    ],
)
def test_bad_input(text: str, message: str) -> None:
    with pytest.raises(AccessibilityImportError, match=message):
        parse_statements(text)
