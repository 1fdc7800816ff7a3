"""The commitment register: statuses as the Tweede Kamer's, due-soon window, clock, evidence, audit.

Statuses (stored lower-case): ``openstaand``, ``deels_afgedaan``, ``afgedaan``, ``vervallen`` -
shown as Openstaand, Deels afgedaan, Afgedaan, Vervallen, the values of the TK Toezegging register.
On top of the status the register derives a *signal* from the termijn (``due``) and the clock:
``te_laat`` (open and past due), ``binnenkort`` (open and due within the window), ``op_schema``,
``zonder_termijn``, ``afgerond`` (afgedaan or vervallen). The clock is injectable for tests and reports.
Officer edits go through :meth:`Register.edit` and every changed field is written to the audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.programme.priorities import labels
from nds.programme.store import audit, commitments, documents, latest_documents

STATUSES = {
    "openstaand": "Openstaand",
    "deels_afgedaan": "Deels afgedaan",
    "afgedaan": "Afgedaan",
    "vervallen": "Vervallen",
}
SIGNALS = {
    "te_laat": "Te laat",
    "binnenkort": "Binnenkort",
    "op_schema": "Op schema",
    "zonder_termijn": "Zonder termijn",
    "afgerond": "Afgerond",
}
EDITABLE = ("status", "due", "evidence", "note", "actor", "priority")
DEFAULT_SOON_DAYS = 30


class RegisterError(ValueError):
    """An edit the register refuses (unknown commitment, invalid value)."""


def normalise_status(value: str) -> str:
    v = value.strip().lower().replace(" ", "_").replace("-", "_")
    if v not in STATUSES:
        raise RegisterError(f"onbekende status {value!r}; kies uit: {', '.join(STATUSES.values())}")
    return v


@dataclass
class Register:
    engine: Engine
    clock: Callable[[], dt.date] = dt.date.today
    soon_days: int = DEFAULT_SOON_DAYS

    def signal(self, row: dict[str, Any]) -> str:
        if row["status"] in ("afgedaan", "vervallen"):
            return "afgerond"
        due = row.get("due")
        if due is None:
            return "zonder_termijn"
        today = self.clock()
        if due < today:
            return "te_laat"
        if due <= today + dt.timedelta(days=self.soon_days):
            return "binnenkort"
        return "op_schema"

    def items(
        self, priority: str | None = None, status: str | None = None, signal: str | None = None
    ) -> list[dict[str, Any]]:
        q = sa.select(commitments, documents.c.nummer, documents.c.title.label("document_title")).join(
            documents, documents.c.id == commitments.c.document_id
        )
        if priority:
            q = q.where(commitments.c.priority == priority)
        if status:
            q = q.where(commitments.c.status == normalise_status(status))
        with self.engine.connect() as conn:
            current = latest_documents(conn)
            rows = [dict(r) for r in conn.execute(q).mappings().all() if r["document_id"] in current]
        names = labels()
        for r in rows:
            r["signal"] = self.signal(r)
            r["signal_label"] = SIGNALS[r["signal"]]
            r["status_label"] = STATUSES[r["status"]]
            r["priority_label"] = names.get(r["priority"], r["priority"])
            r["priority_keywords"] = json.loads(r["priority_keywords"])
        if signal:
            rows = [r for r in rows if r["signal"] == signal]
        rows.sort(
            key=lambda r: (
                r["due"] is None,
                r["due"] or dt.date.max,
                r["nummer"] or "",
                r["question"],
                r["span_start"],
            )
        )
        return rows

    def get(self, commitment_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(commitments).where(commitments.c.id == commitment_id))
                .mappings()
                .first()
            )
        if row is None:
            raise RegisterError(f"toezegging {commitment_id} bestaat niet")
        return dict(row)

    def history(self, commitment_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    sa.select(audit).where(audit.c.commitment_id == commitment_id).order_by(audit.c.id)
                )
                .mappings()
                .all()
            ]

    def edit(
        self, commitment_id: int, officer: str, reason: str | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change register fields; each changed field goes to the audit trail in the same transaction."""
        if not officer or not officer.strip():
            raise RegisterError("een wijziging vraagt de naam van de medewerker")
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise RegisterError(f"niet te wijzigen: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for k, v in changes.items():
            if k == "status":
                v = normalise_status(v)
            elif k == "due" and isinstance(v, str):
                try:
                    v = dt.date.fromisoformat(v) if v else None
                except ValueError:
                    raise RegisterError(f"ongeldige datum {v!r} (verwacht JJJJ-MM-DD)") from None
            elif k == "priority" and v not in labels():
                raise RegisterError(f"onbekende prioriteit {v!r}; kies uit: {', '.join(labels())}")
            elif isinstance(v, str):
                v = v.strip()[:500] or None
            values[k] = v
        if values.get("status") == "afgedaan" and not (
            values.get("evidence") or self.get(commitment_id)["evidence"]
        ):
            raise RegisterError(
                "'Afgedaan' vraagt een bewijsstuk (de brief of het Kamerstuk waarmee is voldaan)"
            )
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    sa.select(commitments).where(commitments.c.id == commitment_id).with_for_update()
                )
                .mappings()
                .first()
            )
            if row is None:
                raise RegisterError(f"toezegging {commitment_id} bestaat niet")
            changed = {k: v for k, v in values.items() if row[k] != v}
            if not changed:
                return dict(row)
            conn.execute(
                commitments.update()
                .where(commitments.c.id == commitment_id)
                .values(**changed, updated_at=now)
            )
            conn.execute(
                audit.insert(),
                [
                    {
                        "commitment_id": commitment_id,
                        "at": now,
                        "officer": officer.strip()[:200],
                        "field": k,
                        "old": None if row[k] is None else str(row[k]),
                        "new": None if v is None else str(v),
                        "reason": reason,
                    }
                    for k, v in changed.items()
                ],
            )
        return self.get(commitment_id)
