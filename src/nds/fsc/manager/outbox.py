"""The persistent outbox: delivers our contracts and signatures to every other Peer on a contract.

Rows survive restarts. Each delivery is retried with the Group's ``signature_retry_schedule`` (the
last interval repeats) until the target answers 201. A definitive refusal (4xx other than 408/429)
is recorded and not retried. The target's Manager address comes from a validated
``Fsc-Manager-Address`` or announcement, or from the Directory; it is checked again here (https,
FSC port) and the server's certificate must carry the target's Peer ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from nds.fsc.manager.httputil import normalize_manager_address
from nds.fsc.manager.peerclient import PeerCallError
from nds.fsc.manager.store import OutboxItem

if TYPE_CHECKING:
    from nds.fsc.manager.core import Manager

log = logging.getLogger("nds.fsc.manager.outbox")
NEVER = 1e18


async def resolve_address(m: Manager, peer_id: str) -> str | None:
    peer = await asyncio.to_thread(m.store.get_peer, peer_id)
    if peer and peer["manager_address"]:
        return str(peer["manager_address"])
    for d in m.rules.directories:
        if d.peer_id == peer_id:
            return d.manager_address
    entry = m.directory_entry()
    if entry is None or entry[1] == m.peer_id:
        return None
    try:
        found = await m.client.lookup_peer(entry[0], entry[1], peer_id)
    except PeerCallError:
        return None
    if not found:
        return None
    try:
        address, _h, _p = normalize_manager_address(found["manager_address"])
    except ValueError:
        return None
    await asyncio.to_thread(
        m.store.upsert_peer, peer_id, str(found.get("name") or peer_id), address, "directory"
    )
    return address


async def deliver(m: Manager, item: OutboxItem) -> None:
    address = await resolve_address(m, item.target_peer_id)
    if address is None:
        raise PeerCallError(f"manager address of peer {item.target_peer_id} unknown")
    try:
        normalize_manager_address(address)
    except ValueError as exc:
        raise PeerCallError(
            f"refusing address of peer {item.target_peer_id}: {exc}", permanent=True
        ) from None
    import json

    body = json.loads(item.body)
    if item.action == "submit":
        method, path = "POST", "/contracts"
    else:
        method, path = "PUT", f"/contracts/{item.content_hash}/{item.action}"
    resp = await m.client.request(
        method, address, path, expected_peer_id=item.target_peer_id, json_body=body, write=True
    )
    if resp.status_code in (200, 201):
        return
    detail = ""
    with contextlib.suppress(ValueError, AttributeError):
        detail = str(resp.json().get("code", ""))
    permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 429)
    raise PeerCallError(
        f"HTTP {resp.status_code} {detail}".strip(), permanent=permanent, status=resp.status_code
    )


async def run(m: Manager, stop: asyncio.Event) -> None:
    """Deliver due items until ``stop`` is set; wake up early when something is queued."""
    while not stop.is_set():
        try:
            items = await asyncio.to_thread(m.store.due, time.time())
            for item in items:
                try:
                    await deliver(m, item)
                except PeerCallError as exc:
                    attempts = item.attempts + 1
                    next_at = NEVER if exc.permanent else time.time() + m.rules.retry_delay(item.attempts)
                    log.info(
                        "delivery %s of %s to %s failed (%s)%s",
                        item.id,
                        item.action,
                        item.target_peer_id,
                        exc,
                        " permanently" if exc.permanent else "",
                    )
                    await asyncio.to_thread(m.store.mark_failed, item.id, attempts, next_at, str(exc))
                else:
                    await asyncio.to_thread(m.store.mark_delivered, item.id)
            nxt = await asyncio.to_thread(m.store.next_due_at)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox iteration failed")
            nxt = time.time() + 1.0
        wait = 60.0 if nxt is None else max(0.0, min(60.0, nxt - time.time()))
        m.outbox_wakeup.clear()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(m.outbox_wakeup.wait(), timeout=wait)
