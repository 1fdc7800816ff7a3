"""Propagation of signatures between real Managers (also to a Peer that was down), and certificate
renewal (same key: the grant keeps working) versus key rotation (the grant stops working)."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from mgr_support import CONSUMER, DELEGATOR, PROVIDER, Harness, assert_oauth_error, decode_jwt

from nds.pki import ca_files, cert_thumbprint_s256, load_certificate, renew_certificate, rotate_key

pytestmark = pytest.mark.integration


def _admin_contract(h: Harness, name: str, content_hash: str) -> dict | None:
    r = h.admin(name, "GET", "/contracts")
    assert r.status_code == 200, r.text
    return next((c for c in r.json()["contracts"] if c["content_hash"] == content_hash), None)


def test_signatures_propagate_to_every_peer(harness: Harness) -> None:
    """The Consumer's officer proposes through its own Manager; the Provider's officer accepts."""
    h = harness
    content = h.content(h.sc(CONSUMER))
    ch = h.admin_create(CONSUMER, content)
    h.wait_for(lambda: _admin_contract(h, PROVIDER, ch) is not None, what="the proposal at the Provider")
    assert _admin_contract(h, PROVIDER, ch)["state"] == "proposed"
    h.admin_sign(PROVIDER, ch)

    def consumer_sees_valid() -> bool:
        c = _admin_contract(h, CONSUMER, ch)
        return c is not None and c["state"] == "valid"

    h.wait_for(consumer_sees_valid, what="the Provider's accept at the Consumer")
    # A revoke by the Provider reaches the Consumer too.
    h.admin_sign(PROVIDER, ch, "revoke")
    h.wait_for(lambda: (_admin_contract(h, CONSUMER, ch) or {}).get("state") == "revoked", what="revoke")


def test_propagation_to_a_peer_that_was_down(harness: Harness) -> None:
    h = harness
    h.group.stop([DELEGATOR])
    try:
        content = h.content(h.sc(DELEGATOR))
        ch = h.admin_create(PROVIDER, content)

        def failed_once() -> bool:
            rows = h.admin(PROVIDER, "GET", "/outbox").json()["items"]
            return any(
                r["content_hash"] == ch and r["attempts"] >= 1 and r["delivered_at"] is None for r in rows
            )

        h.wait_for(failed_once, what="a failed delivery attempt")
    finally:
        h.group.start([DELEGATOR])
    h.wait_for(
        lambda: _admin_contract(h, DELEGATOR, ch) is not None, timeout=30, what="delivery after restart"
    )
    got = _admin_contract(h, DELEGATOR, ch)
    assert got is not None and h.pid(PROVIDER) in got["signatures"]["accept"]
    rows = h.admin(PROVIDER, "GET", "/outbox").json()["items"]
    assert all(r["delivered_at"] is not None for r in rows if r["content_hash"] == ch)


def _client_with(h: Harness, chain: Path, key: Path) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(h.group.ca_dir / "ca.pem"))
    ctx.load_cert_chain(str(chain), str(key))
    return httpx.Client(verify=ctx, timeout=10)


def test_renewal_keeps_grant_rotation_breaks_it(harness: Harness, tmp_path: Path) -> None:
    h = harness
    _content, gh = h.valid_connection()
    form = {"grant_type": "client_credentials", "scope": gh, "client_id": h.pid(CONSUMER)}
    ca = ca_files(h.group.ca_dir)
    renewed = renew_certificate(ca, h.p(CONSUMER).dir / "tls", tmp_path / "renewed")
    with _client_with(h, renewed.chain, renewed.key) as c:
        r = h.token(CONSUMER, PROVIDER, form, client=c)
        assert r.status_code == 200, r.text
        _hdr, claims = decode_jwt(r.json()["access_token"])
        # The token is bound to the renewed certificate, not the old one.
        assert claims["cnf"]["x5t#S256"] == cert_thumbprint_s256(load_certificate(renewed.cert))
    rotated = rotate_key(ca, h.p(CONSUMER).dir / "tls", tmp_path / "rotated")
    with _client_with(h, rotated.chain, rotated.key) as c:
        r = h.token(CONSUMER, PROVIDER, form, client=c)
        assert_oauth_error(r, "invalid_grant")
        assert "public key" in r.json()["error_description"]
