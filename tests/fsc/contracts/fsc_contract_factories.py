"""Builders of contract content JSON for the contracts tests (plain dicts, as on the wire)."""

from __future__ import annotations

import copy
from typing import Any

GROUP = "fsc-example-group"
IV = "06338364-8305-7b74-8000-de4963503139"
DIRECTORY = "00000000000000000009"
PROVIDER = "00000000000000000001"
CONSUMER = "00000000000000000002"
DELEGATOR = "00000000000000000003"
PUB_DELEGATOR = "00000000000000000004"
MEMBER_ADMIN = "00000000000000000005"
THUMB = "3a56f2e9269ac63f0d4394c46b96539da1625b6a985d38029ff89f34e490960c"
NOW = 1_700_000_000


def content(*grants: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "iv": IV,
        "group_id": GROUP,
        "validity": {"not_before": NOW - 3600, "not_after": NOW + 86400},
        "grants": [{"data": copy.deepcopy(g)} for g in grants] or [{"data": scg()}],
        "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
        "created_at": NOW - 60,
    }
    out.update(overrides)
    return out


def service(peer: str = PROVIDER, name: str = "example-service", delegator: str | None = None) -> dict:
    if delegator is None:
        return {"type": "SERVICE_TYPE_SERVICE", "peer_id": peer, "name": name}
    return {"type": "SERVICE_TYPE_DELEGATED_SERVICE", "peer_id": peer, "name": name,
            "delegator": {"peer_id": delegator}}


def scg(outway: str = CONSUMER, thumb: str = THUMB, **svc: Any) -> dict[str, Any]:
    return {"type": "GRANT_TYPE_SERVICE_CONNECTION",
            "outway": {"peer_id": outway, "public_key_thumbprint": thumb},
            "service": service(**svc)}


def dscg(outway: str = CONSUMER, delegator: str = DELEGATOR, **svc: Any) -> dict[str, Any]:
    return {"type": "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION",
            "outway": {"peer_id": outway, "public_key_thumbprint": THUMB},
            "service": service(**svc), "delegator": {"peer_id": delegator}}


def spg(peer: str = PROVIDER, name: str = "example-service", directory: str = DIRECTORY,
        protocol: str = "PROTOCOL_TCP_HTTP_1.1") -> dict[str, Any]:
    return {"type": "GRANT_TYPE_SERVICE_PUBLICATION", "directory": {"peer_id": directory},
            "service": {"peer_id": peer, "name": name, "protocol": protocol}}


def dspg(peer: str = PROVIDER, delegator: str = PUB_DELEGATOR, name: str = "example-service") -> dict:
    return {"type": "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION", "directory": {"peer_id": DIRECTORY},
            "service": {"peer_id": peer, "name": name, "protocol": "PROTOCOL_TCP_HTTP_2"},
            "delegator": {"peer_id": delegator}}


def prg(member: str = CONSUMER, admin: str = MEMBER_ADMIN, area: str = "zorg",
        role: str = "MEMBER") -> dict[str, Any]:
    return {"type": "GRANT_TYPE_PEER_REGISTRATION",
            "membership_administrator": {"peer_id": admin, "regulated_area_name": area},
            "member": {"peer_id": member, "role": role}}
