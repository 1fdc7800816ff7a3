"""Regulated Area extension (fsc-regulated-area): membership from PeerRegistrationGrant contracts.

- A Peer is a member of a regulated area while a valid contract with a PeerRegistrationGrant naming
  it exists, accepted by the area's Membership Administrator.
- The Membership Administrator lists members at ``GET /v1/regulated-areas/{name}/members``.
- When the Group rules name a Membership Administrator, a providing Peer refuses contracts whose
  Outway Peer or delegators are not members, a Directory refuses publications by non-members, and the
  token endpoint re-checks membership before every token (``unauthorized_client``).

Membership is asked from the Membership Administrator's Manager over mTLS (cached for a short time);
the Membership Administrator itself answers from its own contracts.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from nds.fsc.contracts.errors import GRANT_INVALID, FscError
from nds.fsc.contracts.model import (
    ContractContent,
    DelegatedServiceConnectionGrant,
    DelegatedServicePublicationGrant,
    ServiceConnectionGrant,
    ServicePublicationGrant,
)
from nds.fsc.manager.peerclient import PeerCallError

if TYPE_CHECKING:
    from nds.fsc.manager.core import Manager

DEFAULT_AREA = "default"


class MembershipUnavailable(Exception):
    """The Membership Administrator could not be asked (fail closed)."""


def local_members(m: Manager, area: str | None = None) -> list[dict[str, Any]]:
    """Members from this Manager's own valid PeerRegistration contracts (Membership Administrator side)."""
    out: dict[str, dict[str, Any]] = {}
    for stored, g in m.store.registration_grants():
        if area is not None and g["regulated_area"] != area:
            continue
        if not m.is_valid(stored):
            continue
        role = stored.content["grants"][g["position"]]["data"]["member"]["role"]
        out[g["member_peer_id"]] = {
            "peer": {
                "id": g["member_peer_id"],
                "role": role,
                "validated_by": {"membership_administrator_peer_id": g["membership_administrator_peer_id"]},
            }
        }
    if m.cfg.membership_administrator:
        out.setdefault(m.peer_id, {"peer": {"id": m.peer_id, "role": "MEMBERSHIP_ADMINISTRATOR"}})
    return [out[k] for k in sorted(out)]


_cache: dict[tuple[str, str], tuple[float, bool]] = {}


async def is_member(m: Manager, peer_id: str) -> bool:
    admin = m.rules.membership_administrator_peer_id
    if admin is None or peer_id == admin:
        return True
    if m.peer_id == admin:
        members = await asyncio.to_thread(local_members, m)
        return any(x["peer"]["id"] == peer_id for x in members)
    key = (admin, peer_id)
    hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    address = m.cfg.membership_administrator_address
    if not address:
        peer = await asyncio.to_thread(m.store.get_peer, admin)
        address = peer["manager_address"] if peer else ""
    if not address:
        entry = m.directory_entry()
        if entry:
            try:
                found = await m.client.lookup_peer(entry[0], entry[1], admin)
            except PeerCallError:
                found = None
            address = found["manager_address"] if found else ""
    if not address:
        raise MembershipUnavailable(f"address of membership administrator '{admin}' unknown")
    area = m.cfg.regulated_areas[0] if m.cfg.regulated_areas else DEFAULT_AREA
    try:
        resp = await m.client.request(
            "GET",
            address,
            f"/regulated-areas/{area}/members",
            expected_peer_id=admin,
            params={"peer_id": peer_id},
        )
        listed: list[Any] | None = resp.json()["members"] if resp.status_code == 200 else None
    except (PeerCallError, ValueError, KeyError, TypeError) as exc:
        raise MembershipUnavailable(str(exc)) from None
    if listed is None:
        raise MembershipUnavailable(f"membership administrator answered HTTP {resp.status_code}")
    result = any(isinstance(x, dict) and x.get("peer", {}).get("id") == peer_id for x in listed)
    _cache[key] = (time.monotonic() + m.cfg.membership_cache_seconds, result)
    return result


def peers_to_check(content: ContractContent, own_peer_id: str) -> set[str]:
    """Peers whose membership a providing Peer or Directory must check for this contract."""
    out: set[str] = set()
    for g in content.grants:
        if (
            isinstance(g, ServiceConnectionGrant | DelegatedServiceConnectionGrant)
            and g.service.peer_id == own_peer_id
        ):
            out.add(g.outway.peer_id)
            if isinstance(g, DelegatedServiceConnectionGrant):
                out.add(g.delegator.peer_id)
            if g.service.delegator is not None:
                out.add(g.service.delegator.peer_id)
        elif isinstance(g, ServicePublicationGrant | DelegatedServicePublicationGrant) and (
            g.directory.peer_id == own_peer_id
        ):
            out.add(g.service.peer_id)
            if isinstance(g, DelegatedServicePublicationGrant):
                out.add(g.delegator.peer_id)
    return out


async def prefetch(m: Manager, content: ContractContent) -> dict[str, bool] | None:
    """Membership of the Peers this contract must be checked for (None when the Group has no area)."""
    if m.rules.membership_administrator_peer_id is None:
        return None
    out: dict[str, bool] = {}
    for peer_id in sorted(peers_to_check(content, m.peer_id)):
        try:
            out[peer_id] = await is_member(m, peer_id)
        except MembershipUnavailable:
            out[peer_id] = False  # fail closed
    return out


async def check_contract(m: Manager, content: ContractContent) -> None:
    if m.rules.membership_administrator_peer_id is None:
        return
    for peer_id in sorted(peers_to_check(content, m.peer_id)):
        try:
            ok = await is_member(m, peer_id)
        except MembershipUnavailable as exc:
            raise FscError(
                GRANT_INVALID, f"membership of peer '{peer_id}' cannot be checked: {exc}"
            ) from None
        if not ok:
            raise FscError(GRANT_INVALID, f"peer '{peer_id}' is not a member of the regulated area")
