"""Outway (outway.md) and Integration (integration.md) scenarios of Logius-standaarden/fsc-test-suite by
TestID, plus failure tests, against a running DigiLab: real Manager, Inway, Outway and service processes,
contracts signed by every party through their own admin APIs, tokens from the provider's Manager over
mTLS. Token lifetime is 10 s here so expiry and revocation can be observed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fscdp_harness import assert_fsc_error, read_records

from nds.digilab.orchestrator import DigiLab
from nds.fsc.txlog import TransactionLog
from nds.pki import load_certificate, public_key_thumbprint

pytestmark = pytest.mark.e2e
OUTWAY = "ERROR_DOMAIN_OUTWAY"
LIFETIME = 10


class Fed:
    def __init__(self, root: Path) -> None:
        self.lab = DigiLab(
            root / "lab", token_lifetime=LIFETIME, clock_skew=1, timeout=90, host_prefix="127.0.4."
        )
        self.data = self.lab.up()
        self.orgs = {o["slug"]: o for o in self.data["organisations"]}
        self.http = httpx.Client(timeout=30)

    def grant(self, consumer: str, service: str, delegated: bool = False) -> str:
        return next(
            g["hash"]
            for g in self.data["grants"]
            if g["consumer"] == consumer
            and g["service"] == service
            and bool(g["delegator_peer_id"]) == delegated
        )

    def call(
        self, consumer: str, grant_hash: str | None, path: str = "/personen/1", method: str = "GET", **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if grant_hash is not None:
            headers["Fsc-Grant-Hash"] = grant_hash
        return self.http.request(method, self.orgs[consumer]["outway_address"] + path, headers=headers, **kw)

    def records(self, org: str, txid: str) -> list[dict[str, Any]]:
        o = self.orgs[org]
        log = TransactionLog(o["transaction_log"], create=False)
        try:
            return [r.to_api() for r in log.query_sync(o["peer_id"], transaction_ids=[txid]).records]
        finally:
            log.close()

    def service_calls(self, provider: str, service: str) -> list[dict[str, Any]]:
        return read_records(self.lab.peer(provider).dir / f"service-{service}.calls.jsonl")

    def add_outway_grant(self, consumer: str, grant_hash: str, provider: str, service: str) -> None:
        path = self.lab.peer(consumer).dir / "outway-grants.json"
        grants = json.loads(path.read_text())
        grants[grant_hash] = {
            "manager_address": self.orgs[provider]["manager_address"],
            "service_name": service,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(grants))
        tmp.replace(path)
        time.sleep(0.02)  # distinct mtime

    def scg(
        self,
        consumer: str,
        provider: str,
        service: str,
        *,
        delegator: str | None = None,
        service_delegator: str | None = None,
    ) -> dict[str, Any]:
        thumb = public_key_thumbprint(load_certificate(self.lab.peer(consumer).cert))
        svc: dict[str, Any] = {
            "type": "SERVICE_TYPE_SERVICE",
            "peer_id": self.orgs[provider]["peer_id"],
            "name": service,
        }
        if service_delegator:
            svc = {
                **svc,
                "type": "SERVICE_TYPE_DELEGATED_SERVICE",
                "delegator": {"peer_id": self.orgs[service_delegator]["peer_id"]},
            }
        grant: dict[str, Any] = {
            "type": "GRANT_TYPE_SERVICE_CONNECTION",
            "outway": {"peer_id": self.orgs[consumer]["peer_id"], "public_key_thumbprint": thumb},
            "service": svc,
        }
        if delegator:
            grant["type"] = "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION"
            grant["delegator"] = {"peer_id": self.orgs[delegator]["peer_id"]}
        return grant

    def inway_health(self, provider: str) -> str:
        return f"http://{self.orgs[provider]['host']}:{self.lab.ports.inway_health}/healthz"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    f = Fed(tmp_path_factory.mktemp("fed"))
    try:
        yield f
    finally:
        f.http.close()
        f.lab.down_started()


@pytest.fixture(scope="module")
def delegated_publication(fed: Fed) -> dict[str, str]:
    """'personen' also offered by brp on behalf of kadaster (DelegatedServicePublicationGrant), with a
    ServiceConnectionGrant (uitkering) and a DelegatedServiceConnectionGrant (saas for gemeente) to it."""
    lab, o = fed.lab, fed.orgs
    pub = {
        "type": "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION",
        "directory": {"peer_id": fed.data["directory"]["peer_id"]},
        "service": {"peer_id": o["brp"]["peer_id"], "name": "personen", "protocol": "PROTOCOL_TCP_HTTP_1.1"},
        "delegator": {"peer_id": o["kadaster"]["peer_id"]},
    }
    lab.make_contract("brp", pub, ["kadaster"])
    plain = lab.make_contract(
        "brp",
        fed.scg("uitkering", "brp", "personen", service_delegator="kadaster"),
        ["uitkering", "kadaster"],
    )
    deleg = lab.make_contract(
        "brp",
        fed.scg("saas", "brp", "personen", delegator="gemeente", service_delegator="kadaster"),
        ["saas", "gemeente", "kadaster"],
    )
    fed.add_outway_grant("uitkering", plain["grant_hashes"][0], "brp", "personen")
    fed.add_outway_grant("saas", deleg["grant_hashes"][0], "brp", "personen")
    return {"plain": plain["grant_hashes"][0], "delegated": deleg["grant_hashes"][0]}


# -- outway.md -------------------------------------------------------------------------------------


def test_Outway_IncomingRequest_1(fed: Fed) -> None:
    """A valid ServiceConnectionGrant: the Outway obtains a token, the Inway answers through it."""
    r = fed.call("gemeente", fed.grant("gemeente", "personen"), "/personen/42")
    assert r.status_code == 200, r.text
    assert r.json()["service"] == "personen" and r.json()["path"] == "/personen/42"


def test_Outway_IncomingRequest_2(fed: Fed) -> None:
    """No valid contract for the grant (proposed but never accepted by the consumer): no token, an error,
    and nothing reaches the Inway."""
    grant = fed.scg("uitkering", "kadaster", "adressen")
    r = fed.lab.admin("kadaster", "POST", "/contracts", json={"contract_content": fed.lab._content(grant)})
    gh = r.json()["grant_hashes"][0]
    fed.add_outway_grant("uitkering", gh, "kadaster", "adressen")
    before = len(fed.service_calls("kadaster", "adressen"))
    r = fed.call("uitkering", gh, "/adressen/1")
    body = assert_fsc_error(r, 403, "ERROR_CODE_ACCESS_TOKEN_REFUSED", OUTWAY)
    assert "not accepted by all peers" in body["message"]
    assert len(fed.service_calls("kadaster", "adressen")) == before


def test_Outway_IncomingRequest_3(fed: Fed) -> None:
    """The Inway is unreachable: the Outway answers 502 ERROR_CODE_INWAY_UNREACHABLE."""
    gh = fed.grant("gemeente", "adressen")
    assert fed.call("gemeente", gh, "/adressen/1").status_code == 200  # token cached
    fed.lab.kill("inway Kadaster Adressen")
    try:
        r = fed.call("gemeente", gh, "/adressen/1")
        assert_fsc_error(r, 502, "ERROR_CODE_INWAY_UNREACHABLE", OUTWAY)
        assert r.headers["Fsc-Transaction-Id"]  # the attempt was logged and can be traced
    finally:
        fed.lab.respawn("inway Kadaster Adressen", fed.inway_health("kadaster"))
    assert fed.call("gemeente", gh, "/adressen/1").status_code == 200


def test_Outway_TransactionLog_1(fed: Fed) -> None:
    """The Outway writes a record (direction outgoing) for the request."""
    gh = fed.grant("gemeente", "personen")
    r = fed.call("gemeente", gh)
    txid = r.headers["Fsc-Transaction-Id"]
    [rec] = fed.records("gemeente", txid)
    assert rec["direction"] == "DIRECTION_OUTGOING" and rec["grant_hash"] == gh
    assert rec["source"] == {"type": "SOURCE_TYPE_SOURCE", "outway_peer_id": fed.orgs["gemeente"]["peer_id"]}
    assert rec["destination"] == {
        "type": "DESTINATION_TYPE_DESTINATION",
        "service_peer_id": fed.orgs["brp"]["peer_id"],
    }
    assert rec["service_name"] == "personen"


def test_Outway_TransactionLog_2(fed: Fed) -> None:
    """The TransactionID is sent to the Inway (and reaches the service and the client)."""
    r = fed.call("gemeente", fed.grant("gemeente", "personen"), "/personen/tl2")
    txid = r.headers["Fsc-Transaction-Id"]
    assert r.json()["transaction_id"] == txid
    call = [c for c in fed.service_calls("brp", "personen") if c["path"] == "/personen/tl2"][-1]
    assert call["headers"]["Fsc-Transaction-Id"] == txid
    assert [x["direction"] for x in fed.records("brp", txid)] == ["DIRECTION_INCOMING"]


def test_Outway_TransactionLog_3(fed: Fed) -> None:
    """Delegated connection (SaaS on behalf of the municipality): the source holds the delegator."""
    r = fed.call("saas", fed.grant("saas", "personen", delegated=True))
    assert r.status_code == 200, r.text
    [rec] = fed.records("saas", r.headers["Fsc-Transaction-Id"])
    assert rec["source"] == {
        "type": "SOURCE_TYPE_DELEGATED_SOURCE",
        "outway_peer_id": fed.orgs["saas"]["peer_id"],
        "delegator_peer_id": fed.orgs["gemeente"]["peer_id"],
    }


def test_Outway_TransactionLog_4(fed: Fed, delegated_publication: dict[str, str]) -> None:
    """A service offered on behalf of another peer: the destination holds that delegator."""
    r = fed.call("uitkering", delegated_publication["plain"])
    assert r.status_code == 200, r.text
    [rec] = fed.records("uitkering", r.headers["Fsc-Transaction-Id"])
    assert rec["destination"] == {
        "type": "DESTINATION_TYPE_DELEGATED_DESTINATION",
        "service_peer_id": fed.orgs["brp"]["peer_id"],
        "delegator_peer_id": fed.orgs["kadaster"]["peer_id"],
    }


def test_Outway_TransactionLog_5(fed: Fed) -> None:
    """The Outway's TransactionLog fails: 500 TRANSACTION_LOG_WRITE_ERROR, nothing sent to the Inway."""
    gh = fed.grant("gemeente", "personen")
    assert fed.call("gemeente", gh).status_code == 200
    engine = sa.create_engine(fed.orgs["gemeente"]["transaction_log"])
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER broken BEFORE INSERT ON fsc_txlog_records BEGIN SELECT RAISE(ABORT, 'disk'); END"
        )
    try:
        before = len(fed.service_calls("brp", "personen"))
        r = fed.call("gemeente", gh, "/personen/never")
        assert_fsc_error(r, 500, "TRANSACTION_LOG_WRITE_ERROR", OUTWAY)
        assert len(fed.service_calls("brp", "personen")) == before
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER broken")
        engine.dispose()
    assert fed.call("gemeente", gh).status_code == 200


# -- integration.md ---------------------------------------------------------------------------------


def test_Integration_ConsumeService_1(fed: Fed) -> None:
    r = fed.call("uitkering", fed.grant("uitkering", "personen"))
    assert r.status_code == 200 and r.json()["service"] == "personen"


def test_Integration_ConsumeService_2(fed: Fed) -> None:
    """Without a valid contract (this one was revoked by the provider) the Outway rejects the request."""
    c = fed.lab.make_contract("kadaster", fed.scg("uitkering", "kadaster", "adressen"), ["uitkering"])
    fed.lab.admin("kadaster", "POST", f"/contracts/{c['content_hash']}/revoke")
    gh = c["grant_hashes"][0]
    fed.add_outway_grant("uitkering", gh, "kadaster", "adressen")
    r = fed.call("uitkering", gh, "/adressen/1")
    body = assert_fsc_error(r, 403, "ERROR_CODE_ACCESS_TOKEN_REFUSED", OUTWAY)
    assert "revoked" in body["message"]
    # and a grant this Outway does not hold at all
    assert_fsc_error(fed.call("uitkering", "$1$3$unknown"), 404, "ERROR_CODE_GRANT_HASH_UNKNOWN", OUTWAY)


def test_Integration_ConsumeServiceAsDelegatee_1(fed: Fed) -> None:
    r = fed.call("saas", fed.grant("saas", "personen", delegated=True))
    assert r.status_code == 200 and r.json()["service"] == "personen"


def test_Integration_ConsumeDelegatedService_1(fed: Fed, delegated_publication: dict[str, str]) -> None:
    r = fed.call("uitkering", delegated_publication["plain"])
    assert r.status_code == 200 and r.json()["service"] == "personen"


def test_Integration_ConsumeDelegatedService_2(fed: Fed, delegated_publication: dict[str, str]) -> None:
    r = fed.call("saas", delegated_publication["delegated"])
    assert r.status_code == 200, r.text
    txid = r.headers["Fsc-Transaction-Id"]
    for org in ("saas", "brp"):
        [rec] = fed.records(org, txid)
        assert rec["source"]["delegator_peer_id"] == fed.orgs["gemeente"]["peer_id"]
        assert rec["destination"]["delegator_peer_id"] == fed.orgs["kadaster"]["peer_id"]


def test_Integration_TransactionLog_1(fed: Fed) -> None:
    """Consumer and provider both hold a record with the same TransactionID, each readable by the other
    peer through GET /logs on its Manager (over mTLS, only records involving the caller)."""
    r = fed.call("gemeente", fed.grant("gemeente", "personen"))
    txid = r.headers["Fsc-Transaction-Id"]
    consumer_view = fed.lab.group.client("Gemeente Voorbeeldstad")
    provider_view = fed.lab.group.client("Basisregistratie Personen")
    outsider_view = fed.lab.group.client("Kadaster Adressen")
    try:
        at_provider = consumer_view.get(
            f"{fed.orgs['brp']['manager_address']}/v1/logs", params={"transaction_ids": txid}
        )
        at_consumer = provider_view.get(
            f"{fed.orgs['gemeente']['manager_address']}/v1/logs", params={"transaction_ids": txid}
        )
        hidden = outsider_view.get(
            f"{fed.orgs['brp']['manager_address']}/v1/logs", params={"transaction_ids": txid}
        )
    finally:
        consumer_view.close()
        provider_view.close()
        outsider_view.close()
    assert at_provider.status_code == 200 and at_consumer.status_code == 200, (
        at_provider.text,
        at_consumer.text,
    )
    [inc] = at_provider.json()["records"]
    [out] = at_consumer.json()["records"]
    assert inc["transaction_id"] == out["transaction_id"] == txid
    assert (inc["direction"], out["direction"]) == ("DIRECTION_INCOMING", "DIRECTION_OUTGOING")
    assert {k: v for k, v in inc.items() if k not in ("direction", "created_at")} == {
        k: v for k, v in out.items() if k not in ("direction", "created_at")
    }
    assert hidden.status_code == 200 and hidden.json()["records"] == []


# -- MUSTs the suite skips, and failures ------------------------------------------------------------


def test_outway_connect_405(fed: Fed) -> None:
    host, port = fed.orgs["gemeente"]["outway_address"].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
        raw = s.recv(65536).decode()
    head, _, body = raw.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 405")
    assert "Fsc-Error-Code: ERROR_CODE_METHOD_UNSUPPORTED" in head
    assert json.loads(body)["domain"] == OUTWAY


def test_outway_grant_header_missing_400(fed: Fed) -> None:
    assert_fsc_error(fed.call("gemeente", None), 400, "ERROR_CODE_GRANT_HASH_MISSING", OUTWAY)


def test_outway_path_method_body_trace_unaltered_and_txid_returned(fed: Fed) -> None:
    path = "/personen/a%2Fb;c/%E2%82%AC?x=1&x=2&y=%20"
    body = b"\x00\x01" * 300_000
    r = fed.call(
        "gemeente",
        fed.grant("gemeente", "personen"),
        path,
        method="PUT",
        content=body,
        headers={
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "tracestate": "nds=1",
            "Fsc-Transaction-Id": "client-chosen",
        },
    )
    assert r.status_code == 200, r.text
    txid = r.headers["Fsc-Transaction-Id"]
    assert txid != "client-chosen"
    call = [
        c for c in fed.service_calls("brp", "personen") if c["headers"].get("Fsc-Transaction-Id") == txid
    ][-1]
    assert call["path"] == path and call["method"] == "PUT" and call["body_bytes"] == len(body)
    assert call["headers"]["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    assert call["headers"]["tracestate"] == "nds=1"


def test_service_and_inway_errors_pass_unaltered(fed: Fed) -> None:
    r = fed.call("gemeente", fed.grant("gemeente", "personen"), "/status/503")
    assert (
        r.status_code == 503 and r.headers["X-Service-Error"] == "yes" and "Fsc-Error-Code" not in r.headers
    )
    assert r.headers["Fsc-Transaction-Id"]


def test_inway_killed_mid_request(fed: Fed) -> None:
    """The Inway dies while the service is still working on a request: the client gets a clear 502 and
    the Outway keeps serving once the Inway is back."""
    gh = fed.grant("gemeente", "adressen")
    assert fed.call("gemeente", gh, "/adressen/1").status_code == 200
    result: dict[str, httpx.Response] = {}
    t = threading.Thread(target=lambda: result.setdefault("r", fed.call("gemeente", gh, "/slow")))
    t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        c["path"] == "/slow" for c in fed.service_calls("kadaster", "adressen")
    ):
        time.sleep(0.02)
    fed.lab.kill("inway Kadaster Adressen", 9)  # SIGKILL: no graceful shutdown
    t.join(timeout=30)
    try:
        assert_fsc_error(result["r"], 502, "ERROR_CODE_INWAY_UNREACHABLE", OUTWAY)
    finally:
        fed.lab.respawn("inway Kadaster Adressen", fed.inway_health("kadaster"))
    assert fed.call("gemeente", gh, "/adressen/2").status_code == 200


def test_token_expiring_mid_run(fed: Fed) -> None:
    """Tokens live 10 s: calls across the expiry keep working because the Outway fetches a new one."""
    gh = fed.grant("uitkering", "personen")
    seen: set[str] = set()
    end = time.monotonic() + LIFETIME * 1.6
    while time.monotonic() < end:
        r = fed.call("uitkering", gh, "/personen/exp")
        assert r.status_code == 200, r.text
        call = [
            c
            for c in fed.service_calls("brp", "personen")
            if c["headers"].get("Fsc-Transaction-Id") == r.headers["Fsc-Transaction-Id"]
        ][-1]
        seen.add(call["headers"]["Fsc-Authorization"])
        time.sleep(0.5)
    assert len(seen) >= 2  # a fresh token replaced the expiring one


def test_contract_revoked_mid_run(fed: Fed) -> None:
    """After the provider revokes the contract, calls are refused at the latest when the cached token
    expires (token lifetime), and stay refused."""
    c = fed.lab.make_contract("kadaster", fed.scg("uitkering", "kadaster", "adressen"), ["uitkering"])
    gh = c["grant_hashes"][0]
    fed.add_outway_grant("uitkering", gh, "kadaster", "adressen")
    assert fed.call("uitkering", gh, "/adressen/1").status_code == 200
    fed.lab.admin("kadaster", "POST", f"/contracts/{c['content_hash']}/revoke")
    revoked_at = time.monotonic()
    while True:
        r = fed.call("uitkering", gh, "/adressen/1")
        if r.status_code != 200:
            break
        assert time.monotonic() - revoked_at < LIFETIME + 5, "still served after the token lifetime"
        time.sleep(0.2)
    assert_fsc_error(r, 403, "ERROR_CODE_ACCESS_TOKEN_REFUSED", OUTWAY)
    assert fed.call("uitkering", gh, "/adressen/1").status_code == 403


@pytest.mark.parametrize("kind", ["bytes", "chunked"])
def test_outway_streams_large_responses_intact(fed: Fed, kind: str) -> None:
    n = 8 * 1024 * 1024 + 7
    r = fed.call("gemeente", fed.grant("gemeente", "personen"), f"/{kind}/{n}")
    assert r.status_code == 200 and r.headers["Fsc-Transaction-Id"]
    expected = (bytes(range(256)) * 256 * (n // 65536 + 1))[:n]
    assert len(r.content) == n and r.content == expected
