"""FSC signature payloads (fsc-core §Signatures): what the JWS signs, not the JWS itself.

The compact JWS envelope (``x5t#S256`` header, algorithm allowlist) is :mod:`nds.fsc.jose`'s job; this
module builds and checks the payload ``{"contract_content_hash", "type", "signed_at"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nds.fsc.contracts.errors import ErrorCode, HashFormatError, SignaturePayloadError, brief
from nds.fsc.contracts.hashes import parse_hash
from nds.fsc.contracts.jsonvalues import MAX_SAFE_INTEGER
from nds.fsc.contracts.kinds import HashType, SignatureType

PAYLOAD_FIELDS = ("contract_content_hash", "type", "signed_at")


@dataclass(frozen=True, slots=True)
class SignaturePayload:
    contract_content_hash: str
    type: SignatureType
    signed_at: int


def _is_timestamp(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= MAX_SAFE_INTEGER


def signature_payload(content_hash: str, type: SignatureType | str, signed_at: int) -> dict[str, Any]:
    """The JWS payload object for a signature of ``type`` on the contract with ``content_hash``."""
    sig_type = SignatureType(type)
    parse_hash(content_hash, expected_type=HashType.CONTRACT)
    if not _is_timestamp(signed_at):
        raise ValueError("signed_at must be a non-negative integer (unix seconds)")
    return {"contract_content_hash": content_hash, "type": sig_type.value, "signed_at": signed_at}


def parse_signature_payload(payload: Any) -> SignaturePayload:
    """Parse a decoded JWS payload; SignaturePayloadError(SIGNATURE_VERIFICATION_FAILED) if malformed.

    Unknown extra members are ignored (they are covered by the JWS signature and harmless).
    """
    failed = ErrorCode.SIGNATURE_VERIFICATION_FAILED
    if not isinstance(payload, Mapping):
        raise SignaturePayloadError(failed, "signature payload must be a JSON object")
    for name in PAYLOAD_FIELDS:
        if name not in payload:
            raise SignaturePayloadError(failed, f"signature payload lacks {name!r}")
    content_hash = payload["contract_content_hash"]
    if not isinstance(content_hash, str):
        raise SignaturePayloadError(failed, "contract_content_hash must be a string")
    raw_type = payload["type"]
    try:
        sig_type = SignatureType(raw_type)
    except ValueError:
        raise SignaturePayloadError(
            failed, f"signature type {brief(raw_type)} is not one of accept, reject, revoke"
        ) from None
    signed_at = payload["signed_at"]
    if not _is_timestamp(signed_at):
        raise SignaturePayloadError(failed, "signed_at must be a non-negative integer (unix seconds)")
    return SignaturePayload(content_hash, sig_type, signed_at)


def check_signature_payload(
    payload: Any,
    expected_hash: str,
    expected_type: SignatureType | str,
    *,
    now: int | None = None,
    max_clock_skew: int = 0,
) -> SignaturePayload:
    """Check a decoded JWS payload against the contract and the endpoint's signature type.

    Raises SignaturePayloadError with:
    * ERROR_CODE_SIGNATURE_VERIFICATION_FAILED: malformed payload, wrong ``type`` for the endpoint,
      ``signed_at`` later than ``now + max_clock_skew`` (when ``now`` is given);
    * ERROR_CODE_UNKNOWN_HASH_ALGORITHM_HASH: the payload hash names an unknown algorithm;
    * ERROR_CODE_SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH: the hash is not ``expected_hash``.
    Returns the parsed payload.
    """
    parsed = parse_signature_payload(payload)
    try:
        parse_hash(parsed.contract_content_hash, expected_type=HashType.CONTRACT)
    except HashFormatError as exc:
        if exc.code is ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH:
            raise SignaturePayloadError(exc.code, f"signature payload: {exc.message}") from None
        raise SignaturePayloadError(
            ErrorCode.SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH,
            f"signature contract content hash is not a contract content hash: {exc.message}",
        ) from None
    if parsed.contract_content_hash != expected_hash:
        raise SignaturePayloadError(
            ErrorCode.SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH,
            f"signature contract content hash {brief(parsed.contract_content_hash, 200)} does not match the "
            f"contract content hash {expected_hash!r}",
        )
    expected = SignatureType(expected_type)
    if parsed.type is not expected:
        raise SignaturePayloadError(
            ErrorCode.SIGNATURE_VERIFICATION_FAILED,
            f"signature type is {parsed.type.value!r} but this endpoint takes {expected.value!r}",
        )
    if now is not None and parsed.signed_at > now + max_clock_skew:
        raise SignaturePayloadError(ErrorCode.SIGNATURE_VERIFICATION_FAILED, "signed_at lies in the future")
    return parsed
