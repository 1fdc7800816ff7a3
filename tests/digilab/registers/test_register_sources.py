"""The synthetic registers: real APIs that log before they answer, with the read API beside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from nds.digilab.orgapp import DIGID_ISSUER, create_org_app, open_org
from nds.digilab.registers.data import generate, is_valid_bsn, synthetic_bsns
from nds.logboek.auth import issue_citizen_assertion
from nds.logboek.model import DataSubject
from nds.logboek.query import Query, find


def test_synthetic_data_is_deterministic_test_data() -> None:
    a, b = generate(1200, seed=7), generate(1200, seed=7)
    assert list(a.persons) == list(b.persons) and len(a.persons) == 1200
    assert all(is_valid_bsn(x) and x.startswith("9999") for x in a.persons)
    assert "999993653" in synthetic_bsns(1000)
    assert all(p.to_json()["testgegevens"] is True for p in list(a.persons.values())[:10])
    assert all(p.address_id in a.addresses for p in a.persons.values())


@pytest.fixture
def brp(tmp_path: Path):
    idp = ECKey.generate_key("P-256")
    ctx = open_org("brp", "BRP", "00000001001000000001", "https://127.0.1.2:443", tmp_path / "brp")
    client = TestClient(create_org_app(ctx, idp, n_persons=1000), raise_server_exceptions=False)
    yield ctx, client, idp
    ctx.logboek.close()


TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


def test_brp_logs_one_record_per_person_before_answering(brp) -> None:
    ctx, client, _ = brp
    bsns = ["999993653", "999990019", "999991589"]
    r = client.post(
        "/v1/personen/_zoek",
        json={"burgerservicenummers": bsns},
        headers={"traceparent": TP, "Fsc-Transaction-Id": "01890a5d-ac96-774b-bcce-b302099a8057"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["api-version"] == "1.0.0"
    assert {p["burgerservicenummer"] for p in r.json()["personen"]} == set(bsns)
    # the answer came after the records were durable: they are all there, in one trace
    recs, _ = find(ctx.logboek.engine, ctx.keyring, Query(trace_id="0af7651916cd43dd8448eb211c80319c"))
    assert len(recs) == 3 and len({x.span_id for x in recs}) == 3
    assert all(x.foreign_span_id == "b7ad6b7169203331" for x in recs)
    assert all(x.fsc_transaction_id == "01890a5d-ac96-774b-bcce-b302099a8057" for x in recs)
    assert recs[0].activity_uri == ctx.activities["verstrekking"]


def test_no_bsn_in_urls_and_invalid_input_is_400(brp) -> None:
    _, client, _ = brp
    assert client.get("/v1/personen/999993653").status_code in (404, 405)
    r = client.post("/v1/personen/_zoek", json={"burgerservicenummers": []})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    # every item must be a BSN: not a name, not a control character (which the logboek refuses: 500)
    for bad in (["Jansen"], ["999993653", "99999365\n"], ["9" * 300]):
        r = client.post("/v1/personen/_zoek", json={"burgerservicenummers": bad})
        assert r.status_code == 400, (bad, r.text)
        assert bad[-1] not in r.text  # the rejected value is not echoed
    spec = client.get("/v1/openapi.json")
    assert spec.status_code == 200 and "/personen/_zoek" in spec.json()["paths"]


def test_read_api_and_register_served_beside_the_source(brp) -> None:
    ctx, client, idp = brp
    client.post(
        "/v1/personen/_zoek", json={"burgerservicenummers": ["999993653"]}, headers={"traceparent": TP}
    )
    reg = client.get(ctx.activities["verstrekking"].removeprefix(ctx.public_base))
    assert reg.status_code == 200 and reg.json()["grondslag"]["wettelijkeBepaling"].startswith(
        "Wet basisregistratie"
    )
    token = issue_citizen_assertion(idp, DIGID_ISSUER, ctx.read_api, "999993653")
    r = client.post(
        "/ldv/v1/processing-activities",
        json={"traceId": TP.split("-")[1]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["processingActivities"]] == ["personen verstrekken"]
    assert "999993653" not in json.dumps(r.json())
    # the lookup itself is logged about the citizen
    recs, _ = find(ctx.logboek.engine, ctx.keyring, Query(subject=DataSubject("999993653")))
    assert [x.name for x in recs] == ["personen verstrekken", "inzageverzoek"]
