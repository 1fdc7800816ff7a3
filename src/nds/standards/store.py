"""The standards monitor's own tables (prefix ``standards_``) and their queries.

- ``standards_rounds``: one measurement round (targets file, TLS profile, start/finish).
- ``standards_targets``: the round's targets as read from the CSV (organisation, type,
  bestuursorgaan, domain, which checks).
- ``standards_results``: one raw result per (target, kind): the whole report JSON as returned by
  the check, its per-standard statuses, and timings. Its unique key makes a round resumable.
- ``standards_explanations``: "leg uit" explanations per organisation and standard.
- ``standards_accessibility``: imported Digitoegankelijk statement status per site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.db import component_metadata, make_engine, migrate

metadata = component_metadata()
MIGRATIONS = Path(__file__).parent / "migrations"

rounds = sa.Table(
    "standards_rounds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("profile", sa.String(40), nullable=False),
    sa.Column("targets_file", sa.String(500), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)
targets = sa.Table(
    "standards_targets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "round_id", sa.Integer, sa.ForeignKey("standards_rounds.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("organisation", sa.String(300), nullable=False),
    sa.Column("org_type", sa.String(100), nullable=False),
    sa.Column("bestuursorgaan", sa.Boolean, nullable=False),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("check_web", sa.Boolean, nullable=False),
    sa.Column("check_mail", sa.Boolean, nullable=False),
    sa.UniqueConstraint("round_id", "organisation", "domain", name="uq_standards_targets_round_org_domain"),
)
results = sa.Table(
    "standards_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "round_id", sa.Integer, sa.ForeignKey("standards_rounds.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "target_id", sa.Integer, sa.ForeignKey("standards_targets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(10), nullable=False),  # web | mail
    sa.Column("outcome", sa.String(20), nullable=False),  # done | error | deadline
    sa.Column("profile", sa.String(40), nullable=False),
    sa.Column("report", sa.JSON, nullable=False),
    sa.Column("standards", sa.JSON, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.UniqueConstraint("target_id", "kind", name="uq_standards_results_target_kind"),
)
explanations = sa.Table(
    "standards_explanations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("organisation", sa.String(300), nullable=False),
    sa.Column("standard", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("valid_until", sa.Date),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("organisation", "standard", name="uq_standards_explanations_org_standard"),
)
accessibility = sa.Table(
    "standards_accessibility",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("organisation", sa.String(300), nullable=False),
    sa.Column("site", sa.String(500), nullable=False),
    sa.Column("status", sa.String(1), nullable=False),
    sa.Column("statement_date", sa.Date),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.UniqueConstraint("organisation", "site", name="uq_standards_accessibility_org_site"),
)


sa.Index("ix_standards_targets_round_id", targets.c.round_id)
sa.Index("ix_standards_results_round_id", results.c.round_id)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_store(url: str) -> Engine:
    """Migrate and return a writing engine."""
    migrate(url, "standards", MIGRATIONS)
    return make_engine(url, immediate=True)


@dataclass(frozen=True)
class Target:
    id: int
    organisation: str
    org_type: str
    bestuursorgaan: bool
    domain: str
    check_web: bool
    check_mail: bool


def create_round(
    engine: Engine, name: str, profile: str, targets_file: str, rows: list[dict[str, Any]]
) -> int:
    with engine.begin() as conn:
        key = conn.execute(
            rounds.insert().values(name=name, profile=profile, targets_file=targets_file, started_at=now())
        ).inserted_primary_key
        assert key is not None
        rid = key[0]
        if rows:
            conn.execute(targets.insert(), [{"round_id": rid, **r} for r in rows])
    return int(rid)


def round_targets(engine: Engine, round_id: int) -> list[Target]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(targets).where(targets.c.round_id == round_id).order_by(targets.c.id)
        ).all()
    return [
        Target(r.id, r.organisation, r.org_type, r.bestuursorgaan, r.domain, r.check_web, r.check_mail)
        for r in rows
    ]


def done_keys(engine: Engine, round_id: int) -> set[tuple[int, str]]:
    """(target, kind) pairs with a completed result; errors and deadlines are retried on resume."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(results.c.target_id, results.c.kind).where(
                results.c.round_id == round_id, results.c.outcome == "done"
            )
        )
        return {(r.target_id, r.kind) for r in rows}


def save_result(
    engine: Engine,
    round_id: int,
    target_id: int,
    kind: str,
    outcome: str,
    profile: str,
    report: dict[str, Any],
    standards: dict[str, str],
    started_at: dt.datetime,
    seconds: float,
) -> None:
    with engine.begin() as conn:
        conn.execute(results.delete().where(results.c.target_id == target_id, results.c.kind == kind))
        conn.execute(
            results.insert().values(
                round_id=round_id,
                target_id=target_id,
                kind=kind,
                outcome=outcome,
                profile=profile,
                report=report,
                standards=standards,
                started_at=started_at,
                seconds=seconds,
            )
        )


def finish_round(engine: Engine, round_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(rounds.update().where(rounds.c.id == round_id).values(finished_at=now()))


def get_round(engine: Engine, round_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(rounds).where(rounds.c.id == round_id)).first()


def list_rounds(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(rounds).order_by(rounds.c.id)).all())


def round_results(engine: Engine, round_id: int) -> list[Any]:
    """(target columns + result columns) for every stored result of a round."""
    q = (
        sa.select(
            targets.c.organisation,
            targets.c.org_type,
            targets.c.bestuursorgaan,
            targets.c.domain,
            results.c.kind,
            results.c.outcome,
            results.c.standards,
            results.c.report,
            results.c.profile,
        )
        .join(results, results.c.target_id == targets.c.id)
        .where(targets.c.round_id == round_id)
        .order_by(targets.c.id, results.c.kind)
    )
    with engine.connect() as conn:
        return list(conn.execute(q).all())


def set_explanation(
    engine: Engine, organisation: str, standard: str, reason: str, valid_until: dt.date | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            explanations.delete().where(
                explanations.c.organisation == organisation, explanations.c.standard == standard
            )
        )
        conn.execute(
            explanations.insert().values(
                organisation=organisation,
                standard=standard,
                reason=reason,
                valid_until=valid_until,
                recorded_at=now(),
            )
        )


def remove_explanation(engine: Engine, organisation: str, standard: str) -> bool:
    with engine.begin() as conn:
        res = conn.execute(
            explanations.delete().where(
                explanations.c.organisation == organisation, explanations.c.standard == standard
            )
        )
        return bool(res.rowcount)


def list_explanations(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(explanations).order_by(explanations.c.organisation, explanations.c.standard)
            ).all()
        )


def replace_accessibility(engine: Engine, rows: list[dict[str, Any]], source: str) -> int:
    """Upsert statement statuses per (organisation, site)."""
    stamp = now()
    with engine.begin() as conn:
        for r in rows:
            conn.execute(
                accessibility.delete().where(
                    accessibility.c.organisation == r["organisation"], accessibility.c.site == r["site"]
                )
            )
            conn.execute(accessibility.insert().values(**r, imported_at=stamp, source=source))
    return len(rows)


def list_accessibility(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(accessibility).order_by(accessibility.c.organisation, accessibility.c.site)
            ).all()
        )
