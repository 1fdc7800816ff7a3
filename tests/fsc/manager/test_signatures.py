"""fsc-test-suite manager.md: Manager-AcceptContract-1..9, -RejectContract-1..7, -RevokeContract-1..7.

Each scenario places a signature on a contract held by the Provider's Manager; the contract was
proposed by the Provider's officer through the admin API, so the calling Peer has not signed yet.
"""

from __future__ import annotations

import json

import pytest
from mgr_support import CONSUMER, OUTSIDER, PROVIDER, RSA_PEER, Harness, assert_fsc_error, b64url

pytestmark = pytest.mark.integration


def _proposed(h: Harness, outway: str = CONSUMER) -> tuple[dict, str]:
    content = h.content(h.sc(outway))
    return content, h.admin_create(PROVIDER, content)


def _forged(h: Harness, name: str, content_hash: str, sig_type: str, alg: str) -> str:
    """A JWS with an algorithm outside the allowlist (signed with HMAC or unsigned)."""
    import hashlib
    import hmac

    from nds.pki import cert_thumbprint_s256, load_certificate

    header = {"alg": alg, "x5t#S256": cert_thumbprint_s256(load_certificate(h.p(name).cert))}
    payload = {"contract_content_hash": content_hash, "type": sig_type, "signed_at": 1}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    if alg == "none":
        return signing_input + "."
    sig = hmac.new(b"secret", signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def _placed(h: Harness, sig_type: str, signer: str = CONSUMER, rsa_hash: int = 256) -> None:
    content, ch = _proposed(h, signer)
    sig = h.sign(signer, ch, sig_type, rsa_hash=rsa_hash)
    r = h.put_signature(signer, PROVIDER, sig_type, content, signature=sig)
    assert r.status_code == 201, r.text
    stored = h.contracts_seen_by(signer, PROVIDER)[ch]
    assert stored["signatures"][sig_type][h.pid(signer)] == sig


def _not_party(h: Harness, sig_type: str) -> None:
    content, _ch = _proposed(h)
    r = h.put_signature(OUTSIDER, PROVIDER, sig_type, content)
    assert_fsc_error(r, 422, "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT")


def _not_jws(h: Harness, sig_type: str) -> None:
    content, ch = _proposed(h)
    for bad in ("not-a-jws", "a.b", "e30.e30.", "!!!.???.###"):
        r = h.put_signature(CONSUMER, PROVIDER, sig_type, content, signature=bad)
        assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED")
    assert h.pid(CONSUMER) not in h.contracts_seen_by(CONSUMER, PROVIDER)[ch]["signatures"][sig_type]


def _hash_mismatch(h: Harness, sig_type: str) -> None:
    content, _ch = _proposed(h)
    other_hash = h.content_hash(h.content(h.sc(CONSUMER)))
    r = h.put_signature(
        CONSUMER, PROVIDER, sig_type, content, signature=h.sign(CONSUMER, other_hash, sig_type)
    )
    assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH")


def _wrong_type(h: Harness, sig_type: str) -> None:
    content, ch = _proposed(h)
    for other in {"accept", "reject", "revoke"} - {sig_type}:
        r = h.put_signature(CONSUMER, PROVIDER, sig_type, content, signature=h.sign(CONSUMER, ch, other))
        assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED")


def _url_mismatch(h: Harness, sig_type: str) -> None:
    content, _ch = _proposed(h)
    other_hash = h.content_hash(h.content(h.sc(CONSUMER)))
    r = h.put_signature(CONSUMER, PROVIDER, sig_type, content, url_hash=other_hash)
    assert_fsc_error(r, 422, "ERROR_CODE_URL_PATH_CONTENT_HASH_MISMATCH")


def _bad_alg(h: Harness, sig_type: str) -> None:
    content, ch = _proposed(h)
    for alg in ("HS256", "none", "PS256", "EdDSA"):
        r = h.put_signature(
            CONSUMER, PROVIDER, sig_type, content, signature=_forged(h, CONSUMER, ch, sig_type, alg)
        )
        assert_fsc_error(r, 422, "ERROR_CODE_UNKNOWN_ALGORITHM_SIGNATURE")
    assert h.pid(CONSUMER) not in h.contracts_seen_by(CONSUMER, PROVIDER)[ch]["signatures"][sig_type]


def test_Manager_AcceptContract_1(harness: Harness) -> None:
    _placed(harness, "accept")


def test_Manager_AcceptContract_2(harness: Harness) -> None:
    _not_party(harness, "accept")


def test_Manager_AcceptContract_3(harness: Harness) -> None:
    _not_jws(harness, "accept")


def test_Manager_AcceptContract_4(harness: Harness) -> None:
    _hash_mismatch(harness, "accept")


def test_Manager_AcceptContract_5(harness: Harness) -> None:
    _wrong_type(harness, "accept")


def test_Manager_AcceptContract_6(harness: Harness) -> None:
    _url_mismatch(harness, "accept")


def test_Manager_AcceptContract_7(harness: Harness) -> None:
    _bad_alg(harness, "accept")


@pytest.mark.parametrize("rsa_hash", [256, 384, 512])
def test_Manager_AcceptContract_8(harness: Harness, rsa_hash: int) -> None:
    _placed(harness, "accept", RSA_PEER, rsa_hash)


def test_Manager_AcceptContract_9(harness: Harness) -> None:
    _placed(harness, "accept", CONSUMER)


def test_Manager_RejectContract_1(harness: Harness) -> None:
    _placed(harness, "reject")


def test_Manager_RejectContract_2(harness: Harness) -> None:
    _not_party(harness, "reject")


def test_Manager_RejectContract_3(harness: Harness) -> None:
    _not_jws(harness, "reject")


def test_Manager_RejectContract_4(harness: Harness) -> None:
    _hash_mismatch(harness, "reject")


def test_Manager_RejectContract_5(harness: Harness) -> None:
    _wrong_type(harness, "reject")


def test_Manager_RejectContract_6(harness: Harness) -> None:
    _url_mismatch(harness, "reject")


def _unknown_hash_algorithm(h: Harness, sig_type: str) -> None:
    """The suite's text for Reject/Revoke-7 says "a hash with an unsupported algorithm": a URL hash
    naming an unknown hash algorithm is refused with UNKNOWN_HASH_ALGORITHM_HASH."""
    content, ch = _proposed(h)
    r = h.put_signature(CONSUMER, PROVIDER, sig_type, content, url_hash="$7$1$" + ch[5:])
    assert_fsc_error(r, 422, "ERROR_CODE_UNKNOWN_HASH_ALGORITHM_HASH")


def test_Manager_RejectContract_7(harness: Harness) -> None:
    _bad_alg(harness, "reject")
    _unknown_hash_algorithm(harness, "reject")


def test_Manager_RevokeContract_1(harness: Harness) -> None:
    _placed(harness, "revoke")


def test_Manager_RevokeContract_2(harness: Harness) -> None:
    _not_party(harness, "revoke")


def test_Manager_RevokeContract_3(harness: Harness) -> None:
    _not_jws(harness, "revoke")


def test_Manager_RevokeContract_4(harness: Harness) -> None:
    _hash_mismatch(harness, "revoke")


def test_Manager_RevokeContract_5(harness: Harness) -> None:
    _wrong_type(harness, "revoke")


def test_Manager_RevokeContract_6(harness: Harness) -> None:
    _url_mismatch(harness, "revoke")


def test_Manager_RevokeContract_7(harness: Harness) -> None:
    _bad_alg(harness, "revoke")
    _unknown_hash_algorithm(harness, "revoke")
