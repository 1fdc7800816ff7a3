"""Contract validation rules (fsc-core §Contract Validation) and request limits, each with the FSC
error code nds answers (see the error table in docs/fsc/manager.md)."""

from __future__ import annotations

import json
import time

import pytest
from mgr_support import CONSUMER, DELEGATOR, OUTSIDER, PROVIDER, SERVICE, Harness, assert_fsc_error

pytestmark = pytest.mark.integration

CONTENT_INVALID = "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED"
GRANT_INVALID = "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED"
DUMMY_HASH = "$1$1$" + "A" * 86


def _post_raw(
    h: Harness,
    body: bytes,
    *,
    caller: str = CONSUMER,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
):
    hdrs = {"Content-Type": content_type, "Fsc-Manager-Address": h.p(caller).address, **(headers or {})}
    return h.client(caller).post(f"{h.p(PROVIDER).address}/v1/contracts", content=body, headers=hdrs)


def _refused(h: Harness, content: dict, code: str, caller: str = CONSUMER) -> None:
    r = h.post_contract(caller, PROVIDER, content, signature=h.sign(caller, DUMMY_HASH))
    assert_fsc_error(r, 422, code)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda c, now: c.update(created_at=now + 3600), CONTENT_INVALID),
        (
            lambda c, now: c.update(validity={"not_before": now + 100, "not_after": now + 100}),
            CONTENT_INVALID,
        ),
        (lambda c, now: c.update(validity={"not_before": now + 100, "not_after": now + 50}), CONTENT_INVALID),
        (lambda c, now: c.update(validity={"not_before": now - 100, "not_after": now - 50}), CONTENT_INVALID),
        # Empty: nobody (not even the receiving Peer) is on it; the message also names the missing grants.
        (lambda c, now: c.update(grants=[]), "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT"),
        (lambda c, now: c.update(group_id="bad group!"), "ERROR_CODE_INCORRECT_GROUP_ID"),
        (lambda c, now: c.update(iv="not-a-uuid-not-a-uuid-not-a-uuid-xx"), CONTENT_INVALID),
        (lambda c, now: c.update(created_at="yesterday"), CONTENT_INVALID),
        (lambda c, now: c.update(extra="field"), CONTENT_INVALID),
        (lambda c, now: c.pop("validity"), CONTENT_INVALID),
        (lambda c, now: c["grants"][0]["data"].update(type="GRANT_TYPE_UNKNOWN"), CONTENT_INVALID),
        (
            lambda c, now: c["grants"][0]["data"]["service"].update(name="bad name/with slash"),
            CONTENT_INVALID,
        ),
        (
            lambda c, now: c["grants"][0]["data"]["outway"].update(public_key_thumbprint="xyz"),
            "ERROR_CODE_INCORRECT_PUBLIC_KEY_THUMBPRINT",
        ),
    ],
    ids=[
        "created-in-future",
        "not-after-equals-not-before",
        "not-after-before-not-before",
        "expired",
        "no-grants",
        "group-id-pattern",
        "iv-not-uuid",
        "created-at-string",
        "unknown-field",
        "missing-validity",
        "unknown-grant-type",
        "service-name-pattern",
        "thumbprint-format",
    ],
)
def test_contract_validation_rules(harness: Harness, change, code: str) -> None:
    h = harness
    content = h.content(h.sc(CONSUMER))
    change(content, int(time.time()))
    r = h.post_contract(CONSUMER, PROVIDER, content, signature=h.sign(CONSUMER, DUMMY_HASH))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["domain"] == "ERROR_DOMAIN_MANAGER"
    assert r.headers["Fsc-Error-Code"] == body["code"]
    if code != CONTENT_INVALID:
        assert body["code"] == code, body


def test_future_not_before_is_valid_but_gives_no_token_yet(harness: Harness) -> None:
    h = harness
    now = int(time.time())
    content = h.content(h.sc(CONSUMER), validity={"not_before": now + 3600, "not_after": now + 7200})
    assert h.post_contract(CONSUMER, PROVIDER, content).status_code == 201
    h.admin_sign(PROVIDER, h.content_hash(content))
    gh = h.grant_hashes(content)[0]
    r = h.token(
        CONSUMER, PROVIDER, {"grant_type": "client_credentials", "scope": gh, "client_id": h.pid(CONSUMER)}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "not valid yet" in r.json()["error_description"]


def test_iv_is_unique(harness: Harness) -> None:
    h = harness
    first = h.content(h.sc(CONSUMER))
    assert h.post_contract(CONSUMER, PROVIDER, first).status_code == 201
    # The same contract again is idempotent (the outbox may deliver twice).
    assert h.post_contract(CONSUMER, PROVIDER, first).status_code == 201
    second = h.content(h.sc(CONSUMER, name="kadaster-data"), iv=first["iv"])
    r = h.post_contract(CONSUMER, PROVIDER, second)
    assert_fsc_error(r, 422, CONTENT_INVALID)
    assert "iv" in r.json()["message"]


def test_service_must_be_offered_by_receiving_peer(harness: Harness) -> None:
    h = harness
    _refused(h, h.content(h.sc(CONSUMER, name="no-such-service")), GRANT_INVALID)


def test_receiving_peer_must_be_on_contract(harness: Harness) -> None:
    h = harness
    content = h.content(h.sc(CONSUMER, provider=DELEGATOR, name=SERVICE))
    _refused(h, content, "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT")


def test_non_directory_refuses_publication(harness: Harness) -> None:
    h = harness
    grant = h.sp(CONSUMER)
    grant["directory"]["peer_id"] = h.pid(PROVIDER)
    _refused(h, h.content(grant), GRANT_INVALID)


def test_fsc_manager_address_is_required_and_checked(harness: Harness) -> None:
    h = harness
    content = h.content(h.sc(CONSUMER))
    code = "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED"
    r = h.client(CONSUMER).post(
        f"{h.p(PROVIDER).address}/v1/contracts",
        json={"contract_content": content, "signature": h.sign(CONSUMER, DUMMY_HASH)},
    )
    assert_fsc_error(r, 400, code)
    # Another Peer's address (not in the caller's certificate) is refused before anything calls it.
    r = h.post_contract(CONSUMER, PROVIDER, content, headers={"Fsc-Manager-Address": h.p(OUTSIDER).address})
    assert_fsc_error(r, 400, code)
    assert h.content_hash(content) not in h.contracts_seen_by(CONSUMER, PROVIDER)


def test_request_limits_and_malformed_bodies(harness: Harness) -> None:
    h = harness
    r = _post_raw(h, b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert_fsc_error(r, 413, CONTENT_INVALID)
    r = _post_raw(h, b"[" * 1000 + b"]" * 1000)
    assert_fsc_error(r, 400, CONTENT_INVALID)
    for bad in (b"{", b"null", b"[]", b'{"a":1,"a":2}', b'{"a":NaN}', b"\xff\xfe", b""):
        r = _post_raw(h, bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["Fsc-Error-Code"] == CONTENT_INVALID
    r = _post_raw(h, b"{}", content_type="text/plain")
    assert r.status_code == 415
    r = _post_raw(h, json.dumps({"contract_content": 5, "signature": 5}).encode())
    assert r.status_code == 422 and r.headers["Fsc-Error-Code"]
    content = h.content(*[h.sc(CONSUMER) for _ in range(101)])
    _refused(h, content, GRANT_INVALID)


def test_delegator_must_be_party_when_submitting(harness: Harness) -> None:
    h = harness
    _refused(
        h, h.content(h.dsc(CONSUMER, DELEGATOR)), "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT", caller=OUTSIDER
    )


def test_offering_peer_rule(harness: Harness) -> None:
    """A DelegatedServiceConnectionGrant is offered to the Service's Peer by the Delegator, not the Outway;
    the Outway may still sign it afterwards (the order of signatures of three Peers is not fixed)."""
    h = harness
    content = h.content(h.dsc(CONSUMER, DELEGATOR))
    r = h.post_contract(CONSUMER, PROVIDER, content)
    assert_fsc_error(r, 422, GRANT_INVALID)
    assert "offered" in r.json()["message"]
    r = h.put_signature(CONSUMER, PROVIDER, "accept", content)
    assert r.status_code == 201, r.text


def test_writes_must_come_from_the_announced_address(harness: Harness) -> None:
    h = harness
    host = h.p(CONSUMER).address.rsplit(":", 1)[0]
    other = f"{host}:443"  # in the certificate, an FSC port, but not the address the Consumer uses
    content = h.content(h.sc(CONSUMER))
    r = h.post_contract(CONSUMER, PROVIDER, content, headers={"Fsc-Manager-Address": other})
    assert_fsc_error(r, 400, "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED")
    assert "announce" in r.json()["message"]
    announce = f"{h.p(PROVIDER).address}/v1/announce"
    try:
        assert h.client(CONSUMER).put(announce, headers={"Fsc-Manager-Address": other}).status_code == 200
        r = h.post_contract(CONSUMER, PROVIDER, content, headers={"Fsc-Manager-Address": other})
        assert r.status_code == 201, r.text
    finally:
        r = h.client(CONSUMER).put(announce, headers={"Fsc-Manager-Address": h.p(CONSUMER).address})
        assert r.status_code == 200
