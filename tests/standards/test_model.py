from __future__ import annotations

import pytest

from nds.standards.model import Registry, Report, Status, Subtest, TestResult, worst

pytestmark = pytest.mark.unit


def test_forum_dashboard_order() -> None:
    order = [Status.FAILED, Status.ERROR, Status.WARNING, Status.INFO, Status.GOOD_NOT_TESTED,
             Status.NOT_APPLICABLE, Status.NOT_TESTED, Status.PASSED]
    assert sorted(reversed(order), key=lambda s: s.rank) == order
    assert worst([Status.PASSED, Status.NOT_TESTED, Status.INFO]) is Status.INFO
    assert worst([]) is Status.NOT_TESTED


def test_only_fail_level_subtests_count_and_worst_over_targets() -> None:
    reg = Registry()
    reg.declare(Subtest("x.a", "X", Status.FAILED, "a", "clause a"))
    reg.declare(Subtest("x.b", "X", Status.INFO, "b", "clause b"))
    results = [
        TestResult("x.a", Status.PASSED, "ok", "clause a", target="192.0.2.1"),
        TestResult("x.a", Status.ERROR, "timeout", "clause a", target="2001:db8::1"),
        TestResult("x.b", Status.INFO, "meh", "clause b"),
    ]
    report = Report("example.nl", "ncsc-2025-05", results)
    assert report.standards(reg) == {"X": Status.ERROR}
    js = report.to_json(reg)
    assert js["standards"] == {"X": "error"}
    assert js["tests"][0]["clause"] == "clause a"


def test_conflicting_redeclaration_refused() -> None:
    reg = Registry()
    reg.declare(Subtest("y", "Y", Status.FAILED, "y", "c"))
    with pytest.raises(ValueError):
        reg.declare(Subtest("y", "Y", Status.INFO, "y", "c"))
