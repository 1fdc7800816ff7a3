"""Hash strings shared by both FSC versions: ``$<algorithm>$<hash type>$<base64url digest>``.

fsc-core §Content hash / §Grant hash: the digest is base64url without padding (RFC 4648 §5), the
algorithm and hash type are the int32 values of the §Type mappings tables.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from nds.fsc.contracts.errors import ErrorCode, HashFormatError
from nds.fsc.contracts.kinds import HASH_ALGORITHM_CODES, HashAlgorithm, HashType

MAX_HASH_LENGTH = 1024  # manager.yaml: grant_hash / scope maxLength
_HASH_RE = re.compile(r"^\$([0-9]{1,10})\$([0-9]{1,10})\$([A-Za-z0-9_-]+)$")
_ALGORITHM_BY_CODE = {code: alg for alg, code in HASH_ALGORITHM_CODES.items()}
_DIGEST_SIZE = {HashAlgorithm.SHA3_512: 64}


def digest(algorithm: HashAlgorithm, data: bytes) -> bytes:
    if algorithm is HashAlgorithm.SHA3_512:
        return hashlib.sha3_512(data).digest()
    raise HashFormatError(ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH, f"unsupported hash algorithm {algorithm}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def format_hash(algorithm: HashAlgorithm, hash_type: HashType, data: bytes) -> str:
    """Hash ``data`` and format it as ``$<alg>$<type>$<base64url>``."""
    return f"${HASH_ALGORITHM_CODES[algorithm]}${int(hash_type)}${b64url(digest(algorithm, data))}"


@dataclass(frozen=True, slots=True)
class ParsedHash:
    algorithm: HashAlgorithm
    hash_type: HashType
    digest: bytes


def parse_hash(text: str, *, expected_type: HashType | None = None) -> ParsedHash:
    """Parse a content or grant hash string.

    Raises HashFormatError: ERROR_CODE_UNKNOWN_HASH_ALGORITHM_HASH for an algorithm number other than
    the table's, ERROR_CODE_SIGNATURE_VERIFICATION_FAILED for anything else malformed (nds choice).
    """
    if not isinstance(text, str) or len(text) > MAX_HASH_LENGTH:
        raise HashFormatError(ErrorCode.SIGNATURE_VERIFICATION_FAILED, "hash is not a string of at most "
                              f"{MAX_HASH_LENGTH} characters")
    match = _HASH_RE.fullmatch(text)
    if not match:
        raise HashFormatError(ErrorCode.SIGNATURE_VERIFICATION_FAILED,
                              "hash must have the form $<algorithm>$<type>$<base64url>")
    algorithm = _ALGORITHM_BY_CODE.get(int(match.group(1)))
    if algorithm is None:
        raise HashFormatError(ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH,
                              f"unknown hash algorithm {match.group(1)} in hash")
    try:
        hash_type = HashType(int(match.group(2)))
    except ValueError:
        raise HashFormatError(ErrorCode.SIGNATURE_VERIFICATION_FAILED,
                              f"unknown hash type {match.group(2)} in hash") from None
    if expected_type is not None and hash_type is not expected_type:
        raise HashFormatError(ErrorCode.SIGNATURE_VERIFICATION_FAILED,
                              f"hash type {int(hash_type)} where {int(expected_type)} was expected")
    encoded = match.group(3)
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise HashFormatError(ErrorCode.SIGNATURE_VERIFICATION_FAILED,
                              "hash digest is not base64url") from None
    if len(raw) != _DIGEST_SIZE[algorithm] or b64url(raw) != encoded:
        raise HashFormatError(ErrorCode.SIGNATURE_VERIFICATION_FAILED,
                              f"hash digest is not a {_DIGEST_SIZE[algorithm]}-byte base64url value")
    return ParsedHash(algorithm, hash_type, raw)
