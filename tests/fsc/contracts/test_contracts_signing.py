"""Signature payload rules (fsc-core §Signatures, "JWS Payload example", "Payload fields")."""

from __future__ import annotations

import base64
import json

import fsc_contract_factories as f
import pytest

from nds.fsc.contracts.errors import ErrorCode, SignaturePayloadError
from nds.fsc.contracts.kinds import SignatureType
from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.signing import check_signature_payload, signature_payload
from nds.fsc.contracts.versions import scheme_for

pytestmark = pytest.mark.unit

HASH = scheme_for("1.1").content_hash(parse_contract_content(f.content(), "1.1"))
OTHER = scheme_for("draft").content_hash(parse_contract_content(f.content(), "draft"))


def test_payload_shape_matches_the_spec_example() -> None:
    payload = signature_payload(HASH, "accept", 1672527600)
    assert payload == {"contract_content_hash": HASH, "type": "accept", "signed_at": 1672527600}
    assert list(payload) == ["contract_content_hash", "type", "signed_at"]


@pytest.mark.parametrize("sig_type", list(SignatureType))
def test_round_trip_through_json(sig_type: SignatureType) -> None:
    payload = json.loads(json.dumps(signature_payload(HASH, sig_type, 1)))
    parsed = check_signature_payload(payload, HASH, sig_type)
    assert (parsed.contract_content_hash, parsed.type, parsed.signed_at) == (HASH, sig_type, 1)


def test_building_a_payload_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        signature_payload(HASH, "approve", 1)
    with pytest.raises(ValueError):
        signature_payload(HASH, "accept", -1)
    grant_hash = scheme_for("1.1").grant_hashes(parse_contract_content(f.content(), "1.1"))[0]
    with pytest.raises(ValueError):  # a grant hash is not a contract content hash
        signature_payload(grant_hash, "accept", 1)


def _code(payload: object, expected_hash: str = HASH, sig_type: str = "accept", **kw: int) -> ErrorCode:
    with pytest.raises(SignaturePayloadError) as err:
        check_signature_payload(payload, expected_hash, sig_type, **kw)
    assert err.value.to_error_body()["code"] == err.value.code.value
    return err.value.code


def test_hash_mismatch() -> None:
    assert _code(signature_payload(OTHER, "accept", 1)) is ErrorCode.SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH


def test_wrong_type_for_the_endpoint() -> None:
    for endpoint in ("reject", "revoke"):
        assert _code(signature_payload(HASH, "accept", 1), sig_type=endpoint) is \
            ErrorCode.SIGNATURE_VERIFICATION_FAILED


def test_unknown_hash_algorithm_in_payload() -> None:
    payload = signature_payload(HASH, "accept", 1)
    payload["contract_content_hash"] = "$2" + HASH[2:]
    assert _code(payload) is ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH


@pytest.mark.parametrize("payload", [
    None, [], "accept",
    {"type": "accept", "signed_at": 1},
    {"contract_content_hash": HASH, "signed_at": 1},
    {"contract_content_hash": HASH, "type": "accept"},
    {"contract_content_hash": HASH, "type": "ACCEPT", "signed_at": 1},
    {"contract_content_hash": HASH, "type": "accept", "signed_at": "1"},
    {"contract_content_hash": HASH, "type": "accept", "signed_at": True},
    {"contract_content_hash": HASH, "type": "accept", "signed_at": 1.5},
    {"contract_content_hash": 5, "type": "accept", "signed_at": 1},
])
def test_malformed_payloads(payload: object) -> None:
    assert _code(payload) is ErrorCode.SIGNATURE_VERIFICATION_FAILED


def test_malformed_hash_in_payload_is_a_mismatch() -> None:
    payload = signature_payload(HASH, "accept", 1)
    payload["contract_content_hash"] = "not-a-hash"
    assert _code(payload) is ErrorCode.SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH


def test_signed_at_in_the_future() -> None:
    payload = signature_payload(HASH, "accept", f.NOW + 61)
    assert _code(payload, now=f.NOW, max_clock_skew=60) is ErrorCode.SIGNATURE_VERIFICATION_FAILED
    assert check_signature_payload(signature_payload(HASH, "accept", f.NOW + 60), HASH, "accept",
                                   now=f.NOW, max_clock_skew=60).signed_at == f.NOW + 60


def test_extra_members_are_ignored() -> None:
    payload = dict(signature_payload(HASH, "revoke", 1), note="x")
    assert check_signature_payload(payload, HASH, SignatureType.REVOKE).type is SignatureType.REVOKE


def test_manager_yaml_example_payload_uses_a_superseded_format() -> None:
    """fsc-core media/specs/manager.yaml ``signatureRequest`` example: its JWS payload has ``contentHash``
    (standard base64 with padding) and no ``signed_at``; FSC 1.1 text requires the fields above."""
    segment = ("eyJjb250ZW50SGFzaCI6IiQxJDEkWmFxbiszaWFoM2FkMmtuYjJKc2JhR2g2bi9rZ1UrUWpVK0pmTmhuVkdCd1RGbnN1"
               "TUNjOUlRcHlPM0xabmt0WUtaWWh4TnpKalh5RWlLMnVWZTZEZ3c9PSIsInR5cGUiOiJhY2NlcHQifQ")
    payload = json.loads(base64.urlsafe_b64decode(segment + "=="))
    assert set(payload) == {"contentHash", "type"}
    assert _code(payload) is ErrorCode.SIGNATURE_VERIFICATION_FAILED
