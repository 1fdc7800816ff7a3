"""Round reports: shares of domains passing per standard, organisation and organisation type.

Counting rules (also in docs/standards/rounds.md):

1. The unit is a *domain* per check kind (web, mail); standards are keyed ``web.<name>`` and
   ``mail.<name>`` (DNSSEC, IPv6, RPKI exist for both). A standard's status for a domain is the
   status the check reported (worst of its counted subtests and of all addresses/MX hosts).
2. ``passed`` is the only passing status. ``not_applicable`` and ``not_tested`` domains are left
   out of that standard's denominator (e.g. DKIM for a non-sending domain). Every other status
   (failed, error, warning, info, good_not_tested) counts as not passing.
3. A test that could not run at all (outcome ``error``/``deadline``) is counted as *not measured*
   and left out of every denominator, reported in its own column.
4. Several domains per organisation: the organisation's share is the share of its domains that
   pass (every domain counts once); "alle domeinen" says whether all of them pass.
5. ``www.<apex>`` listed next to ``<apex>`` for the same organisation is folded into the apex:
   the apex's status per standard is the worst of the two. A www name listed alone counts as is.
6. Web standards count only for targets with web=ja, mail standards only for mail=ja.
7. "Leg uit": a domain that does not pass a standard for which its organisation has a valid
   explanation is counted as *explained*: it stays in the denominator, never as a pass, and is
   reported in its own column.
8. "All mandatory standards" per kind: a domain passes when every standard its check reported
   (other than not_applicable/not_tested) is passed.
9. Legal verdict (bestuursorganen only): the web check's legal verdict (HTTPS + HSTS under the
   Besluit beveiligde verbinding, always judged under ncsc-2.1.1): compliant passes, non_compliant
   fails, undetermined is left out of the denominator; non-bestuursorganen are not counted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from nds.standards import store
from nds.standards.model import Status, worst

EXCLUDED = {Status.NOT_APPLICABLE.value, Status.NOT_TESTED.value}
ALL_WEB = "alle webstandaarden"
ALL_MAIL = "alle mailstandaarden"
LEGAL = "wettelijk HTTPS+HSTS"


@dataclass
class DomainRow:
    organisation: str
    org_type: str
    bestuursorgaan: bool
    domain: str
    kind: str
    outcome: str
    standards: dict[str, str]
    legal: str | None = None


@dataclass
class Share:
    passed: int = 0
    failed: int = 0
    explained: int = 0
    not_measured: int = 0
    excluded: int = 0

    @property
    def denominator(self) -> int:
        return self.passed + self.failed + self.explained

    @property
    def pct(self) -> float | None:
        return None if self.denominator == 0 else 100.0 * self.passed / self.denominator

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "explained": self.explained,
            "not_measured": self.not_measured,
            "excluded": self.excluded,
            "pct": None if self.pct is None else round(self.pct, 1),
        }


@dataclass
class Summary:
    round_id: int
    round_name: str
    profile: str
    standards: list[str]
    overall: dict[str, Share] = field(default_factory=dict)
    by_org: dict[str, dict[str, Share]] = field(default_factory=dict)
    by_type: dict[str, dict[str, Share]] = field(default_factory=dict)
    org_all_domains: dict[str, dict[str, bool | None]] = field(default_factory=dict)
    explained_cases: list[dict[str, str]] = field(default_factory=list)
    rows: list[DomainRow] = field(default_factory=list)


_LEGAL_VERDICTS = {
    "compliant": Status.PASSED.value,
    "non_compliant": Status.FAILED.value,
    "undetermined": Status.NOT_TESTED.value,
}


def _legal(report: dict[str, Any]) -> str | None:
    """The web report's legal verdict (``report.legal.verdict``, or ``legal.*`` subtests) as a status."""
    verdict = (report.get("legal") or {}).get("verdict")
    if verdict in _LEGAL_VERDICTS:
        return _LEGAL_VERDICTS[verdict]
    tests = [t for t in report.get("tests", []) if str(t.get("id", "")).startswith("legal.")]
    if not tests:
        return None
    return worst(Status(t["status"]) for t in tests).value


def domain_rows(engine: Engine, round_id: int) -> list[DomainRow]:
    raw = [
        DomainRow(
            r.organisation,
            r.org_type,
            r.bestuursorgaan,
            r.domain,
            r.kind,
            r.outcome,
            {f"{r.kind}.{name}": status for name, status in (r.standards or {}).items()},
            _legal(r.report or {}) if r.kind == "web" else None,
        )
        for r in store.round_results(engine, round_id)
    ]
    return fold_www(raw)


def fold_www(rows: list[DomainRow]) -> list[DomainRow]:
    keyed = {(r.organisation, r.kind, r.domain): r for r in rows}
    out: list[DomainRow] = []
    for r in rows:
        apex = keyed.get((r.organisation, r.kind, r.domain[4:])) if r.domain.startswith("www.") else None
        if apex is None:
            out.append(r)
            continue
        if r.outcome == "done" and apex.outcome == "done":
            for std in set(apex.standards) | set(r.standards):
                a, b = apex.standards.get(std), r.standards.get(std)
                apex.standards[std] = worst(Status(x) for x in (a, b) if x is not None).value
            if r.legal is not None:
                apex.legal = worst(Status(x) for x in (apex.legal, r.legal) if x is not None).value
        elif r.outcome != "done":
            apex.outcome = r.outcome  # a failed measurement of either makes the pair unmeasured
    return out


def _valid_explanations(engine: Engine, today: dt.date) -> dict[tuple[str, str], str]:
    return {
        (e.organisation, e.standard): e.reason
        for e in store.list_explanations(engine)
        if e.valid_until is None or e.valid_until >= today
    }


def explanation_for(explained: dict[tuple[str, str], str], organisation: str, standard: str) -> str | None:
    """An explanation recorded for ``web.dnssec`` exactly, or for ``dnssec`` (then it covers web and mail)."""
    bare = standard.split(".", 1)[1] if standard.startswith(("web.", "mail.")) else standard
    return explained.get((organisation, standard)) or explained.get((organisation, bare))


def _count(share: Share, row: DomainRow, standard: str, explained: dict[tuple[str, str], str]) -> str | None:
    """Add one domain's status for one standard; returns the counted class."""
    if row.outcome != "done":
        share.not_measured += 1
        return "not_measured"
    status = row.standards.get(standard)
    if status is None or status in EXCLUDED:
        share.excluded += 1
        return "excluded"
    if status == Status.PASSED.value:
        share.passed += 1
        return "passed"
    if explanation_for(explained, row.organisation, standard) is not None:
        share.explained += 1
        return "explained"
    share.failed += 1
    return "failed"


def _all_status(row: DomainRow) -> str:
    counted = [s for s in row.standards.values() if s not in EXCLUDED]
    return (
        Status.PASSED.value
        if counted and all(s == Status.PASSED.value for s in counted)
        else Status.FAILED.value
    )


def summarise(engine: Engine, round_id: int, today: dt.date | None = None) -> Summary:
    rnd = store.get_round(engine, round_id)
    if rnd is None:
        raise ValueError(f"round {round_id} does not exist")
    rows = domain_rows(engine, round_id)
    explained = _valid_explanations(engine, today or dt.date.today())
    std_kind: dict[str, str] = {}
    for r in rows:
        for s in r.standards:
            std_kind.setdefault(s, r.kind)
    standards = sorted(std_kind, key=lambda s: (std_kind[s] != "web", s))
    summary = Summary(round_id, rnd.name, rnd.profile, [*standards, ALL_WEB, ALL_MAIL, LEGAL], rows=rows)
    org_all: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        derived = dict(r.standards)
        derived[ALL_WEB if r.kind == "web" else ALL_MAIL] = _all_status(r)
        if r.kind == "web" and r.bestuursorgaan:
            derived[LEGAL] = r.legal or Status.NOT_TESTED.value
        view = DomainRow(r.organisation, r.org_type, r.bestuursorgaan, r.domain, r.kind, r.outcome, derived)
        for std in derived:
            if std in (ALL_WEB, ALL_MAIL, LEGAL) or std_kind.get(std) == r.kind:
                for bucket in (
                    summary.overall,
                    summary.by_org.setdefault(r.organisation, {}),
                    summary.by_type.setdefault(r.org_type, {}),
                ):
                    cls = _count(bucket.setdefault(std, Share()), view, std, explained)
                if cls in ("passed", "failed", "explained"):
                    org_all[r.organisation][std].append(cls == "passed")
                if cls == "explained":
                    summary.explained_cases.append(
                        {
                            "organisation": r.organisation,
                            "domain": r.domain,
                            "standard": std,
                            "reason": explanation_for(explained, r.organisation, std) or "",
                        }
                    )
        if r.outcome != "done":
            for std in (s for s in standards if std_kind[s] == r.kind):
                for bucket in (
                    summary.overall,
                    summary.by_org.setdefault(r.organisation, {}),
                    summary.by_type.setdefault(r.org_type, {}),
                ):
                    bucket.setdefault(std, Share()).not_measured += 1
    summary.org_all_domains = {
        org: {std: all(v) if v else None for std, v in stds.items()} for org, stds in org_all.items()
    }
    return summary


def previous_round_id(engine: Engine, round_id: int) -> int | None:
    earlier = [r.id for r in store.list_rounds(engine) if r.id < round_id and r.finished_at is not None]
    return earlier[-1] if earlier else None


def trend(current: Summary, previous: Summary | None) -> dict[str, float | None]:
    """Percentage-point change per standard against the previous round (None: not comparable)."""
    out: dict[str, float | None] = {}
    for std in current.standards:
        now_pct = current.overall.get(std, Share()).pct
        before = previous.overall.get(std, Share()).pct if previous is not None else None
        out[std] = None if now_pct is None or before is None else round(now_pct - before, 1)
    return out


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (CSV injection): ``=cmd`` becomes ``'=cmd``."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)  # a signed number (a trend such as +2.5) is data, not a formula
        except ValueError:
            return "'" + value
    return value


class _SafeWriter:
    def __init__(self, buf: io.StringIO) -> None:
        self._w = csv.writer(buf)

    def writerow(self, row: list[object]) -> None:
        self._w.writerow([_cell(v) for v in row])


def to_csv(summary: Summary, trend_pp: dict[str, float | None] | None = None) -> str:
    """One row per (scope, group, standard): scope is totaal, organisatie or type."""
    buf = io.StringIO()
    w = _SafeWriter(buf)
    w.writerow(
        [
            "ronde",
            "scope",
            "groep",
            "standaard",
            "voldoet",
            "voldoet_niet",
            "uitgelegd",
            "niet_gemeten",
            "niet_van_toepassing",
            "percentage",
            "trend_pp",
        ]
    )
    trend_pp = trend_pp or {}
    scopes: list[tuple[str, str, dict[str, Share]]] = [("totaal", "", summary.overall)]
    scopes += [("organisatie", k, v) for k, v in sorted(summary.by_org.items())]
    scopes += [("type", k, v) for k, v in sorted(summary.by_type.items())]
    for scope, group, shares in scopes:
        for std in summary.standards:
            s = shares.get(std)
            if s is None:
                continue
            t = trend_pp.get(std) if scope == "totaal" else None
            w.writerow(
                [
                    summary.round_id,
                    scope,
                    group,
                    std,
                    s.passed,
                    s.failed,
                    s.explained,
                    s.not_measured,
                    s.excluded,
                    "" if s.pct is None else f"{s.pct:.1f}",
                    "" if t is None else f"{t:+.1f}",
                ]
            )
    return buf.getvalue()


def domains_csv(summary: Summary) -> str:
    """The raw per-domain statuses (one row per domain, kind and standard)."""
    buf = io.StringIO()
    w = _SafeWriter(buf)
    w.writerow(
        [
            "ronde",
            "organisatie",
            "type",
            "bestuursorgaan",
            "domein",
            "soort",
            "uitkomst",
            "standaard",
            "status",
        ]
    )
    for r in summary.rows:
        for std, status in sorted(r.standards.items()) or [("", "")]:
            w.writerow(
                [
                    summary.round_id,
                    r.organisation,
                    r.org_type,
                    "ja" if r.bestuursorgaan else "nee",
                    r.domain,
                    r.kind,
                    r.outcome,
                    std,
                    status,
                ]
            )
    return buf.getvalue()
