"""The programme monitor's own tables (prefix ``programme_``) and how a parse result is stored.

- ``programme_documents``: one row per distinct document text (keyed on its SHA-256; the raw text is
  kept unchanged, so every span stays traceable), with header metadata and parse warnings.
- ``programme_pairs``: numbered question/answer pairs with their spans and cross-references.
- ``programme_references``: de-duplicated Kamerstuk/motion references with all their occurrences.
- ``programme_commitments``: extracted commitments plus register fields (status, evidence, priority).
- ``programme_audit``: every officer edit of a commitment (who, when, field, old, new, reason).

Ingesting the same text twice is a no-op, so officer edits are never overwritten by a re-ingest.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.db import component_metadata, migrate
from nds.programme.parse import ParseResult
from nds.programme.priorities import classify

metadata = component_metadata()
MIGRATIONS = Path(__file__).parent / "migrations"

documents = sa.Table(
    "programme_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("nummer", sa.String(40)),
    sa.Column("title", sa.String(1000)),
    sa.Column("soort", sa.String(200)),
    sa.Column("datum", sa.String(10)),
    sa.Column("anchor", sa.Date),
    sa.Column("indiener", sa.String(300)),
    sa.Column("zaak", sa.String(40)),
    sa.Column("layout", sa.String(20), nullable=False),
    sa.Column("source_name", sa.String(500)),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("meta", sa.Text, nullable=False),  # JSON: the parse result's "document" object
    sa.Column("warnings", sa.Text, nullable=False),  # JSON list
    sa.Column("partial", sa.Boolean, nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
)
pairs = sa.Table(
    "programme_pairs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("programme_documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text),
    sa.Column("q_start", sa.Integer, nullable=False),
    sa.Column("q_end", sa.Integer, nullable=False),
    sa.Column("a_start", sa.Integer),
    sa.Column("a_end", sa.Integer),
    sa.Column("see", sa.Text, nullable=False),  # JSON list of question numbers
    sa.Column("delegates_to", sa.Integer),
    sa.Column("resolved_to", sa.Integer),
    sa.UniqueConstraint("document_id", "ordinal", name="uq_programme_pairs_doc_ordinal"),
)
references = sa.Table(
    "programme_references",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("programme_documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("text", sa.String(1000), nullable=False),
    sa.Column("dossier", sa.String(10)),
    sa.Column("toevoeging", sa.String(20)),
    sa.Column("number", sa.Integer),
    sa.Column("members", sa.Text, nullable=False),
    sa.Column("occurrences", sa.Text, nullable=False),
    sa.Column("flags", sa.Text, nullable=False),
)
commitments = sa.Table(
    "programme_commitments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uid", sa.String(100), nullable=False, unique=True),  # sha256[:16]:start-end
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("programme_documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("question", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("phrase", sa.String(300), nullable=False),
    sa.Column("span_start", sa.Integer, nullable=False),
    sa.Column("span_end", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("actor_source", sa.String(20), nullable=False),
    sa.Column("deadline_start", sa.Date),
    sa.Column("deadline_end", sa.Date),
    sa.Column("deadline_rule", sa.String(100)),
    sa.Column("vague", sa.Boolean, nullable=False),
    sa.Column("hedged", sa.Boolean, nullable=False),
    sa.Column("priority", sa.String(40), nullable=False),
    sa.Column("priority_keywords", sa.Text, nullable=False),  # JSON: the keywords that decided it
    sa.Column("status", sa.String(20), nullable=False, default="openstaand"),
    sa.Column("due", sa.Date),  # the register's termijn: deadline_end unless an officer changed it
    sa.Column("evidence", sa.String(500)),  # fulfilling document (e.g. "Kamerstuk 26643, nr. 1450")
    sa.Column("note", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
audit = sa.Table(
    "programme_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "commitment_id",
        sa.Integer,
        sa.ForeignKey("programme_commitments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("officer", sa.String(200), nullable=False),
    sa.Column("field", sa.String(40), nullable=False),
    sa.Column("old", sa.Text),
    sa.Column("new", sa.Text),
    sa.Column("reason", sa.Text),
)


def init_db(url_or_engine: str | Engine) -> None:
    migrate(url_or_engine, "programme", MIGRATIONS)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def store_result(engine: Engine, result: ParseResult, source_name: str | None = None) -> tuple[int, bool]:
    """Store a parse result; returns (document id, newly stored). Same text again: nothing changes."""
    doc = result.to_json()
    with engine.begin() as conn:
        existing = conn.execute(sa.select(documents.c.id).where(documents.c.sha256 == result.sha256)).scalar()
        if existing is not None:
            return int(existing), False
        h = result.header
        inserted = conn.execute(
            documents.insert().values(
                sha256=result.sha256,
                nummer=h.nummer,
                title=(h.title or "")[:1000] or None,
                soort=h.soort,
                datum=h.datum,
                anchor=result.anchor,
                indiener=h.indiener,
                zaak=h.zaak,
                layout=result.layout,
                source_name=(source_name or "")[:500] or None,
                raw=result.raw,
                meta=json.dumps(
                    {
                        **doc["document"],
                        "footnotes": doc["footnotes"],
                        "footnote_markers": doc["footnote_markers"],
                    },
                    ensure_ascii=False,
                ),
                warnings=json.dumps(doc["warnings"], ensure_ascii=False),
                partial=result.partial,
                ingested_at=_now(),
            )
        ).inserted_primary_key
        assert inserted is not None
        doc_id = inserted[0]
        if result.pairs:
            conn.execute(
                pairs.insert(),
                [
                    {
                        "document_id": doc_id,
                        "ordinal": i,
                        "number": p.number,
                        "question": result.text_of(p.question_span),
                        "answer": result.text_of(p.answer_span) if p.answer_span else None,
                        "q_start": p.question_span[0],
                        "q_end": p.question_span[1],
                        "a_start": p.answer_span[0] if p.answer_span else None,
                        "a_end": p.answer_span[1] if p.answer_span else None,
                        "see": json.dumps(p.see),
                        "delegates_to": p.delegates_to,
                        "resolved_to": p.resolved_to,
                    }
                    for i, p in enumerate(result.pairs)
                ],
            )
        if result.references:
            conn.execute(
                references.insert(),
                [
                    {
                        "document_id": doc_id,
                        "kind": r.kind,
                        "text": r.text[:1000],
                        "dossier": r.dossier,
                        "toevoeging": r.toevoeging,
                        "number": r.number,
                        "members": json.dumps(r.members, ensure_ascii=False),
                        "occurrences": json.dumps(r.occurrences, ensure_ascii=False),
                        "flags": json.dumps(r.flags, ensure_ascii=False),
                    }
                    for r in result.references
                ],
            )
        questions = {p.number: result.text_of(p.question_span) for p in result.pairs}
        rows = []
        for c in result.commitments:
            prio, keywords = classify(c.text + " " + questions.get(c.question, ""))
            rows.append(
                {
                    "uid": f"{result.sha256[:16]}:{c.span[0]}-{c.span[1]}",
                    "document_id": doc_id,
                    "question": c.question,
                    "text": c.text,
                    "phrase": c.phrase[:300],
                    "span_start": c.span[0],
                    "span_end": c.span[1],
                    "actor": c.actor[:300],
                    "actor_source": c.actor_source,
                    "deadline_start": c.deadline.start if c.deadline else None,
                    "deadline_end": c.deadline.end if c.deadline else None,
                    "deadline_rule": c.deadline.rule if c.deadline else None,
                    "vague": c.vague,
                    "hedged": c.hedged,
                    "priority": prio,
                    "priority_keywords": json.dumps(keywords, ensure_ascii=False),
                    "status": "openstaand",
                    "due": c.deadline.end if c.deadline else None,
                    "updated_at": _now(),
                }
            )
        if rows:
            conn.execute(commitments.insert(), rows)
            if h.nummer:
                _carry_over(conn, doc_id, h.nummer)
    return int(doc_id), True


CARRIED = ("status", "due", "evidence", "note", "actor", "priority")


def _carry_over(conn: sa.Connection, doc_id: int, nummer: str) -> None:
    """A new version of a document (same Nummer): register fields that officers set on the previous
    version's commitments move to the same commitments (same question and text) in the new version, with
    an audit entry; the previous version stays stored but leaves the register (see latest_documents)."""
    prev = conn.execute(
        sa.select(sa.func.max(documents.c.id)).where(documents.c.nummer == nummer, documents.c.id < doc_id)
    ).scalar()
    if prev is None:
        return
    old = {
        (r["question"], r["text"]): r
        for r in conn.execute(sa.select(commitments).where(commitments.c.document_id == prev)).mappings()
    }
    now = _now()
    for new in (
        conn.execute(sa.select(commitments).where(commitments.c.document_id == doc_id)).mappings().all()
    ):
        was = old.get((new["question"], new["text"]))
        if was is None:
            continue
        changed = {k: was[k] for k in CARRIED if was[k] != new[k]}
        if not changed:
            continue
        conn.execute(
            commitments.update().where(commitments.c.id == new["id"]).values(**changed, updated_at=now)
        )
        conn.execute(
            audit.insert(),
            [
                {
                    "commitment_id": new["id"],
                    "at": now,
                    "officer": "systeem",
                    "field": k,
                    "old": None if new[k] is None else str(new[k]),
                    "new": None if v is None else str(v),
                    "reason": f"overgenomen uit vorige versie (toezegging {was['id']})",
                }
                for k, v in changed.items()
            ],
        )


def latest_documents(conn: sa.Connection) -> set[int]:
    """Ids of the documents that are the newest version of their Nummer (or have no Nummer)."""
    rows = conn.execute(sa.select(documents.c.id, documents.c.nummer)).all()
    newest: dict[str, int] = {}
    out = set()
    for doc_id, nummer in rows:
        if nummer is None:
            out.add(doc_id)
        else:
            newest[nummer] = max(doc_id, newest.get(nummer, 0))
    return out | set(newest.values())


def list_documents(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.select(
                    documents.c.id,
                    documents.c.nummer,
                    documents.c.title,
                    documents.c.datum,
                    documents.c.partial,
                    documents.c.layout,
                    documents.c.ingested_at,
                ).order_by(documents.c.id)
            )
            .mappings()
            .all()
        )
        counts = {
            r[0]: r[1]
            for r in conn.execute(
                sa.select(commitments.c.document_id, sa.func.count()).group_by(commitments.c.document_id)
            ).all()
        }
    return [{**dict(r), "commitments": int(counts.get(r["id"], 0))} for r in rows]


def get_document(engine: Engine, doc_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        d = conn.execute(sa.select(documents).where(documents.c.id == doc_id)).mappings().first()
        if d is None:
            return None
        ps = (
            conn.execute(sa.select(pairs).where(pairs.c.document_id == doc_id).order_by(pairs.c.ordinal))
            .mappings()
            .all()
        )
        rs = (
            conn.execute(
                sa.select(references).where(references.c.document_id == doc_id).order_by(references.c.id)
            )
            .mappings()
            .all()
        )
        cs = (
            conn.execute(
                sa.select(commitments)
                .where(commitments.c.document_id == doc_id)
                .order_by(commitments.c.span_start)
            )
            .mappings()
            .all()
        )
    out = dict(d)
    out["meta"] = json.loads(d["meta"])
    out["warnings"] = json.loads(d["warnings"])
    out["pairs"] = [{**dict(p), "see": json.loads(p["see"])} for p in ps]
    out["references"] = [
        {
            **dict(r),
            "members": json.loads(r["members"]),
            "occurrences": json.loads(r["occurrences"]),
            "flags": json.loads(r["flags"]),
        }
        for r in rs
    ]
    out["commitments"] = [dict(c) for c in cs]
    return out
