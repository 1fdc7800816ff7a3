"""The citizen view in the DigiLab: sources and routing from ``digilab.json``.

The citizen-view portal is an organisation of its own (``portaal``) with an Outway and a connection
contract for every organisation's ``ldv`` service. So every read-API and register request goes
through FSC: portal Outway → (mTLS, token) → the organisation's Inway → its logboek. ``route`` turns
an organisation URL (``https://<inway host>[:port]/…``) into the Outway URL plus the ``Fsc-Grant-Hash``
of that organisation's ``ldv`` grant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from nds.inzage.transport import HttpTransport
from nds.inzage.view import CitizenView, Source, build_view
from nds.logboek.auth import issue_citizen_assertion

DIGID_ISSUER = "https://digid.digilab.invalid"


class DigiLabInzageError(Exception):
    pass


def load(state: Path) -> dict[str, Any]:
    p = state / "digilab.json"
    try:
        data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DigiLabInzageError(
            f"no readable {p}: is the DigiLab running? ('nds digilab up --state {state}')"
        ) from exc
    if not isinstance(data, dict) or "portal" not in data or "digid" not in data:
        raise DigiLabInzageError(
            f"{p} has no citizen-view portal; restart the DigiLab with this version of nds"
        )
    return data


def sources(data: dict[str, Any]) -> list[Source]:
    return [
        Source(o["name"], o["peer_id"], o["read_api"]) for o in data["organisations"] if o.get("read_api")
    ]


def router(data: dict[str, Any]):
    outway = data["portal"]["outway_address"].rstrip("/")
    grants = {
        urlsplit(o["read_api"]).netloc: o["ldv_grant_hash"]
        for o in data["organisations"]
        if o.get("read_api") and o.get("ldv_grant_hash")
    }

    def route(url: str) -> tuple[str, dict[str, str]]:
        parts = urlsplit(url)
        grant = grants.get(parts.netloc)
        if grant is None:
            raise DigiLabInzageError(f"no contract to reach {parts.netloc}")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return outway + path, {"Fsc-Grant-Hash": grant}

    return route


async def citizen_view(state: Path, bsn: str) -> CitizenView:
    data = load(state)
    try:
        key = ECKey.import_key(
            json.loads(Path(data["digid"]["private_jwk_path"]).read_text(encoding="utf-8"))
        )
        srcs, route = sources(data), router(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, JoseError) as exc:
        raise DigiLabInzageError(
            f"{state / 'digilab.json'} or the simulated DigiD key it names is incomplete or unreadable "
            f"({type(exc).__name__}); restart the DigiLab ('nds digilab up --state {state}')"
        ) from exc

    async def assertion(s: Source) -> str:
        return issue_citizen_assertion(key, DIGID_ISSUER, s.read_api, bsn)

    async with httpx.AsyncClient(timeout=20) as client:
        return await build_view(srcs, HttpTransport(client, assertion, route), {"id": bsn, "type": "BSN"})
