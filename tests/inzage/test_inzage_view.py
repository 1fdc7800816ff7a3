"""The citizen view over three organisations, each with its own database, keys and read API."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import referencing
from joserfc.jwk import ECKey
from referencing.jsonschema import DRAFT202012

from nds.db import make_engine
from nds.inzage.transport import HttpTransport
from nds.inzage.view import Source, build_view
from nds.logboek.app import READ_API_PATH, create_logboek_app
from nds.logboek.auth import CitizenAssertionAuth, issue_citizen_assertion
from nds.logboek.model import DataSubject, ForeignOperation, Processing, new_span_id, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.register import ProcessingActivity, Register
from nds.logboek.store import Logboek, migrate_logboek

ISS = "https://digid.digilab.example"
ALICE, BOB = "999993653", "999990019"

pytestmark = pytest.mark.integration

# the read extension's request schema (vendored, CC BY 4.0: tests/data/ldv-lezen/README.md)
SPEC_DIR = Path(__file__).parents[1] / "data" / "ldv-lezen"
SPEC_BASE = "https://logius-standaarden.github.io/logboek-extensie-lezen/media/"


def request_schema() -> jsonschema.Draft202012Validator:
    def res(name: str) -> referencing.Resource[Any]:
        contents = json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))
        return referencing.Resource.from_contents(contents, default_specification=DRAFT202012)

    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        [(SPEC_BASE + n, res(n)) for n in ("openapi.json", "attributes.schema.json")]
    )
    return jsonschema.Draft202012Validator(
        {"$ref": SPEC_BASE + "openapi.json#/components/schemas/ProcessingActivityRequest"},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def act(name: str, oin: str, confidential: bool = False) -> ProcessingActivity:
    return ProcessingActivity.model_validate(
        {
            "name": name,
            "purpose": f"Doel: {name}",
            "legal_basis": {
                "ground": "e",
                "provision": f"Wet {name} art. 1",
                "link": "https://wetten.overheid.nl/x",
            },
            "controller_oin": oin,
            "controller_name": name,
            "role": "controller",
            "data_subject_categories": ["burgers"],
            "personal_data_categories": ["naam", "adres"],
            "security_measures": ["BIO"],
            "retention_days": 365,
            "confidential": confidential,
        }
    )


@dataclass
class Org:
    name: str
    oin: str
    host: str
    logboek: Logboek
    register: Register
    app: object

    @property
    def read_api(self) -> str:
        return f"http://{self.host}{READ_API_PATH}"


@pytest.fixture
def federation(tmp_path: Path, db_url: str, pg_cluster=None) -> Iterator[tuple[dict[str, Org], ECKey]]:
    idp = ECKey.generate_key("P-256")
    orgs: dict[str, Org] = {}
    for i, (key, name) in enumerate([("gemeente", "Gemeente"), ("brp", "BRP"), ("siod", "Inspectie")]):
        url = (
            db_url if i == 0 else f"sqlite:///{tmp_path / f'{key}.db'}"
        )  # one org on the parametrised backend
        migrate_logboek(url)
        engine = make_engine(url, immediate=True)
        ring = Keyring.create(tmp_path / f"{key}-keys.json")
        reg = Register(engine, f"http://{key}.test/register")
        lb = Logboek(engine, ring)
        inzage = reg.publish("inzage", act("Inzageverzoek", f"0000000100000000000{i}"))
        app = create_logboek_app(
            logboek=lb,
            keyring=ring,
            register=reg,
            authenticator=CitizenAssertionAuth(ISS, idp, f"http://{key}.test{READ_API_PATH}"),
            entity=f"http://{key}.test",
            inzage_activity_uri=inzage,
        )
        orgs[key] = Org(name, f"0000000100000000000{i}", f"{key}.test", lb, reg, app)
    yield orgs, idp
    for o in orgs.values():
        o.logboek.close()


def _client(orgs: dict[str, Org]) -> httpx.AsyncClient:
    class Dispatch(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.t = {o.host: httpx.ASGITransport(app=o.app) for o in orgs.values()}  # type: ignore[arg-type]

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await self.t[request.url.host].handle_async_request(request)

    return httpx.AsyncClient(transport=Dispatch())


def _scenario(orgs: dict[str, Org]) -> None:
    g, brp, siod = orgs["gemeente"], orgs["brp"], orgs["siod"]
    verhuizing = g.register.publish("verhuizing", act("Verhuizing", g.oin))
    verstrekking = brp.register.publish("verstrekking", act("Verstrekking", brp.oin))
    fraude = siod.register.publish("fraude", act("Fraudeonderzoek", siod.oin, confidential=True))
    # gemeente processes Alice's move and fetched her data from the BRP (one trace, linked)
    t1 = new_trace_id()
    (grec,) = g.logboek.write(
        Processing("adres wijzigen", verhuizing, (DataSubject(ALICE),), t1, external_read_api=brp.read_api)
    )
    brp.logboek.write(
        Processing(
            "persoon verstrekken",
            verstrekking,
            (DataSubject(ALICE),),
            t1,
            foreign_operation=ForeignOperation(t1, grec.span_id, "http://gemeente.test"),
        )
    )
    # a confidential fraud inquiry about Alice also fetched her BRP data
    t2 = new_trace_id()
    (srec,) = siod.logboek.write(
        Processing("onderzoek", fraude, (DataSubject(ALICE),), t2, external_read_api=brp.read_api)
    )
    brp.logboek.write(
        Processing(
            "persoon verstrekken",
            verstrekking,
            (DataSubject(ALICE),),
            t2,
            foreign_operation=ForeignOperation(t2, srec.span_id, "http://siod.test"),
        )
    )
    # Bob's own move
    t3 = new_trace_id()
    g.logboek.write(
        Processing("adres wijzigen", verhuizing, (DataSubject(BOB),), t3, external_read_api=brp.read_api)
    )
    brp.logboek.write(
        Processing(
            "persoon verstrekken",
            verstrekking,
            (DataSubject(BOB),),
            t3,
            foreign_operation=ForeignOperation(t3, new_span_id(), "http://gemeente.test"),
        )
    )


async def _view(orgs: dict[str, Org], idp: ECKey, bsn: str):
    async def assertion(s: Source) -> str:
        return issue_citizen_assertion(idp, ISS, s.read_api, bsn)

    sources = [Source(o.name, o.oin, o.read_api) for o in orgs.values()]
    async with _client(orgs) as client:
        return await build_view(sources, HttpTransport(client, assertion), {"id": bsn, "type": "BSN"})


def test_view_follows_chain_hides_confidential_and_others(federation) -> None:
    orgs, idp = federation
    _scenario(orgs)
    view = asyncio.run(_view(orgs, idp, ALICE))
    assert [(u.organisation, u.activity) for u in view.uses] == [("Gemeente", "Verhuizing")]
    (use,) = view.uses
    assert use.purpose == "Doel: Verhuizing" and use.provision == "Wet Verhuizing art. 1"
    assert "sub e" in use.legal_basis
    # the source of the data, through the chain
    assert [(c.organisation, c.activity) for c in use.obtained_from] == [("BRP", "Verstrekking")]
    # the confidential inquiry, and the BRP's delivery to it, appear nowhere
    flat = str(view.to_json())
    assert "Fraudeonderzoek" not in flat and "Inspectie" not in flat

    def walk(us):
        for u in us:
            yield u
            yield from walk(u.obtained_from)

    assert [u.activity for u in walk(view.uses)].count("Verstrekking") == 1
    assert view.unreachable == []
    # Bob sees his own move, nothing of Alice's
    bob = asyncio.run(_view(orgs, idp, BOB))
    assert len(bob.uses) == 1 and len(bob.uses[0].obtained_from) == 1
    assert bob.uses[0].trace_id != use.trace_id


def test_looking_is_logged_and_shown_as_inzageverzoek(federation) -> None:
    orgs, idp = federation
    _scenario(orgs)
    asyncio.run(_view(orgs, idp, ALICE))
    second = asyncio.run(_view(orgs, idp, ALICE))
    # every organisation logged the first lookup about Alice (its own "inzageverzoek")
    assert {u.organisation for u in second.lookups} == {"Gemeente", "BRP", "Inspectie"}
    assert all(u.activity == "Inzageverzoek" for u in second.lookups)


def test_unreachable_organisation_is_reported(federation) -> None:
    orgs, idp = federation
    _scenario(orgs)

    async def run():
        async def assertion(s: Source) -> str:
            return issue_citizen_assertion(idp, ISS, s.read_api, ALICE)

        sources = [Source(o.name, o.oin, o.read_api) for o in orgs.values()]
        sources.append(Source("Weg", "00000001000000000099", "http://weg.test/ldv/v1"))

        class Partial(httpx.AsyncBaseTransport):
            def __init__(self) -> None:
                self.t = {o.host: httpx.ASGITransport(app=o.app) for o in orgs.values()}  # type: ignore[arg-type]

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.host not in self.t:
                    raise httpx.ConnectError("unreachable", request=request)
                return await self.t[request.url.host].handle_async_request(request)

        async with httpx.AsyncClient(transport=Partial()) as c:
            return await build_view(sources, HttpTransport(c, assertion), {"id": ALICE, "type": "BSN"})

    view = asyncio.run(run())
    assert view.unreachable == ["Weg"] and len(view.uses) == 1


def test_register_that_cannot_be_read_is_reported_not_a_crash(federation) -> None:
    """The BRP answers its read API but its register fails (503): the view still comes back, with
    the BRP named as not reachable instead of an exception for the whole view."""
    orgs, idp = federation
    _scenario(orgs)

    async def run():
        async def assertion(s: Source) -> str:
            return issue_citizen_assertion(idp, ISS, s.read_api, ALICE)

        sources = [Source(o.name, o.oin, o.read_api) for o in orgs.values()]

        class RegisterDown(httpx.AsyncBaseTransport):
            def __init__(self) -> None:
                self.t = {o.host: httpx.ASGITransport(app=o.app) for o in orgs.values()}  # type: ignore[arg-type]

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.host == "brp.test" and request.url.path.startswith("/register"):
                    return httpx.Response(503, request=request)
                return await self.t[request.url.host].handle_async_request(request)

        async with httpx.AsyncClient(transport=RegisterDown()) as c:
            return await build_view(sources, HttpTransport(c, assertion), {"id": ALICE, "type": "BSN"})

    view = asyncio.run(run())
    assert view.unreachable == ["BRP"]
    assert [(u.organisation, u.activity) for u in view.uses] == [("Gemeente", "Verhuizing")]


def test_client_speaks_the_read_extension(federation) -> None:
    """Every read request the citizen view sends is a ``ProcessingActivityRequest`` of the extension
    (dpl.core.* attributes, traceId in its uuid form), never the deprecated release-1.0 body."""
    orgs, idp = federation
    _scenario(orgs)
    seen: list[tuple[httpx.Request, dict[str, Any], httpx.Response]] = []

    class Recording(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.t = {o.host: httpx.ASGITransport(app=o.app) for o in orgs.values()}

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content) if request.method == "POST" else {}
            response = await self.t[request.url.host].handle_async_request(request)
            seen.append((request, body, response))
            return response

    async def run():
        async def assertion(s: Source) -> str:
            return issue_citizen_assertion(idp, ISS, s.read_api, ALICE)

        sources = [Source(o.name, o.oin, o.read_api) for o in orgs.values()]
        async with httpx.AsyncClient(transport=Recording()) as c:
            return await build_view(sources, HttpTransport(c, assertion), {"id": ALICE, "type": "BSN"})

    view = asyncio.run(run())
    assert [(u.organisation, u.activity) for u in view.uses] == [("Gemeente", "Verhuizing")]
    assert re.fullmatch(r"[0-9a-f]{32}", view.uses[0].trace_id)
    validator = request_schema()
    reads = [(req, body, resp) for req, body, resp in seen if req.url.path.endswith("/processing-activities")]
    assert len(reads) == 4  # three organisations, and the BRP once more for the chain
    allowed = {
        "traceId",
        "dpl.core.data_subject_id",
        "dpl.core.data_subject_id_type",
        "pageSize",
        "cursor",
    }
    for _req, body, resp in reads:
        validator.validate(body)
        assert set(body) <= allowed, body
        assert body["dpl.core.data_subject_id"] == ALICE and body["dpl.core.data_subject_id_type"] == "BSN"
        assert resp.status_code == 200 and "deprecation" not in resp.headers
    chain = [body for _, body, _ in reads if "traceId" in body]
    assert len(chain) == 1 and chain[0]["traceId"] == str(uuid.UUID(hex=view.uses[0].trace_id))
    assert all(ALICE not in str(req.url) for req, _, _ in seen)  # no BSN in any URL


def test_an_answer_of_another_shape_is_an_unreachable_organisation(federation) -> None:
    orgs, idp = federation
    _scenario(orgs)

    async def run():
        async def assertion(s: Source) -> str:
            return issue_citizen_assertion(idp, ISS, s.read_api, ALICE)

        sources = [Source(o.name, o.oin, o.read_api) for o in orgs.values()]

        class Odd(httpx.AsyncBaseTransport):
            def __init__(self) -> None:
                self.t = {o.host: httpx.ASGITransport(app=o.app) for o in orgs.values()}

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.host == "siod.test" and request.url.path.endswith("/processing-activities"):
                    return httpx.Response(200, json={"items": [{"name": "x"}]}, request=request)
                return await self.t[request.url.host].handle_async_request(request)

        async with httpx.AsyncClient(transport=Odd()) as c:
            return await build_view(sources, HttpTransport(c, assertion), {"id": ALICE, "type": "BSN"})

    view = asyncio.run(run())
    assert view.unreachable == ["Inspectie"]
    assert [(u.organisation, u.activity) for u in view.uses] == [("Gemeente", "Verhuizing")]
