"""GET /contracts, /peers and /services: filters, cursor pagination, response shapes of manager.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nds.fsc.manager.httputil import BODY_CODE, RequestError
from nds.fsc.manager.store import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from nds.fsc.manager.core import Manager

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
ASC, DESC = "SORT_ORDER_ASCENDING", "SORT_ORDER_DESCENDING"


@dataclass(frozen=True)
class Page:
    cursor: str | None
    limit: int
    descending: bool

    @classmethod
    def from_query(cls, query: Mapping[str, str], default_order: str = DESC) -> Page:
        raw_limit = query.get("limit")
        limit = DEFAULT_LIMIT
        if raw_limit is not None:
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
                raise RequestError(BODY_CODE, f"limit must be an integer from 1 to {MAX_LIMIT}", 400)
            limit = int(raw_limit)
        order = query.get("sort_order", default_order)
        if order not in (ASC, DESC):
            raise RequestError(BODY_CODE, f"sort_order must be {ASC} or {DESC}", 400)
        cursor = query.get("cursor") or None
        if cursor is not None and len(cursor) > 1024:
            raise RequestError(BODY_CODE, "cursor is too long", 400)
        return cls(cursor, limit, order == DESC)


def _bad_cursor() -> RequestError:
    return RequestError(BODY_CODE, "cursor is not valid for this list", 400)


def contracts(
    m: Manager, caller: str, page: Page, grant_types: list[str], grant_hashes: list[str]
) -> dict[str, Any]:
    cursor: tuple[int, str] | None = None
    if page.cursor and not grant_hashes:
        parts = decode_cursor(page.cursor, 2)
        if parts is None or not isinstance(parts[0], int) or not isinstance(parts[1], str):
            raise _bad_cursor()
        cursor = (parts[0], parts[1])
    # A Contract is only shown to a Peer that is on it (fsc-core §Providing contracts).
    rows = m.store.list_contracts(
        involving=caller,
        grant_types=grant_types,
        grant_hashes=grant_hashes,
        cursor=cursor,
        limit=page.limit + 1,
        descending=page.descending,
    )
    more = not grant_hashes and len(rows) > page.limit
    rows = rows if grant_hashes else rows[: page.limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].content_hash) if more and rows else ""
    return {
        "contracts": [{"content": r.content, "signatures": r.signature_map()} for r in rows],
        "pagination": {"next_cursor": next_cursor},
    }


def peers(m: Manager, page: Page, name: str | None, ids: list[str]) -> dict[str, Any]:
    cursor = None
    if page.cursor and not ids:
        parts = decode_cursor(page.cursor, 1)
        if parts is None or not isinstance(parts[0], str):
            raise _bad_cursor()
        cursor = parts[0]
    rows = m.store.list_peers(
        peer_ids=ids, name_contains=name, cursor=cursor, limit=page.limit + 1, descending=page.descending
    )
    more = not ids and len(rows) > page.limit
    rows = rows if ids else rows[: page.limit]
    return {
        "peers": [
            {"id": r["peer_id"], "name": r["name"], "manager_address": r["manager_address"]} for r in rows
        ],
        "pagination": {"next_cursor": encode_cursor(rows[-1]["peer_id"]) if more and rows else ""},
    }


def _peer_json(m: Manager, peer_id: str, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if peer_id == m.peer_id:
        return {"id": m.peer_id, "name": m.identity.name, "manager_address": m.cfg.address}
    p = known.get(peer_id)
    return {
        "id": peer_id,
        "name": p["name"] if p else peer_id,
        "manager_address": p["manager_address"] if p else "",
    }


def services(m: Manager, page: Page, peer_id: str | None, name: str | None) -> dict[str, Any]:
    """Services with a valid (Delegated)ServicePublication contract (fsc-core §Service listing)."""
    known = {p["peer_id"]: p for p in m.store.list_peers(limit=100000)}
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for stored, g in m.store.publication_grants():
        if not m.is_valid(stored):
            continue
        data = stored.content["grants"][g["position"]]["data"]
        svc = data["service"]
        entry: dict[str, Any] = {
            "name": svc["name"],
            "peer": _peer_json(m, svc["peer_id"], known),
            "protocol": svc["protocol"],
        }
        if "delegator" in data:
            d = _peer_json(m, data["delegator"]["peer_id"], known)
            entry = {
                "type": "SERVICE_TYPE_DELEGATED_SERVICE",
                **entry,
                "delegator": {"peer_id": d["id"], "peer_name": d["name"]},
            }
        else:
            entry = {"type": "SERVICE_TYPE_SERVICE", **entry}
        if "properties" in data:
            entry["properties"] = data["properties"]
        items[(svc["peer_id"], svc["name"])] = {"type": entry["type"], "data": entry}
    keys = sorted(items, reverse=page.descending)
    if peer_id is not None or name is not None:
        # manager.yaml: with several filters, a Service matching either one is returned.
        keys = [
            k
            for k in keys
            if (peer_id is not None and k[0] == peer_id)
            or (name is not None and name.lower() in k[1].lower())
        ]
    if page.cursor:
        parts = decode_cursor(page.cursor, 2)
        if parts is None or not all(isinstance(x, str) for x in parts):
            raise _bad_cursor()
        after = (parts[0], parts[1])
        keys = [k for k in keys if (k < after if page.descending else k > after)]
    more = len(keys) > page.limit
    keys = keys[: page.limit]
    return {
        "services": [items[k] for k in keys],
        "pagination": {"next_cursor": encode_cursor(*keys[-1]) if more and keys else ""},
    }
