"""A small DigiLab for the web tests: real organisation applications (logboek, register, read API,
source API) in-process, and a Manager admin API / FSC ``GET /logs`` double at the HTTP boundary.

The doubles implement exactly the HTTP contract of ``nds.fsc.manager.admin`` and fsc-logging's
``GET /v1/logs`` that the web pages use (bearer token, contract list with derived state, sign
actions); the e2e test runs the same pages against a real ``nds digilab up`` federation.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from nds.digilab.orgapp import OrgContext, open_org
from nds.digilab.webdata import DigiLabData, Organisation
from nds.inzage.digilab import DIGID_ISSUER
from nds.logboek.app import create_logboek_app
from nds.logboek.auth import CitizenAssertionAuth, issue_citizen_assertion
from nds.logboek.model import DataSubject, ForeignOperation, Processing, new_trace_id
from nds.logboek.register import ProcessingActivity
from nds.settings import Settings
from nds.web.app import create_app

ALICE = "999993653"  # a synthetic test person
BOB = "999990019"
ADMIN_TOKEN = "test-admin-token"
EVIL = "<script>alert('x')</script>"

ORGS = [
    # slug, kind, name, peer_id
    ("brp", "brp", "Basisregistratie Personen", "00000001001000000001"),
    ("gemeente", "gemeente", "Gemeente Voorbeeldstad", "00000001001000000003"),
    ("uitkering", "uitkering", "Uitkeringsinstantie", "00000001001000000004"),
]


def _jws(payload: dict[str, Any]) -> str:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'ES256'})}.{b64(payload)}.c2ln"


@dataclass
class FakeManager:
    """One organisation's Manager as seen through its admin API and FSC GET /logs."""

    peer_id: str
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    log_callers: list[str] = field(default_factory=list)

    def add_contract(
        self, content_hash: str, grant: dict[str, Any], state: str, signed_by: list[str]
    ) -> None:
        now = int(time.time())
        self.contracts[content_hash] = {
            "content_hash": content_hash,
            "state": state,
            "content": {
                "grants": [{"data": grant}],
                "validity": {"not_before": now - 60, "not_after": now + 86400},
                "created_at": now - 1,
            },
            "signatures": {
                "accept": {p: _jws({"signed_at": now}) for p in signed_by},
                "reject": {},
                "revoke": {},
            },
            "grant_hashes": ["$1$5$" + content_hash[-10:]],
        }

    def admin_app(self) -> FastAPI:
        app = FastAPI()

        def authorised(request: Request) -> bool:
            return request.headers.get("authorization") == f"Bearer {ADMIN_TOKEN}"

        @app.get("/v1/contracts")
        async def contracts(request: Request) -> Any:
            if not authorised(request):
                return JSONResponse({"title": "Niet geauthenticeerd"}, 401)
            return {"contracts": list(self.contracts.values())}

        @app.post("/v1/contracts/{content_hash}/{action}")
        async def sign(request: Request, content_hash: str, action: str) -> Any:
            if not authorised(request):
                return JSONResponse({"title": "Niet geauthenticeerd"}, 401)
            c = self.contracts.get(content_hash)
            if c is None:
                return JSONResponse({"title": "Niet gevonden", "detail": "Geen contract met deze hash."}, 404)
            self.calls.append((action, content_hash))
            c["signatures"].setdefault(action, {})[self.peer_id] = _jws({"signed_at": int(time.time())})
            c["state"] = {"accept": "valid", "reject": "rejected", "revoke": "revoked"}[action]
            return {"content_hash": content_hash, "type": action}

        return app

    def fsc_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/logs")
        async def logs(request: Request) -> Any:
            # the caller is who its client certificate says; here the client is always this peer
            self.log_callers.append(self.peer_id)
            limit = int(request.query_params.get("limit", "25"))
            svc = request.query_params.get("service_name")
            records = [r for r in self.logs if svc is None or r["service_name"] == svc]
            return {"records": records[:limit], "pagination": {"next_cursor": ""}}

        return app


class Dispatch(httpx.AsyncBaseTransport):
    def __init__(self, apps: dict[str, Any]) -> None:
        self.t = {host: httpx.ASGITransport(app=a) for host, a in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        t = self.t.get(request.url.host)
        if t is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return await t.handle_async_request(request)


class InProcessClients:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def admin(self, org: Organisation) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.lab.managers[org.slug].admin_app()),
            base_url="http://admin.test/v1",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )

    def manager(self, org: Organisation) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.lab.managers[org.slug].fsc_app()),
            base_url="https://manager.test",
        )

    def public(self) -> httpx.AsyncClient:
        apps = {f"{slug}.test": app for slug, app in self.lab.apps.items() if slug not in self.lab.down}
        return httpx.AsyncClient(transport=Dispatch(apps))


@dataclass
class Lab:
    tmp: Path
    idp: ECKey
    ctx: dict[str, OrgContext]
    apps: dict[str, Any]
    managers: dict[str, FakeManager]
    down: set[str] = field(default_factory=set)

    def state(self) -> dict[str, Any]:
        orgs = []
        for slug, kind, name, peer_id in ORGS:
            orgs.append(
                {
                    "slug": slug,
                    "name": name,
                    "peer_id": peer_id,
                    "roles": ["provider"] if kind == "brp" else ["consumer"],
                    "manager_address": f"https://{slug}.test:8443",
                    "admin_url": f"http://{slug}.test:9443",
                    "read_api": self.ctx[slug].read_api,
                    "inway_address": f"https://{slug}.test:443" if kind == "brp" else None,
                    "outway_address": f"http://{slug}.test:8080" if kind != "brp" else None,
                }
            )
        return {
            "format": 1,
            "group_id": "digilab-test",
            "directory": {
                "slug": "directory",
                "name": "Stelselcatalogus (Directory)",
                "peer_id": "00000099000000000001",
                "roles": ["directory"],
                "manager_address": "https://directory.test:8443",
            },
            "organisations": orgs,
            "services": [
                {
                    "name": "personen",
                    "provider": "brp",
                    "provider_peer_id": ORGS[0][3],
                    "inway_address": "https://brp.test:443",
                }
            ],
            "grants": [
                {
                    "hash": "$1$4$gemeente-personen",
                    "type": "GRANT_TYPE_SERVICE_CONNECTION",
                    "service": "personen",
                    "provider_peer_id": ORGS[0][3],
                    "consumer_peer_id": ORGS[1][3],
                    "consumer": "gemeente",
                    "delegator_peer_id": None,
                }
            ],
        }

    def data(self) -> DigiLabData:
        async def assertion(bsn: str, audience: str) -> str:
            return issue_citizen_assertion(self.idp, DIGID_ISSUER, audience, bsn)

        return DigiLabData(self.state(), InProcessClients(self), assertion_for=assertion)

    def close(self) -> None:
        for c in self.ctx.values():
            c.logboek.close()


def make_client(lab: Lab, tmp_path: Path, demo: bool = True) -> TestClient:
    """The whole web app (every component) with this lab as its DigiLab."""
    app = create_app(Settings(demo_mode=demo, state_dir=tmp_path / "web"))
    app.state.digilab_data = lab.data()
    return TestClient(app)


def org_app(ctx: OrgContext, idp: ECKey) -> Any:
    """The organisation's logboek application (read API and register), as its process serves it."""
    return create_logboek_app(
        logboek=ctx.logboek,
        keyring=ctx.keyring,
        register=ctx.register,
        authenticator=CitizenAssertionAuth(DIGID_ISSUER, idp, ctx.read_api),
        entity=f"urn:nds:fsc:peer:{ctx.peer_id}",
        inzage_activity_uri=ctx.activities["inzage"],
    )


def make_lab(tmp: Path) -> Lab:
    idp = ECKey.generate_key("P-256")
    ctx: dict[str, OrgContext] = {}
    apps: dict[str, Any] = {}
    managers: dict[str, FakeManager] = {}
    for slug, kind, name, peer_id in ORGS:
        ctx[slug] = open_org(kind, name, peer_id, f"http://{slug}.test", tmp / slug)
        apps[slug] = org_app(ctx[slug], idp)
        managers[slug] = FakeManager(peer_id)
    lab = Lab(tmp, idp, ctx, apps, managers)
    _scenario(lab)
    return lab


def _scenario(lab: Lab) -> None:
    g, brp, uwv = lab.ctx["gemeente"], lab.ctx["brp"], lab.ctx["uitkering"]
    # the municipality processes Alice's move, with her data from the BRP (one trace, linked)
    t1 = new_trace_id()
    (rec,) = g.logboek.write(
        Processing(
            "adres wijzigen",
            g.activities["verhuizing"],
            (DataSubject(ALICE),),
            t1,
            external_read_api=brp.read_api,
        )
    )
    brp.logboek.write(
        Processing(
            "persoon verstrekken",
            brp.activities["verstrekking"],
            (DataSubject(ALICE),),
            t1,
            foreign_operation=ForeignOperation(t1, rec.span_id, "urn:nds:fsc:peer:gemeente"),
        )
    )
    # a confidential fraud inquiry about Alice, also fed by the BRP: must never show
    t2 = new_trace_id()
    (rec2,) = uwv.logboek.write(
        Processing(
            "onderzoek",
            uwv.activities["fraudeonderzoek"],
            (DataSubject(ALICE),),
            t2,
            external_read_api=brp.read_api,
        )
    )
    brp.logboek.write(
        Processing(
            "persoon verstrekken",
            brp.activities["verstrekking"],
            (DataSubject(ALICE),),
            t2,
            foreign_operation=ForeignOperation(t2, rec2.span_id, "urn:nds:fsc:peer:uitkering"),
        )
    )
    # Bob's benefit: nothing of it may show for Alice
    uwv.logboek.write(
        Processing("uitkering toekennen", uwv.activities["uitkering"], (DataSubject(BOB),), new_trace_id())
    )
    # a register entry and a contract carrying markup: must be shown escaped
    act = brp.register.get(brp.activities["verstrekking"])
    assert act is not None
    data = act.model_dump(mode="json")
    data["name"] = f"Test {EVIL}"
    data["purpose"] = f"Doel {EVIL}"
    brp.register.publish("escape-test", ProcessingActivity.model_validate(data))
    # contracts: one proposed at the BRP, waiting for its accept; one valid
    m = lab.managers["brp"]
    conn = {
        "type": "GRANT_TYPE_SERVICE_CONNECTION",
        "outway": {"peer_id": ORGS[1][3], "public_key_thumbprint": "abc"},
        "service": {"type": "SERVICE_TYPE_SERVICE", "peer_id": ORGS[0][3], "name": "personen"},
    }
    m.add_contract("$1$1$proposedcontract0001", conn, "proposed", [ORGS[1][3]])
    evil = {**conn, "service": {**conn["service"], "name": EVIL}}
    m.add_contract("$1$1$validcontract000002", evil, "valid", [ORGS[1][3], ORGS[0][3]])
    m.logs.append(
        {
            "transaction_id": "01930000-0000-7000-8000-000000000001",
            "direction": "DIRECTION_INCOMING",
            "grant_hash": "$1$4$gemeente-personen",
            "source": {"type": "SOURCE_TYPE_SOURCE", "outway_peer_id": ORGS[1][3]},
            "destination": {"type": "DESTINATION_TYPE_DESTINATION", "service_peer_id": ORGS[0][3]},
            "service_name": "personen",
            "created_at": int(time.time()),
        }
    )
