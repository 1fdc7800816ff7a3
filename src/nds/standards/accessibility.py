"""Digital accessibility by accessibility-statement status (Digitoegankelijk), beside security.

The Dutch measurement of the accessibility obligation (Besluit digitale toegankelijkheid
overheid; EN 301 549 ≈ WCAG 2.1 AA plus a published statement) is done by *statement status* in
the register, not by automated scanning. Statuses:

- A: statement and a full WCAG-EM audit (< 3 years), all criteria met: compliant and accessible.
- B: audited, not all criteria met, measures described: compliant.
- C: statement, audit planned: compliant for at most 6 months after the statement date.
- D: statement without audit or plan: not compliant. E: no statement: not compliant.

Import: a CSV export (UTF-8, ``,`` or ``;``) with columns organisatie, website (or url/site),
status (A–E) and datum (statement date; YYYY-MM-DD or DD-MM-YYYY; may be empty for E).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

STATUSES = ("A", "B", "C", "D", "E")
C_MAX_DAYS = 183  # "C" counts as compliant for at most six months after the statement date

_COLS = {
    "organisation": ("organisatie", "organisation", "organization"),
    "site": ("website", "site", "url", "domein", "domain", "naam"),
    "status": ("status", "nalevingsstatus"),
    "statement_date": ("datum", "verklaringsdatum", "statement_date", "date", "datum verklaring"),
}


class AccessibilityImportError(ValueError):
    pass


def _date(text: str, where: str) -> dt.date | None:
    t = text.strip()
    if not t:
        return None
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise AccessibilityImportError(f"{where}: date {text!r} is not YYYY-MM-DD or DD-MM-YYYY")


def parse_statements(text: str) -> list[dict[str, Any]]:
    if not text.strip():
        raise AccessibilityImportError("the file is empty")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader)]
    idx: dict[str, int] = {}
    for key, names in _COLS.items():
        for n in names:
            if n in header:
                idx[key] = header.index(n)
                break
    missing = [_COLS[k][0] for k in ("organisation", "site", "status") if k not in idx]
    if missing:
        raise AccessibilityImportError(f"line 1: missing column(s) {', '.join(missing)}")
    rows: list[dict[str, Any]] = []
    for lineno, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue
        where = f"line {lineno}"

        def col(key: str, raw: list[str] = raw) -> str:
            i = idx.get(key)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        status = col("status").upper()[:1]
        if status not in STATUSES:
            raise AccessibilityImportError(f"{where}: status must be one of A–E, got {col('status')!r}")
        org, site = col("organisation"), col("site")
        if not org or not site:
            raise AccessibilityImportError(f"{where}: organisation and website are required")
        rows.append(
            {
                "organisation": org[:300],
                "site": site[:500],
                "status": status,
                "statement_date": _date(col("statement_date"), where),
            }
        )
    if not rows:
        raise AccessibilityImportError("no statements in the file")
    return rows


def compliant(status: str, statement_date: dt.date | None, today: dt.date) -> bool:
    """A and B comply; C complies for at most six months after its statement date; D and E do not."""
    if status in ("A", "B"):
        return True
    if status == "C":
        return statement_date is not None and 0 <= (today - statement_date).days <= C_MAX_DAYS
    return False


def accessible(status: str) -> bool:
    return status == "A"


@dataclass
class AccessShare:
    sites: int = 0
    compliant: int = 0
    accessible: int = 0
    by_status: dict[str, int] | None = None

    @property
    def pct_compliant(self) -> float | None:
        return None if not self.sites else 100.0 * self.compliant / self.sites

    @property
    def pct_accessible(self) -> float | None:
        return None if not self.sites else 100.0 * self.accessible / self.sites


def summarise(rows: list[Any], today: dt.date | None = None) -> tuple[AccessShare, dict[str, AccessShare]]:
    """Overall and per-organisation shares of sites that comply / are accessible."""
    today = today or dt.date.today()
    overall = AccessShare(by_status=dict.fromkeys(STATUSES, 0))
    per_org: dict[str, AccessShare] = defaultdict(lambda: AccessShare(by_status=dict.fromkeys(STATUSES, 0)))
    for r in rows:
        ok = compliant(r.status, r.statement_date, today)
        for share in (overall, per_org[r.organisation]):
            share.sites += 1
            share.compliant += ok
            share.accessible += accessible(r.status)
            assert share.by_status is not None
            share.by_status[r.status] += 1
    return overall, dict(per_org)
