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
from nds.fsc.manager.store_local import OutboxItem

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


async def _attempt(m: Manager, item: OutboxItem) -> bool:
    """Deliver one item and record the outcome; False when it failed (later items to the same Peer wait)."""
    try:
        await deliver(m, item)
    except PeerCallError as exc:
        attempts = item.attempts + 1
        next_at = NEVER if exc.permanent else time.time() + m.rules.retry_delay(item.attempts)
        why = " permanently" if exc.permanent else ""
        if not exc.permanent:
            # Group rules: retries continue until the contract expires, then stop.
            stored = await asyncio.to_thread(m.store.get_contract, item.content_hash)
            if stored is None or stored.not_after < time.time():
                next_at, why = NEVER, " (contract expired, no more retries)"
        log.info("delivery %s of %s to %s failed (%s)%s", item.id, item.action, item.target_peer_id, exc, why)
        await asyncio.to_thread(m.store.mark_failed, item.id, attempts, next_at, str(exc))
        return False
    await asyncio.to_thread(m.store.mark_delivered, item.id)
    return True


async def _deliver_to(m: Manager, items: list[OutboxItem], limit: asyncio.Semaphore) -> None:
    """Items for one Peer in queue order; after a failure the rest wait for the next round."""
    async with limit:
        for i, item in enumerate(items):
            if not await _attempt(m, item):
                for rest in items[i + 1 :]:  # one failing connection per Peer per round is enough
                    next_at = time.time() + m.rules.retry_delay(rest.attempts)
                    await asyncio.to_thread(
                        m.store.mark_failed,
                        rest.id,
                        rest.attempts,
                        next_at,
                        "waiting: an earlier delivery failed",
                    )
                return


async def run(m: Manager, stop: asyncio.Event, parallel: int = 8) -> None:
    """Deliver due items until ``stop`` is set; wake up early when something is queued.

    Different Peers are served concurrently (a Peer that is down or slow delays nobody else); the
    items for one Peer go in queue order, so a contract arrives before the signatures on it.
    """
    limit = asyncio.Semaphore(parallel)
    while not stop.is_set():
        try:
            items = await asyncio.to_thread(m.store.due, time.time(), 500)
            by_target: dict[str, list[OutboxItem]] = {}
            for item in items:
                by_target.setdefault(item.target_peer_id, []).append(item)
            await asyncio.gather(*(_deliver_to(m, its, limit) for its in by_target.values()))
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
