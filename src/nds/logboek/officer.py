"""Officer lookups: an organisation's employee looks up the processings of one data subject
(e.g. to answer a written request for access).

Looking is itself a processing: the lookup is logged as an LDV record (activity "inzageverzoek") about
that person — without the officer's identity, which LDV records must not hold — and the officer's
identity goes to the separate audit log (``logboek_audit``) with the record's trace, so the two can be
joined by an auditor but the LDV record alone reveals nothing about the employee.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.logboek import tables as t
from nds.logboek.model import DataSubject, Processing, Record, new_trace_id, now_ms
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import Query, find
from nds.logboek.store import Logboek

_OFFICER = re.compile(r"^[\w.@-]{1,200}$")


class OfficerLookupError(ValueError):
    pass


def officer_lookup(
    logboek: Logboek,
    keyring: Keyring,
    engine: Engine,
    *,
    officer: str,
    reason: str,
    subject: DataSubject,
    inzage_activity_uri: str,
    limit: int = 1000,
) -> list[Record]:
    """The subject's records (oldest first), after auditing who looked and logging the lookup."""
    if not _OFFICER.match(officer):
        raise OfficerLookupError("officer id: 1–200 letters, digits, '.', '@', '_' or '-'")
    if not reason.strip() or len(reason) > 500:
        raise OfficerLookupError("a reason (1–500 characters) is required for every lookup")
    trace = new_trace_id()
    _, pseudonym = keyring.pseudonym(subject)
    with engine.begin() as conn:  # audit first: no lookup without a trail
        conn.execute(
            t.audit.insert().values(
                at=now_ms(),
                officer=officer,
                action="inzage-opvragen",
                detail={
                    "reason": reason.strip(),
                    "subject_pseudonym": pseudonym,
                    "subject_type": subject.type,
                },
                trace_id=trace,
            )
        )
    logboek.write(
        Processing(
            "inzageverzoek", inzage_activity_uri, (subject,), trace, resource={"component": "officer-lookup"}
        )
    )
    records, _ = find(engine, keyring, Query(subject=subject, limit=limit))
    return records


def audit_entries(engine: Engine, officer: str | None = None) -> list[dict[str, object]]:
    q = sa.select(t.audit).order_by(t.audit.c.id)
    if officer:
        q = q.where(t.audit.c.officer == officer)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
