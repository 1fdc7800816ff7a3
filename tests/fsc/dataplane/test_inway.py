"""Inway scenarios of Logius-standaarden/fsc-test-suite (inway.md) by TestID, plus the Core MUSTs the
suite leaves out. Real processes (service, Inway) on loopback, real mTLS, tokens signed with the
provider Manager's key (the provider peer certificate) via nds.fsc.jose.issue_access_token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fscdp_harness import GROUP_ID, MiniGroup, assert_fsc_error, read_records

from nds.fsc.txlog import TransactionLog, new_transaction_id

pytestmark = pytest.mark.integration
INWAY = "ERROR_DOMAIN_INWAY"


class Env:
    def __init__(self, root: Path) -> None:
        self.g = MiniGroup(root)
        self.service_url, self.record, self.service = self.g.start_service("basisregister")
        self.inway, self.inway_proc, self.txlog_url = self.g.start_inway(
            {"basisregister": self.service_url, "unreachable": "http://127.0.0.1:9"}
        )
        self.consumer = self.g.client(self.g.consumer)

    def calls(self) -> list[dict]:
        return read_records(self.record)

    def get(
        self,
        path: str = "/persons",
        *,
        token: str | None = "default",
        txid: str | None = "new",
        client: httpx.Client | None = None,
        **kw: object,
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[call-overload]
        if token == "default":
            token = self.g.mint()
        if token is not None:
            headers["Fsc-Authorization"] = token
        if txid == "new":
            txid = new_transaction_id()
        if txid is not None:
            headers["Fsc-Transaction-Id"] = txid
        method = str(kw.pop("method", "GET"))
        return (client or self.consumer).request(method, self.inway + path, headers=headers, **kw)  # type: ignore[arg-type]

    def records(self, txid: str) -> list[dict]:
        log = TransactionLog(self.txlog_url, create=False)
        try:
            return [
                r.to_api() for r in log.query_sync(self.g.consumer.peer_id, transaction_ids=[txid]).records
            ] + [
                r.to_api()
                for r in log.query_sync(self.g.delegator.peer_id, transaction_ids=[txid]).records
                if not r.involves(self.g.consumer.peer_id)
            ]
        finally:
            log.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("inway"))
    try:
        yield e
    finally:
        e.consumer.close()
        e.g.procs.stop_all()


def test_Inway_Incoming_Request_1(env: Env) -> None:
    """Receive a request with a valid access token: accepted, the service answers."""
    before = len(env.calls())
    r = env.get("/persons/1")
    assert r.status_code == 200, r.text
    assert r.json()["service"] == "basisregister"
    assert "Fsc-Error-Code" not in r.headers
    assert len(env.calls()) == before + 1


def test_Inway_Incoming_Request_2(env: Env) -> None:
    """Without an access token: 401 ACCESS_TOKEN_MISSING with WWW-Authenticate: Bearer; service not called."""
    before = len(env.calls())
    r = env.get(token=None)
    assert_fsc_error(r, 401, "ERROR_CODE_ACCESS_TOKEN_MISSING", INWAY)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = env.get(token="")
    assert_fsc_error(r, 401, "ERROR_CODE_ACCESS_TOKEN_MISSING", INWAY)
    assert len(env.calls()) == before


def test_Inway_Incoming_Request_3(env: Env) -> None:
    """A token bound to another certificate than the connection's: denied (401, invalid)."""
    before = len(env.calls())
    token = env.g.mint(holder=env.g.consumer)
    with env.g.client(env.g.delegator) as other:
        r = env.get(token=token, client=other)
    assert_fsc_error(r, 401, "ERROR_CODE_ACCESS_TOKEN_INVALID", INWAY)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert len(env.calls()) == before


def test_Inway_Incoming_Request_4(env: Env) -> None:
    """A client certificate not signed by the Group's trust anchor is refused in the TLS handshake,
    and so is a connection without a client certificate."""
    before = len(env.calls())
    outsider_ctx = env.g.client_ctx(env.g.outsider, ca=env.g.ca.cert)
    with httpx.Client(verify=outsider_ctx, timeout=5) as c, pytest.raises(httpx.TransportError):
        c.get(env.inway + "/persons", headers={"Fsc-Authorization": env.g.mint(holder=env.g.outsider)})
    import ssl

    bare = ssl.create_default_context(cafile=str(env.g.ca.cert))
    with httpx.Client(verify=bare, timeout=5) as c, pytest.raises(httpx.TransportError):
        c.get(env.inway + "/persons")
    assert len(env.calls()) == before


def test_Inway_Incoming_Request_5(env: Env) -> None:
    """Preserve access token: the service receives Fsc-Authorization unchanged."""
    token = env.g.mint()
    r = env.get("/preserve", token=token)
    assert r.status_code == 200
    call = [c for c in env.calls() if c["path"] == "/preserve"][-1]
    assert call["headers"]["Fsc-Authorization"] == token


def test_Inway_Incoming_Request_6(env: Env) -> None:
    """An expired access token: 401 ACCESS_TOKEN_EXPIRED with WWW-Authenticate: Bearer."""
    before = len(env.calls())
    token = env.g.mint(now=time.time() - 400, lifetime=300)
    r = env.get(token=token)
    assert_fsc_error(r, 401, "ERROR_CODE_ACCESS_TOKEN_EXPIRED", INWAY)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert len(env.calls()) == before


def test_Inway_TransactionLog_1(env: Env) -> None:
    """A TransactionLog record (direction incoming, fields from the token) is written for the request."""
    txid = new_transaction_id()
    r = env.get("/log1", txid=txid, token=env.g.mint(gth="$1$3$grant-log-1"))
    assert r.status_code == 200
    recs = env.records(txid)
    assert recs == [
        {
            "transaction_id": txid,
            "direction": "DIRECTION_INCOMING",
            "grant_hash": "$1$3$grant-log-1",
            "source": {"type": "SOURCE_TYPE_SOURCE", "outway_peer_id": env.g.consumer.peer_id},
            "destination": {
                "type": "DESTINATION_TYPE_DESTINATION",
                "service_peer_id": env.g.provider.peer_id,
            },
            "service_name": "basisregister",
            "created_at": recs[0]["created_at"],
        }
    ]
    assert abs(recs[0]["created_at"] - time.time()) < 60


def test_Inway_TransactionLog_2(env: Env) -> None:
    """Preserve TransactionID: the service receives the same Fsc-Transaction-Id."""
    txid = new_transaction_id()
    assert env.get("/log2", txid=txid).status_code == 200
    call = [c for c in env.calls() if c["path"] == "/log2"][-1]
    assert call["headers"]["Fsc-Transaction-Id"] == txid


def test_Inway_TransactionLog_3(env: Env) -> None:
    """No TransactionID: 400 MISSING_LOG_RECORD_ID; a malformed one: 400 INVALID_LOG_RECORD_ID."""
    before = len(env.calls())
    assert_fsc_error(env.get(txid=None), 400, "MISSING_LOG_RECORD_ID", INWAY)
    for bad in ("not-a-uuid", "018f3e5c-1f2a-4b3c-8d4e-5f6a7b8c9d0e", new_transaction_id().upper(), ""):
        assert_fsc_error(env.get(txid=bad), 400, "INVALID_LOG_RECORD_ID", INWAY)
    assert len(env.calls()) == before


def test_Inway_TransactionLog_4(env: Env) -> None:
    """Delegated connection: the record's source holds the delegator (act.sub)."""
    txid = new_transaction_id()
    token = env.g.mint(act_sub=env.g.delegator.peer_id)
    assert env.get("/log4", txid=txid, token=token).status_code == 200
    [rec] = env.records(txid)
    assert rec["source"] == {
        "type": "SOURCE_TYPE_DELEGATED_SOURCE",
        "outway_peer_id": env.g.consumer.peer_id,
        "delegator_peer_id": env.g.delegator.peer_id,
    }


def test_Inway_TransactionLog_5(env: Env) -> None:
    """Service offered on behalf of another peer: the record's destination holds the delegator (pdi)."""
    txid = new_transaction_id()
    token = env.g.mint(pdi=env.g.delegator.peer_id)
    assert env.get("/log5", txid=txid, token=token).status_code == 200
    [rec] = env.records(txid)
    assert rec["destination"] == {
        "type": "DESTINATION_TYPE_DELEGATED_DESTINATION",
        "service_peer_id": env.g.provider.peer_id,
        "delegator_peer_id": env.g.delegator.peer_id,
    }


def test_Inway_TransactionLog_6(env: Env) -> None:
    """The TransactionLog fails: 500 TRANSACTION_LOG_WRITE_ERROR and the service is never called
    (checked at the service). The log is broken from outside while the Inway runs."""
    engine = sa.create_engine(env.txlog_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER broken BEFORE INSERT ON fsc_txlog_records BEGIN SELECT RAISE(ABORT, 'disk'); END"
        )
    try:
        before = len(env.calls())
        txid = new_transaction_id()
        r = env.get("/must-not-arrive", txid=txid)
        assert_fsc_error(r, 500, "TRANSACTION_LOG_WRITE_ERROR", INWAY)
        assert len(env.calls()) == before
        assert not any(c["path"] == "/must-not-arrive" for c in env.calls())
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER broken")
        engine.dispose()
    assert env.get("/after-repair").status_code == 200  # recovers without a restart


def test_Inway_Port_1(env: Env) -> None:
    """The Inway answers on port 443, and on 8443 when configured so."""
    assert env.inway.endswith(":443")
    assert env.get("/port").status_code == 200
    url, _, _ = env.g.start_inway({"basisregister": env.service_url}, port=8443)
    token = env.g.mint(aud=url)
    r = env.consumer.get(
        url + "/port", headers={"Fsc-Authorization": token, "Fsc-Transaction-Id": new_transaction_id()}
    )
    assert r.status_code == 200


# -- MUSTs of fsc-core the suite does not list ----------------------------------------------------


def test_inway_wrong_group_id_403(env: Env) -> None:
    before = len(env.calls())
    r = env.get(token=env.g.mint(gid="another-group"))
    assert_fsc_error(r, 403, "ERROR_CODE_WRONG_GROUP_ID_IN_TOKEN", INWAY)
    assert len(env.calls()) == before


def test_inway_unknown_service_404(env: Env) -> None:
    r = env.get(token=env.g.mint(svc="not-offered-here"))
    assert_fsc_error(r, 404, "ERROR_CODE_SERVICE_NOT_FOUND", INWAY)


def test_inway_unreachable_service_502(env: Env) -> None:
    r = env.get(token=env.g.mint(svc="unreachable"))
    assert_fsc_error(r, 502, "ERROR_CODE_SERVICE_UNREACHABLE", INWAY)


@pytest.mark.parametrize(
    "case",
    ["other-signer", "wrong-issuer", "wrong-audience", "not-yet-valid", "garbage", "alg-none", "tampered"],
)
def test_inway_invalid_tokens_401(env: Env, case: str) -> None:
    g = env.g
    token = {
        "other-signer": lambda: g.mint(signer=g.delegator),
        "wrong-issuer": lambda: g.mint(iss=g.delegator.peer_id),
        "wrong-audience": lambda: g.mint(aud="https://127.0.1.250:443"),
        "not-yet-valid": lambda: g.mint(now=time.time() + 600),
        "garbage": lambda: "not.a.token",
        "alg-none": lambda: _alg_none(g.mint()),
        "tampered": lambda: _tamper(g.mint()),
    }[case]()
    before = len(env.calls())
    r = env.get(token=token)
    assert_fsc_error(r, 401, "ERROR_CODE_ACCESS_TOKEN_INVALID", INWAY)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert len(env.calls()) == before


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _alg_none(token: str) -> str:
    import base64
    import json

    h, p, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(h + "=="))
    header["alg"] = "none"
    return f"{_b64(json.dumps(header).encode())}.{p}."


def _tamper(token: str) -> str:
    import base64
    import json

    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["svc"] = "unreachable"
    return f"{h}.{_b64(json.dumps(claims).encode())}.{s}"


def test_inway_path_query_method_body_and_trace_unaltered(env: Env) -> None:
    path = "/a%2Fb/c;d/%E2%82%AC?q=1&q=2&x=%20y"
    body = bytes(range(256)) * 4096  # 1 MiB, streamed
    r = env.get(
        path,
        method="POST",
        content=body,
        headers={
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "vendor=x",
            "X-Test": "kept",
        },
    )
    assert r.status_code == 200, r.text
    call = env.calls()[-1]
    assert call["path"] == path and call["method"] == "POST" and call["body_bytes"] == len(body)
    assert call["headers"]["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert call["headers"]["tracestate"] == "vendor=x" and call["headers"]["X-Test"] == "kept"


def test_inway_returns_service_errors_unaltered(env: Env) -> None:
    r = env.get("/status/418")
    assert r.status_code == 418 and r.headers["X-Service-Error"] == "yes"
    assert "Fsc-Error-Code" not in r.headers and r.json()["status"] == 418


def test_inway_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "inway.toml"
    cfg.write_text('listen = "127.0.0.1:1"\n')
    res = subprocess.run(
        [sys.executable, "-m", "nds", "fsc", "inway", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "invalid config" in res.stderr and "Traceback" not in res.stderr
    assert GROUP_ID  # the harness' group is unaffected


def test_inway_head_keeps_the_services_headers(env: Env) -> None:
    r = env.get("/bench/1k", method="HEAD")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == "1024"


@pytest.mark.parametrize("kind", ["bytes", "chunked"])
def test_inway_streams_large_responses_intact(env: Env, kind: str) -> None:
    n = 5 * 1024 * 1024 + 123
    r = env.get(f"/{kind}/{n}")
    assert r.status_code == 200
    expected = (bytes(range(256)) * 256 * (n // 65536 + 1))[:n]
    assert len(r.content) == n and r.content == expected
