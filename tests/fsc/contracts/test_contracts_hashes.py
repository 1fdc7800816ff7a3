"""Hash string format (fsc-core §Content hash/§Grant hash) against the spec's own example strings."""

from __future__ import annotations

import pytest

from nds.fsc.contracts.errors import ErrorCode, HashFormatError
from nds.fsc.contracts.hashes import parse_hash
from nds.fsc.contracts.kinds import HashAlgorithm, HashType

pytestmark = pytest.mark.unit

# manager.yaml examples (pathContractContentHash, grant_hash / scope).
YAML_CONTENT_HASH = ("$1$1$ouqPHvHP9-ZDKo4YDNz4GGYENOQQ80knSVg6lJ_MjaTLE_o3GgD1Vzyzteu791X0rkX6FvlJzyBYd"
                     "ZuD6hlWrQ")
YAML_GRANT_HASH = ("$1$4$-PQI7we01qIfEwq4O5UioLKzjGBgRva6F5-bUfDlKxUjcY5yX1MRsn6NKquDbL8VcklhYO9sk18rHD6"
                   "La3w_mg")
# specifications.md §Access token examples: the same digest in standard base64 ('+', '/').
SPEC_TOKEN_GTH = ("$1$4$+PQI7we01qIfEwq4O5UioLKzjGBgRva6F5+bUfDlKxUjcY5yX1MRsn6NKquDbL8VcklhYO9sk18rHD6"
                  "La3w/mg")
# manager.yaml example signatureContentMismatch: last character leaves non-zero padding bits.
YAML_NONCANONICAL = ("$1$1$rrvHPvHP9-ZDKo4YDNz4GGYENOQQ80knSVg6lJ_MjaTLE_o3GgD1Vzyzteu791X0rkX6FvlJzyBYd"
                     "ZuD6hlrfL")


def test_manager_yaml_examples_parse() -> None:
    content = parse_hash(YAML_CONTENT_HASH, expected_type=HashType.CONTRACT)
    assert content.algorithm is HashAlgorithm.SHA3_512 and len(content.digest) == 64
    grant = parse_hash(YAML_GRANT_HASH)
    assert grant.hash_type is HashType.DELEGATED_SERVICE_CONNECTION_GRANT


def test_standard_base64_is_not_base64url() -> None:
    with pytest.raises(HashFormatError) as err:
        parse_hash(SPEC_TOKEN_GTH)
    assert err.value.code is ErrorCode.SIGNATURE_VERIFICATION_FAILED


def test_non_canonical_base64url_is_refused() -> None:
    with pytest.raises(HashFormatError, match="64-byte"):
        parse_hash(YAML_NONCANONICAL)


@pytest.mark.parametrize(("text", "code"), [
    ("$2$1$" + YAML_CONTENT_HASH[5:], ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH),
    ("$0$1$" + YAML_CONTENT_HASH[5:], ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH),
    ("$1$7$" + YAML_CONTENT_HASH[5:], ErrorCode.SIGNATURE_VERIFICATION_FAILED),
    ("$1$1$" + YAML_CONTENT_HASH[5:-2], ErrorCode.SIGNATURE_VERIFICATION_FAILED),
    (YAML_CONTENT_HASH + "\n", ErrorCode.SIGNATURE_VERIFICATION_FAILED),
    (YAML_CONTENT_HASH + "=", ErrorCode.SIGNATURE_VERIFICATION_FAILED),
    ("1$1$" + YAML_CONTENT_HASH[5:], ErrorCode.SIGNATURE_VERIFICATION_FAILED),
    ("", ErrorCode.SIGNATURE_VERIFICATION_FAILED),
    ("$1$1$" + "A" * 2000, ErrorCode.SIGNATURE_VERIFICATION_FAILED),
])
def test_malformed_hashes(text: str, code: ErrorCode) -> None:
    with pytest.raises(HashFormatError) as err:
        parse_hash(text)
    assert err.value.code is code


def test_expected_type() -> None:
    with pytest.raises(HashFormatError, match="where 1 was expected"):
        parse_hash(YAML_GRANT_HASH, expected_type=HashType.CONTRACT)
