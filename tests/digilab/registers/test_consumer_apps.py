"""Consumer applications through a stand-in Outway to in-process providers, and the citizen view over them.

The real Outway/Inway path is covered by the DigiLab end-to-end tests; here the stand-in only routes by
grant hash and adds ``Fsc-Transaction-Id`` as the Outway does, so the application logic is tested alone.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from joserfc.jwk import ECKey

from nds.digilab.apps.consumer import ConsumerConfig, Upstream
from nds.digilab.orgapp import DIGID_ISSUER, create_org_app, open_org
from nds.digilab.registers.data import generate
from nds.inzage.transport import HttpTransport
from nds.inzage.view import Source, build_view
from nds.logboek.auth import issue_citizen_assertion
from nds.logboek.model import DataSubject
from nds.logboek.query import Query, find

ALICE = "999993653"


class StandInOutway(httpx.AsyncBaseTransport):
    """Routes by Fsc-Grant-Hash to an in-process provider; adds a transaction id like an Outway."""

    def __init__(
        self, by_grant: dict[str, httpx.ASGITransport], by_host: dict[str, httpx.ASGITransport]
    ) -> None:
        self.by_grant = by_grant
        self.by_host = by_host
        self.seen: list[dict[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        grant = request.headers.get("fsc-grant-hash")
        if grant is None:  # the citizen view going straight to an organisation
            return await self.by_host[request.url.host].handle_async_request(request)
        tx = str(uuid.uuid4())
        request.headers["Fsc-Transaction-Id"] = tx
        self.seen.append({"grant": grant, "traceparent": request.headers.get("traceparent", ""), "tx": tx})
        resp = await self.by_grant[grant].handle_async_request(request)
        resp.headers["Fsc-Transaction-Id"] = tx
        return resp


@pytest.fixture
def lab(tmp_path: Path):
    idp = ECKey.generate_key("P-256")
    brp = open_org("brp", "BRP", "00000001001000000001", "http://brp.test", tmp_path / "brp")
    bag = open_org("bag", "BAG", "00000001001000000002", "http://bag.test", tmp_path / "bag")
    gem = open_org("gemeente", "Gemeente", "00000001001000000003", "http://gemeente.test", tmp_path / "gem")
    uwv = open_org("uitkering", "Uitkering", "00000001001000000004", "http://uwv.test", tmp_path / "uwv")
    brp_t = httpx.ASGITransport(app=create_org_app(brp, idp, 1000))
    bag_t = httpx.ASGITransport(app=create_org_app(bag, idp, 1000))
    ups = {
        "personen": Upstream("$1$3$brp", brp.read_api),
        "adressen": Upstream("$1$3$bag", bag.read_api),
    }
    outway = StandInOutway({"$1$3$brp": brp_t, "$1$3$bag": bag_t}, {"brp.test": brp_t, "bag.test": bag_t})
    client = httpx.AsyncClient(transport=outway)
    gem_app = create_org_app(
        gem, idp, consumer=ConsumerConfig("gemeente", "http://outway.test", ups), client=client
    )
    uwv_app = create_org_app(
        uwv, idp, consumer=ConsumerConfig("uitkering", "http://outway.test", ups), client=client
    )
    outway.by_host |= {
        "gemeente.test": httpx.ASGITransport(app=gem_app),
        "uwv.test": httpx.ASGITransport(app=uwv_app),
    }
    yield {"brp": brp, "bag": bag, "gemeente": gem, "uitkering": uwv, "outway": outway, "idp": idp}
    for o in (brp, bag, gem, uwv):
        o.logboek.close()


async def _post(lab, host: str, path: str, body: dict, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=lab["outway"], base_url=f"http://{host}") as c:
        return await c.post(path, json=body, headers=headers or {})


def test_verhuizing_logs_at_consumer_and_provider_linked_by_trace_and_transaction(lab) -> None:
    person = generate(1000).persons[ALICE]
    addr = next(iter(generate(1000).addresses.values()))
    r = asyncio.run(
        _post(
            lab,
            "gemeente.test",
            "/v1/verhuizingen",
            {"burgerservicenummer": ALICE, "postcode": addr.postcode, "huisnummer": addr.number},
        )
    )
    assert r.status_code == 200, r.text
    assert r.json()["geslachtsnaam"] == person.surname
    gem, brp = lab["gemeente"], lab["brp"]
    (grec,) = find(gem.logboek.engine, gem.keyring, Query(subject=DataSubject(ALICE)))[0]
    brecs = find(brp.logboek.engine, brp.keyring, Query(trace_id=grec.trace_id))[0]
    assert [b.name for b in brecs] == ["personen verstrekken"]
    brec = brecs[0]
    calls = [c for c in lab["outway"].seen if c["grant"] == "$1$3$brp"]
    assert calls[0]["traceparent"].split("-")[1] == grec.trace_id
    assert brec.foreign_span_id == calls[0]["traceparent"].split("-")[2]
    assert grec.fsc_transaction_id == brec.fsc_transaction_id == calls[0]["tx"]
    # the client learns the trace and the transaction ID (``nds digilab traffic`` lists the latter)
    assert r.headers["fsc-transaction-id"] == calls[0]["tx"]
    assert r.headers["traceresponse"].split("-")[1] == grec.trace_id
    assert grec.external_read_api == brp.read_api
    assert grec.activity_uri == gem.activities["verhuizing"]


def test_no_record_no_data(lab) -> None:
    gem = lab["gemeente"]
    with gem.logboek.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE logboek_head"))
    r = asyncio.run(_post(lab, "uwv.test", "/v1/aanvragen", {"burgerservicenummer": ALICE}))
    assert r.status_code == 200  # the benefits agency is fine
    addr = next(iter(generate(1000).addresses.values()))
    r = asyncio.run(
        _post(
            lab,
            "gemeente.test",
            "/v1/verhuizingen",
            {"burgerservicenummer": ALICE, "postcode": addr.postcode, "huisnummer": addr.number},
        )
    )
    assert r.status_code == 500
    assert "geslachtsnaam" not in r.text


@pytest.mark.parametrize("client_traceparent", [False, True])
def test_citizen_view_over_real_apps_hides_confidential_inquiry(lab, client_traceparent: bool) -> None:
    """With or without a traceparent from the application's own client (which becomes the consumer
    record's foreign_operation), the citizen sees the application and what it obtained."""
    tp = {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-00"} if client_traceparent else {}
    asyncio.run(_post(lab, "uwv.test", "/v1/aanvragen", {"burgerservicenummer": ALICE}, tp))
    asyncio.run(_post(lab, "uwv.test", "/v1/fraudeonderzoeken", {"burgerservicenummer": ALICE}))
    orgs = [lab[k] for k in ("brp", "bag", "gemeente", "uitkering")]
    sources = [Source(o.name, o.peer_id, o.read_api) for o in orgs]

    async def view():
        async def assertion(s: Source) -> str:
            return issue_citizen_assertion(lab["idp"], DIGID_ISSUER, s.read_api, ALICE)

        async with httpx.AsyncClient(transport=lab["outway"]) as c:
            return await build_view(sources, HttpTransport(c, assertion), {"id": ALICE, "type": "BSN"})

    v = asyncio.run(view())
    assert [(u.organisation, u.activity) for u in v.uses] == [("Uitkering", "Uitkering toekennen")]
    assert [(c.organisation, c.activity) for c in v.uses[0].obtained_from] == [
        ("BRP", "Verstrekking uit de BRP")
    ]
    assert "Fraudeonderzoek" not in str(v.to_json())


def test_household_items_must_be_bsns(lab) -> None:
    for bad in (["Jansen"], [ALICE, "99999365\n"], [ALICE, "9" * 300]):
        r = asyncio.run(_post(lab, "uwv.test", "/v1/huishoudens", {"burgerservicenummers": bad}))
        assert r.status_code == 400, (bad, r.text)
    assert not [c for c in lab["outway"].seen if c["grant"] == "$1$3$brp"]  # nothing was asked
    r = asyncio.run(_post(lab, "uwv.test", "/v1/huishoudens", {"burgerservicenummers": [ALICE]}))
    assert r.status_code == 200 and r.json()["gevonden"] == 1


def test_shared_client_trace_does_not_reveal_a_confidential_provision(lab) -> None:
    """A client that reuses one traceparent for an ordinary and a confidential processing: following
    the ordinary one's chain must not show the BRP provision made for the confidential one."""
    tp = {"traceparent": f"00-{'ef' * 16}-{'12' * 8}-01"}
    asyncio.run(_post(lab, "uwv.test", "/v1/aanvragen", {"burgerservicenummer": ALICE}, tp))
    asyncio.run(_post(lab, "uwv.test", "/v1/fraudeonderzoeken", {"burgerservicenummer": ALICE}, tp))
    brp = lab["brp"]
    assert len(find(brp.logboek.engine, brp.keyring, Query(trace_id="ef" * 16))[0]) == 2
    sources = [Source(o.name, o.peer_id, o.read_api) for o in (lab["brp"], lab["uitkering"])]

    async def view():
        async def assertion(s: Source) -> str:
            return issue_citizen_assertion(lab["idp"], DIGID_ISSUER, s.read_api, ALICE)

        async with httpx.AsyncClient(transport=lab["outway"]) as c:
            return await build_view(sources, HttpTransport(c, assertion), {"id": ALICE, "type": "BSN"})

    v = asyncio.run(view())
    assert [(u.organisation, u.activity) for u in v.uses] == [("Uitkering", "Uitkering toekennen")]
    assert len(v.uses[0].obtained_from) == 1


def test_data_obtained_then_a_failed_step_is_still_logged(lab) -> None:
    """The BRP answered (and logged its provision), then the BAG is unreachable: the municipality
    answers 502 but still writes its own record (status ERROR), so the citizen can see the provision."""
    outway = lab["outway"]
    bag = outway.by_grant.pop("$1$3$bag")
    addr = next(iter(generate(1000).addresses.values()))
    try:

        class Down(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                raise httpx.ConnectError("down", request=request)

        outway.by_grant["$1$3$bag"] = Down()  # type: ignore[assignment]
        body = {"burgerservicenummer": ALICE, "postcode": addr.postcode, "huisnummer": addr.number}
        r = asyncio.run(_post(lab, "gemeente.test", "/v1/verhuizingen", body))
    finally:
        outway.by_grant["$1$3$bag"] = bag
    assert r.status_code == 502
    gem, brp = lab["gemeente"], lab["brp"]
    (grec,) = find(gem.logboek.engine, gem.keyring, Query(subject=DataSubject(ALICE)))[0]
    assert grec.status_code == 2 and grec.activity_uri == gem.activities["verhuizing"]
    (brec,) = find(brp.logboek.engine, brp.keyring, Query(trace_id=grec.trace_id))[0]
    assert brec.fsc_transaction_id == grec.fsc_transaction_id
