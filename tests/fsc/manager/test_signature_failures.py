"""Signature failures beyond the suite: unknown signer certificate, another CA, expired certificate,
someone else's certificate, JWKS rollover, a signer certificate that expires, RSA/EC both accepted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mgr_support import CONSUMER, DELEGATOR, PROVIDER, Harness, assert_fsc_error, assert_oauth_error

from nds.pki import ca_files, create_group_ca, issue_peer_certificate

pytestmark = pytest.mark.integration


def _extra(h: Harness, n: int) -> Path:
    d = h.p(CONSUMER).dir / "extra"
    d.mkdir(exist_ok=True)
    return d / f"{n}.pem"


def _issue(h: Harness, tmp: Path, *, peer: str = CONSUMER, ca_dir: Path | None = None, **kw: object) -> Path:
    ca = ca_files(ca_dir or h.group.ca_dir)
    files = issue_peer_certificate(
        ca, h.pid(peer), peer, [], tmp, ip_addresses=[h.p(CONSUMER).spec.host], **kw
    )  # type: ignore[arg-type]
    return Path(files.chain)


def _sign_with(h: Harness, chain: Path, content_hash: str, sig_type: str = "accept") -> str:
    return h.sign(CONSUMER, content_hash, sig_type, cert=chain, key=chain.parent / "key.pem")


def _proposed(h: Harness) -> tuple[dict, str]:
    content = h.content(h.sc(CONSUMER))
    return content, h.admin_create(PROVIDER, content)


def test_unknown_signer_certificate(harness: Harness, tmp_path: Path) -> None:
    """A valid Group certificate of the right Peer that its Manager does not publish in its JWKS."""
    h = harness
    chain = _issue(h, tmp_path / "unpublished")
    content, ch = _proposed(h)
    r = h.put_signature(CONSUMER, PROVIDER, "accept", content, signature=_sign_with(h, chain, ch))
    assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED")
    assert "unable to retrieve certificate" in r.json()["message"]


def test_certificate_from_another_ca(harness: Harness, tmp_path: Path) -> None:
    h = harness
    other = tmp_path / "other-ca"
    create_group_ca(other, "Rogue CA")
    chain = _issue(h, tmp_path / "rogue", ca_dir=other)
    _extra(h, 1).write_bytes(chain.read_bytes())
    try:
        content, ch = _proposed(h)
        r = h.put_signature(CONSUMER, PROVIDER, "accept", content, signature=_sign_with(h, chain, ch))
        assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED")
        assert "not valid" in r.json()["message"]
    finally:
        _extra(h, 1).unlink()


def test_expired_certificate(harness: Harness, tmp_path: Path) -> None:
    h = harness
    now = datetime.now(UTC)
    chain = _issue(
        h, tmp_path / "expired", not_before=now - timedelta(days=10), not_after=now - timedelta(days=1)
    )
    _extra(h, 2).write_bytes(chain.read_bytes())
    try:
        content, ch = _proposed(h)
        r = h.put_signature(CONSUMER, PROVIDER, "accept", content, signature=_sign_with(h, chain, ch))
        assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED")
        assert "expired" in r.json()["message"]
    finally:
        _extra(h, 2).unlink()


def test_certificate_of_another_peer(harness: Harness, tmp_path: Path) -> None:
    """Consumer B's Manager publishes a certificate of Delegator C and B signs with it."""
    h = harness
    chain = _issue(h, tmp_path / "someone-else", peer=DELEGATOR)
    _extra(h, 3).write_bytes(chain.read_bytes())
    try:
        content, ch = _proposed(h)
        r = h.put_signature(CONSUMER, PROVIDER, "accept", content, signature=_sign_with(h, chain, ch))
        assert_fsc_error(r, 422, "ERROR_CODE_PEER_ID_SIGNATURE_MISMATCH")
    finally:
        _extra(h, 3).unlink()


def test_renewed_signing_certificate_in_jwks_is_accepted(harness: Harness, tmp_path: Path) -> None:
    h = harness
    chain = _issue(h, tmp_path / "next")
    _extra(h, 1).write_bytes(chain.read_bytes())
    try:
        content, ch = _proposed(h)
        r = h.put_signature(CONSUMER, PROVIDER, "accept", content, signature=_sign_with(h, chain, ch))
        assert r.status_code == 201, r.text
    finally:
        _extra(h, 1).unlink()


def test_signer_certificate_expiry_invalidates_until_resigned(harness: Harness, tmp_path: Path) -> None:
    """fsc-core §Certificate renewal: without a valid signer certificate the contract is invalid."""
    h = harness
    now = datetime.now(UTC)
    chain = _issue(
        h, tmp_path / "short", not_before=now - timedelta(minutes=1), not_after=now + timedelta(seconds=4)
    )
    _extra(h, 2).write_bytes(chain.read_bytes())
    try:
        content, ch = _proposed(h)
        r = h.put_signature(CONSUMER, PROVIDER, "accept", content, signature=_sign_with(h, chain, ch))
        assert r.status_code == 201, r.text
        gh = h.grant_hashes(content)[0]
        form = {"grant_type": "client_credentials", "scope": gh, "client_id": h.pid(CONSUMER)}
        assert h.token(CONSUMER, PROVIDER, form).status_code == 200
        time.sleep(max(0.0, (now + timedelta(seconds=5) - datetime.now(UTC)).total_seconds()))
        r = h.token(CONSUMER, PROVIDER, form)
        assert_oauth_error(r, "invalid_grant")
        assert "certificate" in r.json()["error_description"]
        # Signing again with the current certificate makes the contract valid again.
        assert h.put_signature(CONSUMER, PROVIDER, "accept", content).status_code == 201
        assert h.token(CONSUMER, PROVIDER, form).status_code == 200
    finally:
        _extra(h, 2).unlink()
