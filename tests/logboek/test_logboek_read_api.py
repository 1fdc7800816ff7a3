from __future__ import annotations

import time
from datetime import date

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.engine import Engine

from nds.logboek.auth import AuthError, CitizenAssertionAuth, issue_citizen_assertion
from nds.logboek.model import DataSubject, ForeignOperation, Processing, new_span_id, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.read_api import create_read_api
from nds.logboek.register import ProcessingActivity, Register
from nds.logboek.store import Logboek

AUD = "https://brp.digilab.example/ldv/v1"
ISS = "https://digid.digilab.example"
ALICE, BOB = "999993653", "999990019"


def _act(name: str, confidential: bool = False, until: date | None = None) -> ProcessingActivity:
    return ProcessingActivity.model_validate(
        {
            "name": name,
            "purpose": f"Doel van {name}",
            "legal_basis": {
                "ground": "e",
                "provision": "Wet BRP art. 3.3",
                "link": "https://wetten.overheid.nl/BWBR0033715",
            },
            "controller_oin": "00000001001234567000",
            "controller_name": "BRP",
            "role": "controller",
            "data_subject_categories": ["ingezetenen"],
            "personal_data_categories": ["naam", "adres"],
            "security_measures": ["BIO"],
            "retention_days": 365,
            "confidential": confidential,
            "confidential_until": until.isoformat() if until else None,
        }
    )


@pytest.fixture
def setup(engine: Engine, logboek: Logboek, keyring: Keyring, register: Register):
    idp = ECKey.generate_key("P-256")
    uris = {
        "verstrekking": register.publish("verstrekking", _act("Verstrekking")),
        "fraude": register.publish("fraude", _act("Fraudeonderzoek", confidential=True)),
        "oud-geheim": register.publish("oud-geheim", _act("Afgerond onderzoek", True, date(2020, 1, 1))),
        "inzage": register.publish("inzage", _act("Inzageverzoek")),
    }
    api = create_read_api(
        engine=engine,
        logboek=logboek,
        keyring=keyring,
        register=register,
        authenticator=CitizenAssertionAuth(ISS, idp, AUD),
        entity="https://brp.example",
        inzage_activity_uri=uris["inzage"],
    )
    client = TestClient(api, raise_server_exceptions=False)

    def headers(bsn: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_citizen_assertion(idp, ISS, AUD, bsn)}

    return client, headers, uris


def test_no_filter_is_400_problem_json(setup) -> None:
    client, headers, _ = setup
    r = client.post("/processing-activities", json={}, headers=headers(ALICE))
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert "traceId" in r.json()["detail"]
    assert r.headers["api-version"] == "1.0.0"


def test_unauthenticated_and_foreign_subject_refused(setup) -> None:
    client, headers, _ = setup
    body = {"dataSubject": {"id": ALICE}}
    assert client.post("/processing-activities", json=body).status_code == 401
    assert (
        client.post(
            "/processing-activities", json=body, headers={"Authorization": "Bearer nonsense"}
        ).status_code
        == 401
    )
    r = client.post("/processing-activities", json=body, headers=headers(BOB))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_citizen_sees_own_records_not_confidential_and_query_is_logged(
    setup, logboek: Logboek, engine, keyring: Keyring
) -> None:
    client, headers, uris = setup
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(BOB),), new_trace_id()))
    logboek.write(Processing("fraude", uris["fraude"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("oud", uris["oud-geheim"], (DataSubject(ALICE),), new_trace_id()))
    r = client.post("/processing-activities", json={"dataSubject": {"id": ALICE}}, headers=headers(ALICE))
    assert r.status_code == 200, r.text
    names = [p["name"] for p in r.json()["processingActivities"]]
    assert names == ["verstrekking", "oud"]  # not Bob's, not the ongoing confidential inquiry
    assert ALICE not in r.text  # only pseudonyms leave the logboek
    # the query itself became an "inzageverzoek" record about Alice
    r2 = client.post(
        "/processing-activities", json={"processingActivityId": uris["inzage"]}, headers=headers(ALICE)
    )
    assert [p["name"] for p in r2.json()["processingActivities"]] == ["inzageverzoek"]


def test_record_for_foreign_processing_needs_the_trace(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    trace = new_trace_id()
    logboek.write(
        Processing(
            "verstrekking",
            uris["verstrekking"],
            (DataSubject(ALICE),),
            trace,
            foreign_operation=ForeignOperation(trace, new_span_id(), "https://gemeente.example"),
        )
    )
    by_subject = client.post(
        "/processing-activities", json={"dataSubject": {"id": ALICE}}, headers=headers(ALICE)
    )
    assert [p["name"] for p in by_subject.json()["processingActivities"]] == []
    by_trace = client.post("/processing-activities", json={"traceId": trace}, headers=headers(ALICE))
    acts = by_trace.json()["processingActivities"]
    assert [p["name"] for p in acts] == ["verstrekking"]
    assert acts[0]["foreignOperation"]["entity"] == "https://gemeente.example"


def test_pagination(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    for _ in range(5):
        logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    got, cursor = 0, None
    for _ in range(10):
        body = {"processingActivityId": uris["verstrekking"], "pageSize": 2}
        if cursor:
            body["cursor"] = cursor
        page = client.post("/processing-activities", json=body, headers=headers(ALICE)).json()
        got += len(page["processingActivities"])
        cursor = page["next"]
        if cursor is None:
            break
    assert got == 5
    bad = client.post("/processing-activities", json={"traceId": "XYZ"}, headers=headers(ALICE))
    assert bad.status_code == 400


def test_cursor_and_times_beyond_64_bits_are_400_not_500(setup) -> None:
    client, headers, uris = setup
    body = {"processingActivityId": uris["inzage"], "cursor": "9999999999999999999"}
    r = client.post("/processing-activities", json=body, headers=headers(ALICE))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    for field in ("startTime", "endTime"):
        huge = {"processingActivityId": uris["inzage"], field: 10**20}
        r = client.post("/processing-activities", json=huge, headers=headers(ALICE))
        assert r.status_code == 400, (field, r.text)
    top = {"processingActivityId": uris["inzage"], "cursor": str(2**63 - 1)}
    r = client.post("/processing-activities", json=top, headers=headers(ALICE))
    assert r.status_code == 200 and r.json() == {"processingActivities": [], "next": None}


def test_pages_and_cursors_do_not_betray_hidden_records(setup, logboek: Logboek) -> None:
    """Confidential records (and chain records without their trace) are left out before paging: an
    empty page with a "next", or a cursor pointing past hidden records, would reveal them."""
    client, headers, uris = setup
    for _ in range(3):
        logboek.write(Processing("fraude", uris["fraude"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    for _ in range(3):
        logboek.write(Processing("fraude", uris["fraude"], (DataSubject(ALICE),), new_trace_id()))
    for body in ({"dataSubject": {"id": ALICE}}, {"processingActivityId": uris["fraude"]}):
        r = client.post("/processing-activities", json={**body, "pageSize": 1}, headers=headers(ALICE))
        page = r.json()
        if "dataSubject" in body:
            assert [p["name"] for p in page["processingActivities"]] == ["verstrekking"]
        else:
            assert page["processingActivities"] == []
        assert page["next"] is None, page


def test_assertion_must_name_an_ascii_bsn() -> None:
    idp = ECKey.generate_key("P-256")
    auth = CitizenAssertionAuth(ISS, idp, AUD)
    now = int(time.time())
    for claims in (
        {"sub": "١٢٣٤٥٦٧٨٩"},
        {"sub": ALICE, "sub_type": "KVK"},
        {"sub": ALICE, "sub_type": ["BSN"]},
    ):
        token = jwt.encode(
            {"alg": "ES256"}, {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, **claims}, idp
        )
        with pytest.raises(AuthError):
            auth.authenticate({"authorization": "Bearer " + token})
    ok = issue_citizen_assertion(idp, ISS, AUD, ALICE)
    assert auth.authenticate({"authorization": "Bearer " + ok}).subject == DataSubject(ALICE)
