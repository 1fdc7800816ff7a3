"""FSC Manager error codes and the exceptions of the contracts package.

One table (``ERROR_TABLE``) maps every ``ERROR_CODE_*`` value of ``.components.schemas.managerErrorCode``
in fsc-core ``media/specs/manager.yaml`` to the HTTP status of the spec's "Codes" table and to what nds
uses it for. docs/fsc/contracts.md repeats this table; ``tests/fsc/contracts/test_errors.py`` checks that
the two agree.

FSC defines no code for "the contract content is malformed" or for the date rules of §Contract
Validation. The spec requires the ``code`` field to be one of the managerErrorCode values, so nds picks
the nearest existing code (see ``CONTENT_INVALID`` and ``GRANT_INVALID`` below) and explains the choice in
the message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """``.components.schemas.managerErrorCode`` (fsc-core master and develop manager.yaml)."""

    INCORRECT_GROUP_ID = "ERROR_CODE_INCORRECT_GROUP_ID"
    PEER_NOT_PART_OF_CONTRACT = "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT"
    SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH = "ERROR_CODE_SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH"
    PEER_CERTIFICATE_VERIFICATION_FAILED = "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED"
    PEER_ID_SIGNATURE_MISMATCH = "ERROR_CODE_PEER_ID_SIGNATURE_MISMATCH"
    SIGNATURE_VERIFICATION_FAILED = "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED"
    GRANT_COMBINATION_NOT_ALLOWED = "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED"
    URL_PATH_CONTENT_HASH_MISMATCH = "ERROR_CODE_URL_PATH_CONTENT_HASH_MISMATCH"
    UNKNOWN_HASH_ALGORITHM_HASH = "ERROR_CODE_UNKNOWN_HASH_ALGORITHM_HASH"
    UNKNOWN_ALGORITHM_SIGNATURE = "ERROR_CODE_UNKNOWN_ALGORITHM_SIGNATURE"
    INCORRECT_PUBLIC_KEY_THUMBPRINT = "ERROR_CODE_INCORRECT_PUBLIC_KEY_THUMBPRINT"


ERROR_DOMAIN_MANAGER = "ERROR_DOMAIN_MANAGER"


@dataclass(frozen=True, slots=True)
class ErrorCodeInfo:
    code: ErrorCode
    http_status: int
    nds_use: str


# HTTP status per the "Codes" table of fsc-core §Manager/Error response. INCORRECT_PUBLIC_KEY_THUMBPRINT
# is in the schema enum but not in that table; nds answers it with 422 like the other content errors.
ERROR_TABLE: tuple[ErrorCodeInfo, ...] = (
    ErrorCodeInfo(ErrorCode.INCORRECT_GROUP_ID, 422,
                  "group_id does not match the receiving Manager's Group, or violates the Group ID pattern"),
    ErrorCodeInfo(ErrorCode.PEER_NOT_PART_OF_CONTRACT, 422,
                  "the submitting/signing Peer or the receiving Peer is not a party on the contract"),
    ErrorCodeInfo(ErrorCode.SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH, 422,
                  "contract_content_hash of a signature payload differs from the content hash"),
    ErrorCodeInfo(ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED, 400,
                  "a trusted certificate whose subject is unusable (e.g. Peer ID format)"),
    ErrorCodeInfo(ErrorCode.PEER_ID_SIGNATURE_MISMATCH, 422,
                  "the signer's certificate Peer ID is not the submitting Peer"),
    ErrorCodeInfo(ErrorCode.SIGNATURE_VERIFICATION_FAILED, 422,
                  "invalid JWS or payload, wrong signature type; nds also uses it for malformed contract "
                  "content and violated date rules (no dedicated FSC code exists)"),
    ErrorCodeInfo(ErrorCode.GRANT_COMBINATION_NOT_ALLOWED, 422,
                  "publication/registration grants mixed with others, no grants, unknown grant type, "
                  "and other grant-level rule violations"),
    ErrorCodeInfo(ErrorCode.URL_PATH_CONTENT_HASH_MISMATCH, 422,
                  "the hash in the URL path differs from the hash of the content in the body"),
    ErrorCodeInfo(ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH, 422,
                  "hash_algorithm, or the algorithm field of a content/grant hash, is not supported"),
    ErrorCodeInfo(ErrorCode.UNKNOWN_ALGORITHM_SIGNATURE, 422,
                  "JWS alg outside RS256/384/512, ES256/384/512"),
    ErrorCodeInfo(ErrorCode.INCORRECT_PUBLIC_KEY_THUMBPRINT, 422,
                  "outway.public_key_thumbprint is not 64 hex characters"),
)

HTTP_STATUS: dict[ErrorCode, int] = {info.code: info.http_status for info in ERROR_TABLE}

# nds choices for conditions FSC has no dedicated code for (documented in docs/fsc/contracts.md).
CONTENT_INVALID = ErrorCode.SIGNATURE_VERIFICATION_FAILED
GRANT_INVALID = ErrorCode.GRANT_COMBINATION_NOT_ALLOWED


def brief(value: object, limit: int = 64) -> str:
    """``repr(value)`` cut to ``limit`` characters, for echoing client input in error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FscError(ValueError):
    """An FSC error with a managerErrorCode ``code`` and a user-facing ``message``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def to_error_body(self) -> dict[str, str]:
        """The ``.components.schemas.error`` body for this error."""
        return {"code": self.code.value, "domain": ERROR_DOMAIN_MANAGER, "message": self.message}


class ContractFormatError(FscError):
    """Contract content that is not a well-formed ``contractContent`` for the FSC version in use."""


class HashFormatError(FscError):
    """A content or grant hash string that is malformed or uses an unknown algorithm."""


class SignaturePayloadError(FscError):
    """A JWS payload that is not a valid FSC signature payload for the expected contract and type."""
