"""Reading the logboek: by data subject, trace or activity, with keyset pagination."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.logboek import tables as t
from nds.logboek.model import DataSubject, Record
from nds.logboek.pseudonym import Keyring
from nds.logboek.store import row_record

MAX_PAGE = 1000
DEFAULT_PAGE = 100


@dataclass(frozen=True)
class Query:
    trace_id: str | None = None
    activity_uri: str | None = None
    subject: DataSubject | None = None
    start_time: int | None = None  # records ending at or after (ms)
    end_time: int | None = None  # records starting at or before (ms)
    after_seq: int = 0  # keyset cursor
    limit: int = DEFAULT_PAGE

    def has_filter(self) -> bool:
        return bool(self.trace_id or self.activity_uri or self.subject)


def find(engine: Engine, keyring: Keyring, q: Query) -> tuple[list[Record], int | None]:
    """Records matching ``q`` in write order, and the cursor of the next page (or None)."""
    if not q.has_filter():
        raise ValueError("at least one of trace, processing activity or data subject is required")
    r = t.records
    cond = [r.c.seq > q.after_seq]
    if q.trace_id:
        cond.append(r.c.trace_id == q.trace_id)
    if q.activity_uri:
        cond.append(r.c.activity_uri == q.activity_uri)
    if q.subject:
        pairs = keyring.all_pseudonyms(q.subject)
        cond.append(sa.or_(*[sa.and_(r.c.subject_pseudonym == p, r.c.subject_key_id == k) for k, p in pairs]))
        cond.append(r.c.subject_type == q.subject.type)
    if q.start_time is not None:
        cond.append(r.c.end_time >= q.start_time)
    if q.end_time is not None:
        cond.append(r.c.start_time <= q.end_time)
    limit = max(1, min(q.limit, MAX_PAGE))
    stmt = sa.select(r).where(*cond).order_by(r.c.seq).limit(limit + 1)
    with engine.connect() as conn:
        rows = [row_record(x) for x in conn.execute(stmt)]
    nxt = rows[limit - 1].seq if len(rows) > limit else None
    return rows[:limit], nxt
