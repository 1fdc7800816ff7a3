"""Test helpers: read the stored log and tamper with it as an insider with database access would."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from nds.logboek import tables as t
from nds.logboek.model import Record
from nds.logboek.store import record_row, row_record


def stored(conn: Connection) -> list[Record]:
    """Every stored record in sequence order."""
    return [row_record(r) for r in conn.execute(sa.select(t.log).order_by(t.log.c.seq))]


def count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.log)).scalar_one())


def edit(conn: Connection, seq: int, **changes: Any) -> Record:
    """Change fields of a stored record in place, leaving its hashes as they were."""
    rec = row_record(conn.execute(sa.select(t.log).where(t.log.c.seq == seq)).one())
    new = replace(rec, **changes)
    conn.execute(t.log.update().where(t.log.c.seq == seq).values(**record_row(new)))
    return new
