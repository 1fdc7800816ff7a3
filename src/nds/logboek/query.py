"""Reading the logboek: by data subject, trace or activity, with keyset pagination.

A lookup reads candidate records through the integer index (``keys.py``; both its levels,
``logboek_keys`` and ``logboek_keys_recent``) in sequence order, decodes them and keeps those whose
full values match every filter; it reads in chunks until a page (plus one, to know whether there is
a next page) is full.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from nds.logboek import tables as t
from nds.logboek.chain import BodyError
from nds.logboek.keys import activity_key, subject_key, trace_key
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
    with engine.connect() as conn:
        return find_in(conn, keyring, q)


def find_in(conn: Connection, keyring: Keyring, q: Query) -> tuple[list[Record], int | None]:
    """``find`` on an open connection (one snapshot for several queries)."""
    if not q.has_filter():
        raise ValueError("at least one of trace, processing activity or data subject is required")
    pairs: set[tuple[str, str]] = set()
    if q.subject:
        pairs = {(p, k) for k, p in keyring.all_pseudonyms(q.subject)}
    # the index kind to read: the most selective filter given
    if q.trace_id:
        ks = [trace_key(q.trace_id)]
    elif q.subject:
        ks = sorted({subject_key(p) for p, _ in pairs})
    else:
        assert q.activity_uri is not None
        ks = [activity_key(q.activity_uri)]

    def match(r: Record) -> bool:
        return (
            (q.trace_id is None or r.trace_id == q.trace_id)
            and (q.activity_uri is None or r.activity_uri == q.activity_uri)
            and (
                q.subject is None
                or ((r.subject_pseudonym, r.subject_key_id) in pairs and r.subject_type == q.subject.type)
            )
            and (q.start_time is None or r.end_time >= q.start_time)
            and (q.end_time is None or r.start_time <= q.end_time)
        )

    limit = max(1, min(q.limit, MAX_PAGE))
    chunk = limit + 1
    log = t.log
    out: list[Record] = []
    after = q.after_seq
    while len(out) <= limit:

        def candidates(idx: sa.Table, after: int = after, chunk: int = chunk) -> sa.Select[tuple[int]]:
            inner = (
                sa.select(idx.c.seq)
                .where(idx.c.k.in_(ks), idx.c.seq > after)
                .order_by(idx.c.seq)
                .limit(chunk)
                .subquery()
            )
            return sa.select(inner.c.seq)

        # both index levels (tables.keys_recent), each read in order and merged
        cand = sa.union(candidates(t.keys), candidates(t.keys_recent)).subquery()
        stmt = (
            sa.select(log.c.seq, log.c.body, log.c.prev_hash, log.c.record_hash)
            .join(cand, cand.c.seq == log.c.seq)
            .order_by(log.c.seq)
            .limit(chunk)
        )
        rows = conn.execute(stmt).all()
        for row in rows:
            after = row.seq
            try:
                rec = row_record(row)
            except BodyError:  # a damaged record is verify's to report, not a reader's crash
                continue
            if match(rec):
                out.append(rec)
        if len(rows) < chunk:
            break
        chunk = min(chunk * 4, 20_000)
    nxt = out[limit - 1].seq if len(out) > limit else None
    return out[:limit], nxt
