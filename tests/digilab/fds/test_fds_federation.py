"""The DigiLab as a Federatief Datastelsel, over real processes and real mTLS.

One federation (module scope): registers, consumer applications, logboeken, the citizen-view portal.
Covers issue 4's "Done when": records per subject in one trace, traceparent continued, consumer and
provider linked (trace, FSC transaction ID, read API), the citizen view (exactly this person's
processings, confidential never shown), a read query without filter → 400, and the crash test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from nds.db import make_engine
from nds.digilab.fds import fds_federation
from nds.digilab.orchestrator import DigiLab
from nds.digilab.registers.data import generate
from nds.fsc.txlog.store import TransactionLog
from nds.logboek.model import new_span_id, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import Query, find

pytestmark = pytest.mark.e2e
PERSONS = 1000
DATA = generate(PERSONS)
BSNS = list(DATA.persons)


class Lab:
    def __init__(self, root: Path, logboek_urls: dict[str, str], host_prefix: str) -> None:
        self.lab = DigiLab(
            root / "lab",
            spec=fds_federation(),
            persons=PERSONS,
            timeout=180,
            host_prefix=host_prefix,
            logboek_urls=logboek_urls,
        )
        self.data = self.lab.up()
        self.state = root / "lab"
        self.orgs = {o["slug"]: o for o in self.data["organisations"]}
        self.http = httpx.Client(timeout=30)

    def app(
        self, slug: str, path: str, body: dict[str, Any], traceparent: str | None = None
    ) -> httpx.Response:
        headers = {"traceparent": traceparent} if traceparent else {}
        return self.http.post(self.orgs[slug]["app_address"] + path, json=body, headers=headers)

    def ldv(self, slug: str, q: Query) -> list[Any]:
        o = self.orgs[slug]["logboek"]
        eng = make_engine(o["database"])
        try:
            return find(eng, Keyring.load(Path(o["keyring"])), q)[0]
        finally:
            eng.dispose()

    def tx(self, slug: str, txid: str) -> list[Any]:
        log = TransactionLog(self.orgs[slug]["transaction_log"], create=False)
        return list(log.query_sync(self.orgs[slug]["peer_id"], transaction_ids=[txid]).records)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The federation, with every organisation's logboek on SQLite, then on PostgreSQL."""
    urls: dict[str, str] = {}
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        urls = {o.key: cluster.create_database() for o in fds_federation().organisations if o.services}
    lab = Lab(tmp_path_factory.mktemp("fds"), urls, "127.0.31." if request.param == "sqlite" else "127.0.32.")
    try:
        yield lab
    finally:
        lab.lab.down_started()


def _trace_of(r: httpx.Response) -> str:
    return r.headers["traceresponse"].split("-")[1]


def test_three_subjects_in_one_call_three_records_in_one_trace(lab: Lab) -> None:
    trio = BSNS[10:13]
    r = lab.app("uitkering", "/v1/huishoudens", {"burgerservicenummers": trio})
    assert r.status_code == 200, r.text
    trace = _trace_of(r)
    for slug in ("uitkering", "brp"):
        recs = lab.ldv(slug, Query(trace_id=trace))
        assert len(recs) == 3, slug
        assert len({x.span_id for x in recs}) == 3 and {x.trace_id for x in recs} == {trace}


def test_traceparent_continued_and_records_linked_across_organisations(lab: Lab) -> None:
    trace, parent = new_trace_id(), new_span_id()
    a = next(iter(DATA.addresses.values()))
    r = lab.app(
        "gemeente",
        "/v1/verhuizingen",
        {"burgerservicenummer": BSNS[20], "postcode": a.postcode, "huisnummer": a.number},
        traceparent=f"00-{trace}-{parent}-00",
    )
    assert r.status_code == 200, r.text  # sampled flag 00: logged all the same
    (g,) = lab.ldv("gemeente", Query(trace_id=trace))
    assert (g.foreign_trace_id, g.foreign_span_id) == (trace, parent)
    assert g.external_read_api == lab.orgs["brp"]["read_api"]
    (b,) = lab.ldv("brp", Query(trace_id=trace))
    assert b.fsc_transaction_id == g.fsc_transaction_id and b.foreign_trace_id == trace
    # both FSC transaction logs hold the call under the same transaction ID
    assert len(lab.tx("gemeente", g.fsc_transaction_id)) == 1
    assert len(lab.tx("brp", g.fsc_transaction_id)) == 1


def _inzage(lab: Lab, bsn: str) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, "-m", "nds", "inzage", "--state", str(lab.state), "--bsn", bsn, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_citizen_view_shows_exactly_this_persons_processings(lab: Lab) -> None:
    me, other = BSNS[30], BSNS[31]
    assert lab.app("uitkering", "/v1/aanvragen", {"burgerservicenummer": me}).status_code == 200
    assert lab.app("saas", "/v1/parkeervergunningen", {"burgerservicenummer": me}).status_code == 200
    assert lab.app("uitkering", "/v1/fraudeonderzoeken", {"burgerservicenummer": me}).status_code == 200
    assert lab.app("uitkering", "/v1/aanvragen", {"burgerservicenummer": other}).status_code == 200
    view = _inzage(lab, me)
    uses = sorted((u["organisation"], u["activity"]) for u in view["gebruik"])
    assert uses == [
        ("SaaS Leverancier (verwerker voor de gemeente)", "Parkeervergunning verlenen (namens de gemeente)"),
        ("Uitkeringsinstantie", "Uitkering toekennen"),
    ]
    for u in view["gebruik"]:
        assert [c["activity"] for c in u["obtained_from"]] == ["Verstrekking uit de BRP"]
        assert u["purpose"] and u["provision"] and u["legal_basis"]
    flat = json.dumps(view)
    assert "Fraudeonderzoek" not in flat  # confidential: not directly, not through the BRP's record
    assert view["nietBereikbaar"] == []
    other_view = _inzage(lab, other)
    assert [u["activity"] for u in other_view["gebruik"]] == ["Uitkering toekennen"]


def test_read_query_without_filter_is_400_through_fsc(lab: Lab) -> None:
    portal = lab.data["portal"]
    brp = lab.orgs["brp"]
    r = lab.http.post(
        portal["outway_address"] + "/ldv/v1/processing-activities",
        json={},
        headers={"Fsc-Grant-Hash": brp["ldv_grant_hash"], "Authorization": "Bearer x"},
    )
    assert r.status_code in (400, 401)  # unauthenticated first; with a valid assertion: 400 below
    from joserfc.jwk import ECKey

    from nds.logboek.auth import issue_citizen_assertion

    key = ECKey.import_key(json.loads(Path(lab.data["digid"]["private_jwk_path"]).read_text()))
    token = issue_citizen_assertion(key, lab.data["digid"]["issuer"], brp["read_api"], BSNS[0])
    r = lab.http.post(
        portal["outway_address"] + "/ldv/v1/processing-activities",
        json={},
        headers={"Fsc-Grant-Hash": brp["ldv_grant_hash"], "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")


def test_traffic_command_lists_calls(lab: Lab) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "nds",
            "digilab",
            "traffic",
            "--state",
            str(lab.state),
            "--n",
            "12",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    calls = json.loads(res.stdout)
    assert len(calls) == 12
    assert {"consumer", "provider", "service", "purpose", "data_subjects", "result"} <= set(calls[0])
    assert all(c["result"] == 200 for c in calls), calls
    assert all(c["transaction_id"] for c in calls), calls


def test_crash_every_2xx_has_its_records(lab: Lab) -> None:
    """Under load, kill -9 the BRP's application and the municipality's application; every call that
    returned 2xx to its client has its transaction records and its LDV records at both sides."""
    ok: list[tuple[str, str]] = []  # (consumer slug, trace)
    stop = threading.Event()
    lock = threading.Lock()

    def load(slug: str, path: str, seed: int) -> None:
        client = httpx.Client(timeout=10)
        i = seed
        while not stop.is_set():
            i += 1
            trace = new_trace_id()
            bsn = BSNS[i % len(BSNS)]
            body: dict[str, Any] = {"burgerservicenummer": bsn}
            if slug == "gemeente":
                a = DATA.addresses[DATA.persons[bsn].address_id]
                body |= {"postcode": a.postcode, "huisnummer": a.number}
            try:
                r = client.post(
                    lab.orgs[slug]["app_address"] + path,
                    json=body,
                    headers={"traceparent": f"00-{trace}-{new_span_id()}-01"},
                )
            except httpx.HTTPError:
                continue
            if 200 <= r.status_code < 300:
                with lock:
                    ok.append((slug, trace))

    threads = [
        threading.Thread(target=load, args=("gemeente", "/v1/verhuizingen", 0)),
        threading.Thread(target=load, args=("uitkering", "/v1/aanvragen", 500)),
    ]
    for t in threads:
        t.start()
    time.sleep(3)
    brp_app = next(s for s in lab.lab.started if s.kind == "app" and "Personen" in s.name)
    gem_app = next(s for s in lab.lab.started if s.kind == "app" and "Gemeente" in s.name)
    os.killpg(brp_app.pid, signal.SIGKILL)
    os.killpg(gem_app.pid, signal.SIGKILL)
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(ok) > 5, "the load produced successful calls before the crash"
    for slug, trace in ok:
        mine = lab.ldv(slug, Query(trace_id=trace))
        assert mine, f"{slug} answered 2xx without its LDV record (trace {trace})"
        theirs = lab.ldv("brp", Query(trace_id=trace))
        assert theirs, f"BRP answered without its LDV record (trace {trace})"
        tx = mine[0].fsc_transaction_id
        assert tx and lab.tx(slug, tx) and lab.tx("brp", tx), f"transaction records missing for {tx}"
