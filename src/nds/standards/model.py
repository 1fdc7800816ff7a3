"""The result model shared by every check: statuses, subtest declarations, results.

Statuses and their ordering follow internet.nl and the Forum Standaardisatie dashboard:
a standard's status is the *worst* of its counted subtests and of all addresses/MX hosts,
ordered failed < error < warning < info < good_not_tested < not_applicable < not_tested < passed.
Only subtests whose declared worst status is ``failed`` count for a standard (internet.nl
``documentation/scoring.md``); the others are shown, never counted — unless a subtest is declared
*decisive*: it is the whole of a standard on the comply-or-explain list whose internet.nl level is
only a notice (security.txt). A standard without any counting subtest (internet.nl's "security
options") is informational: its subtests are reported, the standard gets no status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    FAILED = "failed"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    GOOD_NOT_TESTED = "good_not_tested"
    NOT_APPLICABLE = "not_applicable"
    NOT_TESTED = "not_tested"
    PASSED = "passed"

    @property
    def rank(self) -> int:
        """Lower is worse (Forum Standaardisatie dashboard order)."""
        return _ORDER.index(self)


_ORDER = [
    Status.FAILED,
    Status.ERROR,
    Status.WARNING,
    Status.INFO,
    Status.GOOD_NOT_TESTED,
    Status.NOT_APPLICABLE,
    Status.NOT_TESTED,
    Status.PASSED,
]


def worst(statuses: Iterable[Status]) -> Status:
    """The worst status; an empty input is not_tested."""
    items = list(statuses)
    return min(items, key=lambda s: s.rank) if items else Status.NOT_TESTED


@dataclass(frozen=True)
class Subtest:
    """A declared subtest: stable id, the standard it belongs to, its worst possible status.

    ``worst_status`` is the most severe status this subtest can give (internet.nl: fail, notice
    (= warning), info). Only ``Status.FAILED`` subtests count for their standard, and ``decisive``
    ones: a subtest that alone decides a standard on the comply-or-explain list although internet.nl
    shows it as a notice (its ``clause`` names the list entry).
    """

    id: str
    standard: str
    worst_status: Status
    title: str
    clause: str  # the normative clause this subtest implements, e.g. "NCSC TLS 2.1 B1-1"
    decisive: bool = False

    @property
    def counts(self) -> bool:
        return self.decisive or self.worst_status is Status.FAILED


@dataclass(frozen=True)
class TestResult:
    """One verdict. ``facts`` holds what was observed (never secrets or message bodies)."""

    __test__ = False  # not a pytest class

    id: str
    status: Status
    detail: str
    clause: str
    fix: str = ""
    target: str = ""  # address or MX host this verdict is about; "" for the whole target
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status.value, "detail": self.detail,
                               "clause": self.clause}
        if self.fix:
            out["fix"] = self.fix
        if self.target:
            out["target"] = self.target
        if self.facts:
            out["facts"] = self.facts
        return out


class Registry:
    """All declared subtests, by id. Each check module declares its subtests at import."""

    def __init__(self) -> None:
        self._subtests: dict[str, Subtest] = {}

    def declare(self, subtest: Subtest) -> Subtest:
        if subtest.id in self._subtests and self._subtests[subtest.id] != subtest:
            raise ValueError(f"subtest {subtest.id} declared twice with different definitions")
        self._subtests[subtest.id] = subtest
        return subtest

    def get(self, subtest_id: str) -> Subtest:
        return self._subtests[subtest_id]

    def all(self) -> list[Subtest]:
        return list(self._subtests.values())


SUBTESTS = Registry()


def standard_statuses(results: Iterable[TestResult], registry: Registry = SUBTESTS) -> dict[str, Status]:
    """Per standard: the worst status over its counted subtests and all their targets.

    Standards of which no subtest counts (informational, e.g. internet.nl's security options) are
    left out; a counted subtest that did not run gives ``not_tested``.
    """
    per_standard: dict[str, list[Status]] = {}
    for r in results:
        st = registry.get(r.id)
        if st.counts:
            per_standard.setdefault(st.standard, []).append(r.status)
    return {name: worst(statuses) for name, statuses in per_standard.items()}


@dataclass
class Report:
    """What ``nds check ... --format json`` prints."""

    target: str
    profile: str
    tests: list[TestResult]
    legal: dict[str, Any] | None = None  # a separate legal verdict (e.g. HTTPS under the Wdo), if any

    def standards(self, registry: Registry = SUBTESTS) -> dict[str, Status]:
        return standard_statuses(self.tests, registry)

    def to_json(self, registry: Registry = SUBTESTS) -> dict[str, Any]:
        return {
            "target": self.target,
            "profile": self.profile,
            "tests": [t.to_json() for t in self.tests],
            "standards": {k: v.value for k, v in self.standards(registry).items()},
            **({"legal": self.legal} if self.legal is not None else {}),
        }
