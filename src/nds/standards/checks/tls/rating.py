"""Shared rating helpers for the TLS and certificate rules: profile level -> status, capped at the
subtest's declared worst status, with the clause of the worst item."""

from __future__ import annotations

from dataclasses import dataclass

from nds.standards.model import SUBTESTS, Status, Subtest, TestResult
from nds.standards.policy import Level, Profile, Rating

TLS = "tls_ncsc"
F, W, INFO = Status.FAILED, Status.WARNING, Status.INFO


def _d(id: str, worst: Status, title: str, clause: str, standard: str = TLS) -> Subtest:
    return SUBTESTS.declare(Subtest(id, standard, worst, title, clause))


_STATUS = {
    Level.GOOD: Status.PASSED,
    Level.SUFFICIENT: Status.PASSED,
    Level.PHASE_OUT: Status.WARNING,
    Level.INSUFFICIENT: Status.FAILED,
}


def cap(status: Status, subtest: Subtest) -> Status:
    """A subtest never reports worse than its declared worst status."""
    return subtest.worst_status if status.rank < subtest.worst_status.rank else status


@dataclass
class _Items:
    """Rated items of one subtest; the worst decides."""

    rated: list[tuple[str, Rating]]

    def worst(self) -> tuple[Level, str]:
        if not self.rated:
            return Level.GOOD, ""
        _, rating = max(self.rated, key=lambda x: x[1].level.rank)
        return rating.level, rating.clause

    def names(self, level: Level) -> list[str]:
        return [n for n, r in self.rated if r.level is level]


def _verdict(
    sub: Subtest,
    items: _Items,
    profile: Profile,
    what: str,
    fix: str,
    target: str,
    facts: dict[str, object] | None = None,
) -> TestResult:
    level, clause = items.worst()
    status = cap(_STATUS[level], sub)
    bad = items.names(Level.INSUFFICIENT)
    phase = items.names(Level.PHASE_OUT)
    parts = []
    if bad:
        parts.append(f"insufficient {what}: {', '.join(bad)}")
    if phase:
        parts.append(f"phase-out {what}: {', '.join(phase)}")
    if not parts:
        ok = [n for n, _ in items.rated]
        parts.append(f"all {what} good or sufficient" + (f" ({', '.join(ok)})" if ok else ""))
    out_facts: dict[str, object] = {
        "profile": profile.name,
        "levels": {n: r.level.value for n, r in items.rated},
    }
    out_facts.update(facts or {})
    return TestResult(
        sub.id,
        status,
        "; ".join(parts),
        clause or sub.clause,
        fix if status is not Status.PASSED else "",
        target,
        out_facts,
    )


def _simple(
    sub: Subtest,
    rating: Rating,
    profile: Profile,
    detail: str,
    fix: str,
    target: str,
    facts: dict[str, object] | None = None,
) -> TestResult:
    status = cap(_STATUS[rating.level], sub)
    out: dict[str, object] = {"profile": profile.name, "level": rating.level.value}
    out.update(facts or {})
    return TestResult(
        sub.id, status, detail, rating.clause, fix if status is not Status.PASSED else "", target, out
    )


def _na(
    sub: Subtest, detail: str, target: str, profile: Profile, status: Status = Status.PASSED
) -> TestResult:
    return TestResult(sub.id, status, detail, sub.clause, "", target, {"profile": profile.name})
