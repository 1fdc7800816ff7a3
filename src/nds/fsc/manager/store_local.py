"""The Manager's store, part two: the organisation's own state — the signature outbox and its registered
inways and services. Mixed into :class:`nds.fsc.manager.store.Store` (which owns the engine)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from nds.fsc.manager import tables as t


@dataclass(frozen=True)
class OutboxItem:
    id: int
    target_peer_id: str
    action: str
    content_hash: str
    body: str
    attempts: int


class LocalStateMixin:
    engine: Engine

    # -- outbox ------------------------------------------------------------------------------

    def enqueue(self, items: Iterable[tuple[str, str, str, str]]) -> int:
        """Queue ``(target_peer_id, action, content_hash, body)`` deliveries; returns how many."""
        now = time.time()
        rows = [
            {
                "target_peer_id": tgt,
                "action": action,
                "content_hash": h,
                "body": body,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for tgt, action, h, body in items
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(t.outbox), rows)
        return len(rows)

    def due(self, now: float, limit: int = 50) -> list[OutboxItem]:
        c = t.outbox.c
        q = (
            select(c.id, c.target_peer_id, c.action, c.content_hash, c.body, c.attempts)
            .where(c.delivered_at.is_(None), c.next_attempt_at <= now)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [OutboxItem(*r) for r in conn.execute(q).all()]

    def next_due_at(self) -> float | None:
        c = t.outbox.c
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.min(c.next_attempt_at)).where(c.delivered_at.is_(None))
            ).scalar_one()

    def mark_delivered(self, item_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == item_id).values(delivered_at=time.time()))

    def mark_failed(self, item_id: int, attempts: int, next_at: float, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == item_id)
                .values(attempts=attempts, next_attempt_at=next_at, last_error=error[:500])
            )

    def outbox_rows(self, pending_only: bool = False) -> list[dict[str, Any]]:
        c = t.outbox.c
        q = select(
            c.id,
            c.target_peer_id,
            c.action,
            c.content_hash,
            c.attempts,
            c.next_attempt_at,
            c.last_error,
            c.created_at,
            c.delivered_at,
        ).order_by(c.id)
        if pending_only:
            q = q.where(c.delivered_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- inways and services -----------------------------------------------------------------

    def upsert_inway(self, name: str, address: str) -> None:
        """Register or move an inway; its services (which reference it) stay attached."""
        with self.engine.begin() as conn:
            updated = conn.execute(update(t.inways).where(t.inways.c.name == name).values(address=address))
            if updated.rowcount == 0:
                conn.execute(insert(t.inways).values(name=name, address=address))

    def list_inways(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(t.inways).order_by(t.inways.c.name)).mappings()]

    def upsert_service(
        self, name: str, inway_name: str, endpoint_url: str, protocol: str, regulated_area: str | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.services).where(t.services.c.name == name))
            conn.execute(
                insert(t.services).values(
                    name=name,
                    inway_name=inway_name,
                    endpoint_url=endpoint_url,
                    protocol=protocol,
                    regulated_area=regulated_area or None,
                )
            )

    def delete_service(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(t.services).where(t.services.c.name == name)).rowcount)

    def list_services(self) -> list[dict[str, Any]]:
        q = (
            select(t.services, t.inways.c.address.label("inway_address"))
            .join(t.inways, t.inways.c.name == t.services.c.inway_name)
            .order_by(t.services.c.name)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def get_service(self, name: str) -> dict[str, Any] | None:
        for s in self.list_services():
            if s["name"] == name:
                return s
        return None
