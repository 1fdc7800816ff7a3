"""One DigiLab organisation's application process: its logboek (with read API and register) and,
for a register, its source API. Run as ``python -m nds.digilab.orgapp``.

Layout of the process's HTTP paths (all behind the organisation's Inway):
- ``/v1/...``: the source API (BRP/BAG/HR-like), with ``/v1/openapi.json``;
- ``/ldv/v1/processing-activities``: the LDV read API;
- ``/register/verwerkingsactiviteiten/...``: the public register of processing activities.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.routing import Mount

from nds.db import make_engine
from nds.digilab.apps.consumer import ConsumerConfig, create_consumer_api
from nds.digilab.registers import catalog
from nds.digilab.registers.data import generate
from nds.digilab.registers.source_app import create_source_api, is_peer_entity
from nds.logboek.app import READ_API_PATH, create_logboek_app
from nds.logboek.auth import CitizenAssertionAuth
from nds.logboek.pseudonym import Keyring
from nds.logboek.register import ProcessingActivity, Register
from nds.logboek.store import Logboek, migrate_logboek

REGISTER_KINDS = ("brp", "bag", "hr")
DIGID_ISSUER = "https://digid.digilab.invalid"


@dataclass
class OrgContext:
    kind: str
    name: str
    peer_id: str
    public_base: str  # e.g. https://127.0.1.3:443 — where others reach this organisation (via FSC)
    logboek: Logboek
    keyring: Keyring
    register: Register
    activities: dict[str, str]  # slug -> version URI

    @property
    def read_api(self) -> str:
        return self.public_base + READ_API_PATH


def open_org(
    kind: str, name: str, peer_id: str, public_base: str, state: Path, db_url: str | None = None
) -> OrgContext:
    state.mkdir(parents=True, exist_ok=True)
    url = db_url or f"sqlite:///{state / 'logboek.db'}"
    migrate_logboek(url)
    engine = make_engine(url, immediate=True)
    keyring = Keyring.load_or_create(state / "pseudonym-keys.json")
    register = Register(engine, public_base.rstrip("/") + "/register")
    acts = {
        slug: register.publish(slug, ProcessingActivity.model_validate(a))
        for slug, a in catalog.activities(kind, peer_id, name).items()
    }
    return OrgContext(
        kind, name, peer_id, public_base.rstrip("/"), Logboek(engine, keyring), keyring, register, acts
    )


def load_digid_key(path: Path) -> ECKey:
    return ECKey.import_key(json.loads(path.read_text(encoding="utf-8")))


CONSUMER_KINDS = ("gemeente", "uitkering", "saas")


def create_org_app(
    ctx: OrgContext,
    digid_public: ECKey,
    n_persons: int = 5000,
    consumer: ConsumerConfig | None = None,
    client: httpx.AsyncClient | None = None,
) -> Starlette:
    """The organisation's process: source API or consumer application at ``/v1``, logboek beside it."""
    logboek_app = create_logboek_app(
        logboek=ctx.logboek,
        keyring=ctx.keyring,
        register=ctx.register,
        authenticator=CitizenAssertionAuth(DIGID_ISSUER, digid_public, ctx.read_api),
        entity=f"urn:nds:fsc:peer:{ctx.peer_id}",
        inzage_activity_uri=ctx.activities["inzage"],
        chain_entity=is_peer_entity,
    )
    routes = []
    if ctx.kind in REGISTER_KINDS:
        api = create_source_api(
            ctx.kind, generate(n_persons), ctx.logboek, ctx.activities.get("verstrekking")
        )
        routes.append(Mount("/v1", app=api))
    elif ctx.kind in CONSUMER_KINDS:
        if consumer is None:
            raise ValueError(f"a {ctx.kind} application needs its consumer configuration")
        http = client or httpx.AsyncClient()
        routes.append(Mount("/v1", app=create_consumer_api(consumer, ctx.logboek, ctx.activities, http)))
    routes.append(Mount("/", app=logboek_app))  # /ldv/v1/... and /register/...
    return Starlette(routes=routes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--peer-id", required=True)
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--public-base", required=True)
    ap.add_argument("--state", required=True, type=Path)
    ap.add_argument("--digid-key", required=True, type=Path, help="public JWK of the simulated DigiD")
    ap.add_argument("--persons", type=int, default=5000)
    ap.add_argument("--consumer-config", type=Path, help="JSON: outway URL, grant hashes, read APIs")
    ap.add_argument("--db-url", help="the logboek's database (default: SQLite in --state)")
    args = ap.parse_args()
    import uvicorn

    ctx = open_org(args.kind, args.name, args.peer_id, args.public_base, args.state, args.db_url)
    consumer = ConsumerConfig.load(args.consumer_config) if args.consumer_config else None
    app = create_org_app(ctx, load_digid_key(args.digid_key), args.persons, consumer)
    host, _, port = args.listen.rpartition(":")
    uvicorn.run(app, host=host, port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
