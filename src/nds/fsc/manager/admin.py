"""The admin API of a Manager, for the organisation's own officers (never on the FSC port).

Separate port, loopback by default, every request authenticated with the bearer token from the
state directory. Built with :func:`nds.api.make_api`, so it follows the NL API Design Rules
(problem+json, API-Version, /v1/openapi.json).
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from nds.api import Problem, make_api
from nds.fsc.contracts.errors import FscError
from nds.fsc.manager.config import ManagerConfig
from nds.fsc.manager.core import Manager

API_VERSION = "1.0.0"


def ensure_admin_token(cfg: ManagerConfig) -> str:
    path = cfg.admin_token_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class InwayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(
        pattern=r"^https://[^/\s]+:\d{1,5}$",
        max_length=255,
        description="Inway URL with scheme and port, e.g. https://inway.example:443",
    )


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inway: str = Field(min_length=1, max_length=100, description="Name of the Inway offering the Service.")
    endpoint_url: str = Field(
        pattern=r"^https?://", max_length=1000, description="Where the Inway forwards to."
    )
    protocol: str = Field(default="PROTOCOL_TCP_HTTP_1.1", pattern=r"^PROTOCOL_TCP_HTTP_(1\.1|2)$")
    regulated_area: str | None = Field(
        default=None, pattern=r"^[a-zA-Z0-9-._]{1,100}$", description="Regulated Area of the Service, if any."
    )


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_content: dict[str, Any] = Field(description="The FSC contractContent to propose and accept.")


def make_admin_app(m: Manager) -> FastAPI:
    token = ensure_admin_token(m.cfg)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    api = make_api(
        "nds FSC Manager beheer-API",
        API_VERSION,
        "Beheer van de eigen Manager: contracten opstellen en ondertekenen, inways en services.",
    )

    async def authenticated(request: Request) -> None:
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise Problem(401, "Niet geauthenticeerd", "Een geldig bearer-token is nodig.")

    auth = [Depends(authenticated)]

    def fsc_problem(exc: FscError) -> Problem:
        return Problem(400, "Ongeldig contract", exc.message, code=exc.code.value)

    @api.get("/peer", dependencies=auth, summary="Deze Peer")
    async def peer() -> dict[str, Any]:
        return {
            "peer_id": m.peer_id,
            "peer_name": m.identity.name,
            "manager_address": m.cfg.address,
            "directory": m.cfg.directory,
            "fsc_version": m.rules.fsc_version,
        }

    @api.get("/contracts", dependencies=auth, summary="Alle contracten met afgeleide status")
    async def contracts() -> dict[str, Any]:
        rows = await asyncio.to_thread(m.store.list_contracts, limit=100000)
        out = []
        for r in rows:
            view = await asyncio.to_thread(m.state_of, r)
            out.append(
                {
                    "content_hash": r.content_hash,
                    "state": view.state,
                    "content": r.content,
                    "signatures": r.signature_map(),
                    "grant_hashes": _grant_hashes(m, r.content_hash),
                }
            )
        return {"contracts": out}

    @api.post("/contracts", dependencies=auth, status_code=201, summary="Contract opstellen en accepteren")
    async def create(body: ContractIn) -> dict[str, Any]:
        try:
            content_hash = await m.create(body.contract_content)
        except FscError as exc:
            raise fsc_problem(exc) from None
        return {"content_hash": content_hash, "grant_hashes": _grant_hashes(m, content_hash)}

    async def _sign(content_hash: str, sig_type: str) -> dict[str, Any]:
        try:
            sig = await m.sign(content_hash, sig_type)
        except KeyError:
            raise Problem(404, "Niet gevonden", "Geen contract met deze hash.") from None
        return {"content_hash": content_hash, "type": sig_type, "signed_at": sig.signed_at}

    @api.post("/contracts/{content_hash}/accept", dependencies=auth, summary="Contract accepteren")
    async def accept(content_hash: str) -> dict[str, Any]:
        return await _sign(content_hash, "accept")

    @api.post("/contracts/{content_hash}/reject", dependencies=auth, summary="Contract afwijzen")
    async def reject(content_hash: str) -> dict[str, Any]:
        return await _sign(content_hash, "reject")

    @api.post("/contracts/{content_hash}/revoke", dependencies=auth, summary="Contract intrekken")
    async def revoke(content_hash: str) -> dict[str, Any]:
        return await _sign(content_hash, "revoke")

    @api.put("/inways/{name}", dependencies=auth, summary="Inway registreren")
    async def put_inway(name: str, body: InwayIn) -> dict[str, Any]:
        if not name or len(name) > 100:
            raise Problem(400, "Ongeldige invoer", "Naam van 1 tot 100 tekens.")
        await asyncio.to_thread(m.store.upsert_inway, name, body.address)
        return {"name": name, "address": body.address}

    @api.get("/inways", dependencies=auth, summary="Inways")
    async def inways() -> dict[str, Any]:
        return {"inways": await asyncio.to_thread(m.store.list_inways)}

    @api.put("/services/{name}", dependencies=auth, summary="Service registreren")
    async def put_service(name: str, body: ServiceIn) -> dict[str, Any]:
        import re

        if not re.fullmatch(r"[a-zA-Z0-9-._]{3,100}", name):
            raise Problem(400, "Ongeldige invoer", "Servicenaam moet voldoen aan ^[a-zA-Z0-9-._]{3,100}$.")
        known = {i["name"] for i in await asyncio.to_thread(m.store.list_inways)}
        if body.inway not in known:
            raise Problem(400, "Ongeldige invoer", f"Onbekende inway '{body.inway}'.")
        await asyncio.to_thread(
            m.store.upsert_service, name, body.inway, body.endpoint_url, body.protocol, body.regulated_area
        )
        return {"name": name, **body.model_dump()}

    @api.get("/services", dependencies=auth, summary="Eigen services")
    async def services() -> dict[str, Any]:
        return {"services": await asyncio.to_thread(m.store.list_services)}

    @api.get("/outbox", dependencies=auth, summary="Uitgaande handtekeningen en hun afleverstatus")
    async def outbox() -> dict[str, Any]:
        return {"items": await asyncio.to_thread(m.store.outbox_rows)}

    app.mount("/v1", api)
    return app


def _grant_hashes(m: Manager, content_hash: str) -> list[str]:
    stored = m.store.get_contract(content_hash)
    if stored is None:
        return []
    _content, _hash, grant_hashes = m.parse(stored.content)
    return grant_hashes
