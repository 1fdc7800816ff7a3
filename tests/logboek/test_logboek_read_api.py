"""The LDV read API against the read extension (logboek-extensie-lezen, OAS 1.1.0).

Responses and requests are validated against the extension's own schemas (vendored in
tests/data/ldv-lezen, CC BY 4.0; see its README)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import referencing
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from openapi_spec_validator import validate
from referencing.jsonschema import DRAFT202012
from sqlalchemy.engine import Engine

from nds.logboek.auth import AuthError, CitizenAssertionAuth, issue_citizen_assertion
from nds.logboek.model import DataSubject, ForeignOperation, Processing, new_span_id, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.read_api import create_read_api, trace_id_from_api, trace_id_to_api
from nds.logboek.register import ProcessingActivity, Register
from nds.logboek.store import Logboek
from nds.standards.checks.api.lint import lint

AUD = "https://brp.digilab.example/ldv/v1"
ISS = "https://digid.digilab.example"
ALICE, BOB = "999993653", "999990019"
PA = "/processing-activities"
SUBJ, SUBJ_TYPE = "dpl.core.data_subject_id", "dpl.core.data_subject_id_type"
ACT, PROCESSOR = "dpl.core.processing_activity_id", "dpl.core.foreign_operation.processor"

# --- the extension's schemas -------------------------------------------------------------------
SPEC_DIR = Path(__file__).parents[1] / "data" / "ldv-lezen"
BASE = "https://logius-standaarden.github.io/logboek-extensie-lezen/media/"
PROBLEM_URL = "https://schemas.don.projects.digilab.network/api-design-rules/problemjson.json"


def _registry() -> referencing.Registry[Any]:
    def res(name: str) -> referencing.Resource[Any]:
        contents = json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))
        return referencing.Resource.from_contents(contents, default_specification=DRAFT202012)

    return referencing.Registry().with_resources(
        [
            (BASE + "openapi.json", res("openapi.json")),
            (BASE + "attributes.schema.json", res("attributes.schema.json")),
            (PROBLEM_URL, res("ProblemJson.schema.json")),
        ]
    )


REGISTRY = _registry()


def spec(component: str) -> jsonschema.Draft202012Validator:
    """A validator for ``components.schemas.<component>`` of the extension's OAS (formats checked)."""
    return jsonschema.Draft202012Validator(
        {"$ref": f"{BASE}openapi.json#/components/schemas/{component}"},
        registry=REGISTRY,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def check_list(body: Any) -> None:
    spec("ListProcessingActivities").validate(body)


def check_problem(body: Any) -> None:
    spec("Nlgovproblem").validate(body)


# --- fixtures ----------------------------------------------------------------------------------
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


class BlockingRegister(Register):
    """A register whose lookup of one activity waits on a lock: a slow query on demand."""

    def __init__(self, engine: Engine, base_uri: str) -> None:
        super().__init__(engine, base_uri)
        self.slow_uri: str | None = None
        self.entered = threading.Event()
        self.release = threading.Event()

    def get(self, uri: str) -> ProcessingActivity | None:
        if uri == self.slow_uri:
            self.entered.set()
            assert self.release.wait(30), "the test never released the slow query"
        return super().get(uri)


@pytest.fixture
def idp() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture
def uris(register: Register) -> dict[str, str]:
    return {
        "verstrekking": register.publish("verstrekking", _act("Verstrekking")),
        "fraude": register.publish("fraude", _act("Fraudeonderzoek", confidential=True)),
        "oud-geheim": register.publish("oud-geheim", _act("Afgerond onderzoek", True, date(2020, 1, 1))),
        "inzage": register.publish("inzage", _act("Inzageverzoek")),
        "traag": register.publish("traag", _act("Traag")),
    }


def make_api(engine: Engine, logboek: Logboek, keyring: Keyring, register: Register, idp: ECKey, uris, **kw):
    return create_read_api(
        engine=engine,
        logboek=logboek,
        keyring=keyring,
        register=register,
        authenticator=CitizenAssertionAuth(ISS, idp, AUD),
        entity="https://brp.example",
        inzage_activity_uri=uris["inzage"],
        **kw,
    )


@pytest.fixture
def setup(engine: Engine, logboek: Logboek, keyring: Keyring, register: Register, idp: ECKey, uris):
    client = TestClient(
        make_api(engine, logboek, keyring, register, idp, uris), raise_server_exceptions=False
    )

    def headers(bsn: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_citizen_assertion(idp, ISS, AUD, bsn)}

    return client, headers, uris


def me(bsn: str = ALICE) -> dict[str, str]:
    return {SUBJ: bsn, SUBJ_TYPE: "BSN"}


def names(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    check_list(r.json())
    return [p["name"] for p in r.json()["processingActivities"]]


# --- the vendored schema itself ----------------------------------------------------------------
@pytest.mark.unit
def test_the_extension_schema_is_strict_enough_to_catch_mistakes() -> None:
    """Guards the validator used below: it must reject what the OAS forbids."""
    ok = {
        "traceId": "ef4e77b9-b03b-585f-b613-5fcf8d8555fb",
        "spanId": "beb0291b5162d850",
        "status": "Ok",
        "name": "x",
        "startTime": 1,
        "endTime": 2,
    }
    check_list({"processingActivities": [ok]})
    for bad in (
        {**ok, "status": "OK"},
        {**ok, "spanId": "xyz"},
        {**ok, "traceId": "ef4e77b9b03b585fb6135fcf8d8555fb"},  # not the uuid format
        {k: v for k, v in ok.items() if k != "name"},
        {**ok, "attributes": {ACT: 5}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check_list({"processingActivities": [bad]})
    with pytest.raises(jsonschema.ValidationError):
        check_list({"items": []})
    with pytest.raises(jsonschema.ValidationError):
        spec("ProcessingActivityRequest").validate({})  # minProperties 1
    spec("ProcessingActivityRequest").validate({**me(), "pageSize": 1000})
    with pytest.raises(jsonschema.ValidationError):
        check_problem({"title": "x"})


@pytest.mark.unit
def test_trace_id_forms() -> None:
    t = "0af7651916cd43dd8448eb211c80319c"
    assert trace_id_to_api(t) == "0af76519-16cd-43dd-8448-eb211c80319c"
    assert trace_id_from_api(trace_id_to_api(t)) == t
    assert trace_id_from_api(t.upper()) == t


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.integration
def test_no_filter_is_400_problem_json(setup) -> None:
    client, headers, _ = setup
    for body in ({}, {"startTime": 0}, {"endTime": 1, "pageSize": 5}, {PROCESSOR: "https://x.example"}):
        r = client.post(PA, json=body, headers=headers(ALICE))
        assert r.status_code == 400, body
        assert r.headers["content-type"] == "application/problem+json"
        check_problem(r.json())
        assert "traceId" in r.json()["detail"] and SUBJ in r.json()["detail"]
        assert r.headers["api-version"] == "1.1.0"


@pytest.mark.integration
def test_invalid_input_is_400(setup) -> None:
    client, headers, uris = setup
    for body in (
        {"traceId": "XYZ"},
        {SUBJ_TYPE: "BSN"},  # a type without an id
        {ACT: "not a uri"},
        {**me(), "startTime": 10, "endTime": 5},
        {**me(), "dpl.core.dataSubjectId": ALICE},  # unknown field: refused, not silently ignored
        {**me(), "processingActivityId": uris["inzage"]},  # two shapes mixed
        {**me(), "pageSize": 0},
    ):
        r = client.post(PA, json=body, headers=headers(ALICE))
        assert r.status_code == 400, (body, r.text)
        check_problem(r.json())
        assert ALICE not in r.text  # the BSN is not echoed


@pytest.mark.integration
def test_unauthenticated_and_foreign_subject_refused(setup) -> None:
    client, headers, _ = setup
    r = client.post(PA, json=me())
    assert r.status_code == 401
    check_problem(r.json())
    assert client.post(PA, json=me(), headers={"Authorization": "Bearer nonsense"}).status_code == 401
    for body in (me(BOB), {SUBJ: ALICE, SUBJ_TYPE: "KVK"}, {"dataSubject": {"id": BOB}}):
        r = client.post(PA, json=body, headers=headers(ALICE))
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", body
        assert BOB not in r.text and ALICE not in r.text


@pytest.mark.integration
def test_cursor_and_times_beyond_64_bits_are_400_not_500(setup) -> None:
    client, headers, uris = setup
    r = client.post(PA, json={ACT: uris["inzage"], "cursor": "9999999999999999999"}, headers=headers(ALICE))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    for field in ("startTime", "endTime"):
        r = client.post(PA, json={ACT: uris["inzage"], field: 10**20}, headers=headers(ALICE))
        assert r.status_code == 400, (field, r.text)
    r = client.post(PA, json={ACT: uris["inzage"], "cursor": str(2**63 - 1)}, headers=headers(ALICE))
    assert r.status_code == 200 and r.json() == {"processingActivities": [], "next": None}


# --- what a citizen sees -----------------------------------------------------------------------
@pytest.mark.integration
def test_citizen_sees_own_records_not_confidential_and_query_is_logged(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(BOB),), new_trace_id()))
    logboek.write(Processing("fraude", uris["fraude"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("oud", uris["oud-geheim"], (DataSubject(ALICE),), new_trace_id()))
    r = client.post(PA, json=me(), headers=headers(ALICE))
    assert names(r) == ["verstrekking", "oud"]  # not Bob's, not the ongoing confidential inquiry
    assert "deprecation" not in r.headers
    assert ALICE not in r.text  # only pseudonyms leave the logboek
    rec = r.json()["processingActivities"][0]
    assert rec["attributes"][ACT] == uris["verstrekking"]
    assert rec["attributes"][SUBJ_TYPE] == "BSN" and len(rec["attributes"][SUBJ]) >= 32
    # the query itself became an "inzageverzoek" record about Alice
    r2 = client.post(PA, json={ACT: uris["inzage"]}, headers=headers(ALICE))
    assert names(r2) == ["inzageverzoek"]
    (inzage,) = r2.json()["processingActivities"]
    assert inzage["resource"] == {
        "attributes": {"component": "ldv-read-api", "entity": "https://brp.example"}
    }


@pytest.mark.integration
def test_lookup_record_names_the_fsc_caller_and_stays_visible_to_the_citizen(setup) -> None:
    """The inzageverzoek continues the caller's trace; its foreign operation names the peer from the
    FSC access token the Inway verified, never a free header; and although it is made for another
    organisation's processing, the citizen still sees their own lookup."""
    client, headers, _ = setup
    peer = "00000001001234567000"
    fsc_token = jwt.encode({"alg": "ES256"}, {"sub": peer, "iss": peer}, ECKey.generate_key("P-256"))
    t1, t2 = new_trace_id(), new_trace_id()
    spoof = {"Fsc-Peer-Id": "urn:evil"}
    h1 = {
        **headers(ALICE),
        "traceparent": f"00-{t1}-{new_span_id()}-00",
        "Fsc-Authorization": fsc_token,
        **spoof,
    }
    h2 = {**headers(ALICE), "traceparent": f"00-{t2}-{new_span_id()}-01", **spoof}
    assert client.post(PA, json=me(), headers=h1).status_code == 200
    assert client.post(PA, json=me(), headers=h2).status_code == 200
    r = client.post(PA, json=me(), headers=headers(ALICE))
    assert names(r) == ["inzageverzoek", "inzageverzoek"]  # default chain_entity: every entity is a chain
    first, second = r.json()["processingActivities"]
    assert trace_id_from_api(first["traceId"]) == t1 and trace_id_from_api(second["traceId"]) == t2
    assert first["attributes"][PROCESSOR] == f"urn:nds:fsc:peer:{peer}"
    assert second["attributes"][PROCESSOR] == "urn:nds:fsc:peer:onbekend"
    assert "evil" not in r.text


@pytest.mark.integration
def test_each_filter(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    t1, t2 = new_trace_id(), new_trace_id()
    base = 1_700_000_000_000

    def write(name: str, act: str, trace: str, start: int, end: int, **kw: Any) -> None:
        logboek.write(
            Processing(name, uris[act], (DataSubject(ALICE),), trace, start_time=start, end_time=end, **kw)
        )

    write("a", "verstrekking", t1, base, base + 10)
    write("b", "verstrekking", t2, base + 100, base + 110)
    write("c", "oud-geheim", t1, base + 200, base + 210)
    own_client = ForeignOperation(new_trace_id(), new_span_id(), "https://portaal.example")
    write("d", "oud-geheim", t2, base + 300, base + 310, foreign_operation=own_client)
    h = headers(ALICE)

    def q(**body: Any) -> list[str]:  # without the inzageverzoeken these queries leave behind
        return [n for n in names(client.post(PA, json=body, headers=h)) if n != "inzageverzoek"]

    assert q(traceId=t1) == ["a", "c"]
    assert q(traceId=trace_id_to_api(t1)) == ["a", "c"]  # the OAS's uuid form
    assert q(traceId=t1.upper()) == ["a", "c"]
    assert q(**{ACT: uris["oud-geheim"], "traceId": t2}) == ["d"]
    assert q(**{ACT: uris["verstrekking"]}) == ["a", "b"]
    assert q(**me()) == ["a", "b", "c"]  # d is a chain record: only through its trace
    assert q(**me(), startTime=base + 100) == ["b", "c"]  # started at or after
    assert q(**me(), endTime=base + 110) == ["a", "b"]  # ended at or before
    assert q(**me(), startTime=base + 5, endTime=base + 205) == ["b"]  # a and c straddle the bounds
    assert q(traceId=t2, **{PROCESSOR: "https://portaal.example"}) == ["d"]
    assert q(traceId=t2, **{PROCESSOR: "https://elders.example"}) == []
    rec = client.post(PA, json={"traceId": t2}, headers=h).json()["processingActivities"][1]
    assert rec["traceId"] == trace_id_to_api(t2)
    assert rec["attributes"][PROCESSOR] == "https://portaal.example"
    assert rec["foreignOperation"] == {
        "traceId": trace_id_to_api(own_client.trace_id),
        "spanId": own_client.span_id,
        "entity": "https://portaal.example",
    }


@pytest.mark.integration
def test_trace_and_activity_queries_are_bound_to_the_citizen(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    trace = new_trace_id()
    logboek.write(Processing("samen", uris["verstrekking"], (DataSubject(ALICE), DataSubject(BOB)), trace))
    for body in ({"traceId": trace}, {ACT: uris["verstrekking"]}):
        alice = client.post(PA, json=body, headers=headers(ALICE)).json()["processingActivities"]
        bob = client.post(PA, json=body, headers=headers(BOB)).json()["processingActivities"]
        assert len(alice) == len(bob) == 1
        assert alice[0]["attributes"][SUBJ] != bob[0]["attributes"][SUBJ]
        assert alice[0]["spanId"] != bob[0]["spanId"]


@pytest.mark.integration
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
    assert names(client.post(PA, json=me(), headers=headers(ALICE))) == []
    by_trace = client.post(PA, json={"traceId": trace, **me()}, headers=headers(ALICE))
    assert names(by_trace) == ["verstrekking"]
    assert by_trace.json()["processingActivities"][0]["attributes"][PROCESSOR] == "https://gemeente.example"


@pytest.mark.integration
def test_pagination(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    for i in range(5):
        logboek.write(Processing(f"v{i}", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    got: list[str] = []
    cursor = None
    for _ in range(10):
        body: dict[str, Any] = {ACT: uris["verstrekking"], "pageSize": 2}
        if cursor:
            body["cursor"] = cursor
        r = client.post(PA, json=body, headers=headers(ALICE))
        got += names(r)
        assert len(r.json()["processingActivities"]) <= 2
        cursor = r.json()["next"]
        if cursor is None:
            break
    assert got == [f"v{i}" for i in range(5)]  # every record once, in write order


@pytest.mark.integration
def test_pages_and_cursors_do_not_betray_hidden_records(setup, logboek: Logboek) -> None:
    """Confidential records (and chain records without their trace) are left out before paging: an
    empty page with a "next", or a cursor pointing past hidden records, would reveal them."""
    client, headers, uris = setup
    for _ in range(3):
        logboek.write(Processing("fraude", uris["fraude"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    for _ in range(3):
        logboek.write(Processing("fraude", uris["fraude"], (DataSubject(ALICE),), new_trace_id()))
    for body, want in ((me(), ["verstrekking"]), ({ACT: uris["fraude"]}, [])):
        r = client.post(PA, json={**body, "pageSize": 1}, headers=headers(ALICE))
        assert names(r) == want
        assert r.json()["next"] is None, r.json()


@pytest.mark.integration
def test_release_1_0_body_still_accepted_with_deprecation_header(setup, logboek: Logboek) -> None:
    client, headers, uris = setup
    logboek.write(Processing("verstrekking", uris["verstrekking"], (DataSubject(ALICE),), new_trace_id()))
    old = client.post(PA, json={"dataSubject": {"id": ALICE}}, headers=headers(ALICE))
    assert names(old) == ["verstrekking"]
    assert old.headers["deprecation"] == "@1795824000"  # RFC 9745 structured date
    old2 = client.post(PA, json={"processingActivityId": uris["verstrekking"]}, headers=headers(ALICE))
    assert names(old2) == ["verstrekking"] and "deprecation" in old2.headers
    new = client.post(
        PA, json={"traceId": old.json()["processingActivities"][0]["traceId"]}, headers=headers(ALICE)
    )
    assert names(new) == ["verstrekking"] and "deprecation" not in new.headers


@pytest.mark.integration
def test_openapi_document_names_the_extension_fields(setup) -> None:
    client, _, _ = setup
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/processing-activities"]["post"]
    assert op["operationId"] == "listProcessingActivitiesPost"
    req = doc["components"]["schemas"]["ReadRequest"]["properties"]
    assert {"traceId", ACT, SUBJ, SUBJ_TYPE, PROCESSOR, "startTime", "endTime"} <= set(req)
    assert req["dataSubject"].get("deprecated") is True
    validate(doc)  # a valid OpenAPI 3.0 document
    for rules in ("2.0.2", "2.1.0"):  # and it passes the API Design Rules linter
        assert [f for f in lint(doc, rules) if f.normative] == []


# --- database work off the event loop ----------------------------------------------------------
@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a loopback socket, in a thread; always stopped."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="error", lifespan="off", loop="asyncio", timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    try:
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def slow(engine: Engine, logboek: Logboek, keyring: Keyring, idp: ECKey, uris):
    reg = BlockingRegister(engine, "https://gemeente.digilab.example/register")
    reg.slow_uri = uris["traag"]
    logboek.write(Processing("traag", uris["traag"], (DataSubject(ALICE),), new_trace_id()))
    logboek.write(Processing("vlot", uris["verstrekking"], (DataSubject(BOB),), new_trace_id()))

    def headers(bsn: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_citizen_assertion(idp, ISS, AUD, bsn)}

    yield reg, headers
    reg.release.set()  # never leave a pool thread waiting, even when the test failed


@pytest.mark.integration
def test_a_slow_query_does_not_block_other_requests(slow, engine, logboek, keyring, idp, uris) -> None:
    reg, headers = slow
    app = make_api(engine, logboek, keyring, reg, idp, uris)
    with (
        serve(app) as base,
        httpx.Client(base_url=base, timeout=20) as http,
        httpx.Client(base_url=base, timeout=20) as other,  # its own client in the background thread
        ThreadPoolExecutor(1) as bg,
    ):
        blocked = bg.submit(other.post, PA, json={ACT: uris["traag"]}, headers=headers(ALICE))
        assert reg.entered.wait(10), "the slow query never started"
        # the slow query holds a pool thread, blocked on the lock; the server still answers others
        r = http.post(PA, json=me(BOB), headers=headers(BOB))
        assert names(r) == ["vlot"]
        assert not blocked.done()  # still waiting on the lock: the answer above did not wait for it
        reg.release.set()
        slow_answer = blocked.result(timeout=20)
        assert names(slow_answer) == ["traag"]


@pytest.mark.integration
def test_queries_beyond_the_limit_get_503(slow, engine, logboek, keyring, idp, uris) -> None:
    reg, headers = slow
    app = make_api(engine, logboek, keyring, reg, idp, uris, query_threads=1, max_waiting=1)
    with (
        serve(app) as base,
        httpx.Client(base_url=base, timeout=20) as http,
        httpx.Client(base_url=base, timeout=20) as other,  # its own client in the background thread
        ThreadPoolExecutor(1) as bg,
    ):
        blocked = bg.submit(other.post, PA, json={ACT: uris["traag"]}, headers=headers(ALICE))
        assert reg.entered.wait(10)
        r = http.post(PA, json=me(BOB), headers=headers(BOB))
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        check_problem(r.json())
        # requests that need no query are still served
        assert http.post(PA, json={}, headers=headers(BOB)).status_code == 400
        reg.release.set()
        assert names(blocked.result(timeout=20)) == ["traag"]
        assert names(http.post(PA, json=me(BOB), headers=headers(BOB))) == ["vlot"]


@pytest.mark.integration
@pytest.mark.postgres
def test_a_query_waiting_on_a_database_lock_does_not_block_others(pg_url: str, tmp_path: Path) -> None:
    """The same with a real lock: another transaction holds the register table in ACCESS EXCLUSIVE
    mode, so one query waits inside PostgreSQL while a second request is answered."""
    import sqlalchemy as sa

    from nds.db import make_engine
    from nds.logboek import tables
    from nds.logboek.store import migrate_logboek

    migrate_logboek(pg_url)
    engine = make_engine(pg_url, immediate=True)
    ring = Keyring.create(tmp_path / "keys.json")
    lb = Logboek(engine, ring)
    reg = Register(engine, "https://gemeente.digilab.example/register")
    idp = ECKey.generate_key("P-256")
    u = {s: reg.publish(s, _act(s.capitalize())) for s in ("inzage", "vlot", "traag")}
    lb.write(Processing("vlot", u["vlot"], (DataSubject(BOB),), new_trace_id()))
    lb.write(Processing("traag", u["traag"], (DataSubject(ALICE),), new_trace_id()))
    app = make_api(engine, lb, ring, reg, idp, u)
    locker = make_engine(pg_url).connect()
    h = {b: {"Authorization": "Bearer " + issue_citizen_assertion(idp, ISS, AUD, b)} for b in (ALICE, BOB)}
    try:
        with (
            serve(app) as base,
            httpx.Client(base_url=base, timeout=20) as http,
            httpx.Client(base_url=base, timeout=20) as other,
            ThreadPoolExecutor(1) as bg,
        ):
            # Bob's activities become known (cached): his record's, then his first inzageverzoek's
            assert names(http.post(PA, json=me(BOB), headers=h[BOB])) == ["vlot"]
            assert names(http.post(PA, json=me(BOB), headers=h[BOB])) == ["vlot", "inzageverzoek"]
            tx = locker.begin()
            locker.execute(sa.text(f"LOCK TABLE {tables.activities.name} IN ACCESS EXCLUSIVE MODE"))
            blocked = bg.submit(other.post, PA, json=me(), headers=h[ALICE])  # needs the register: waits
            deadline = time.monotonic() + 30  # generous: loaded CI machines
            while not locker.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar():
                assert time.monotonic() < deadline, "the query never waited on the lock"
                time.sleep(0.05)
            r = http.post(PA, json=me(BOB), headers=h[BOB])
            assert names(r) == ["vlot", "inzageverzoek", "inzageverzoek"]  # answered meanwhile
            assert not blocked.done()
            tx.rollback()
            assert names(blocked.result(timeout=20)) == ["traag"]
    finally:
        locker.close()
        lb.close()
        engine.dispose()


# --- the citizen assertion ---------------------------------------------------------------------
@pytest.mark.unit
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
