"""The error-code table in code, in manager.yaml's enum and in docs/fsc/contracts.md agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nds.fsc.contracts.errors import ERROR_TABLE, HTTP_STATUS, ErrorCode, FscError

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[3] / "docs" / "fsc" / "contracts.md"

# fsc-core manager.yaml .components.schemas.managerErrorCode (master and develop are identical).
MANAGER_YAML_ENUM = {
    "ERROR_CODE_INCORRECT_GROUP_ID", "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT",
    "ERROR_CODE_SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH", "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED",
    "ERROR_CODE_PEER_ID_SIGNATURE_MISMATCH", "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED",
    "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED", "ERROR_CODE_URL_PATH_CONTENT_HASH_MISMATCH",
    "ERROR_CODE_UNKNOWN_HASH_ALGORITHM_HASH", "ERROR_CODE_UNKNOWN_ALGORITHM_SIGNATURE",
    "ERROR_CODE_INCORRECT_PUBLIC_KEY_THUMBPRINT",
}


def test_codes_are_exactly_the_manager_yaml_enum() -> None:
    assert {code.value for code in ErrorCode} == MANAGER_YAML_ENUM
    assert [info.code for info in ERROR_TABLE] == list(ErrorCode)


def test_docs_table_matches_the_code_table() -> None:
    rows = re.findall(r"^\| (ERROR_CODE_[A-Z_]+) \| (\d{3}) \|", DOC.read_text(encoding="utf-8"), re.M)
    assert [(ErrorCode(code), int(status)) for code, status in rows] == [
        (info.code, info.http_status) for info in ERROR_TABLE
    ]


def test_spec_statuses() -> None:
    assert HTTP_STATUS[ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED] == 400
    assert {status for code, status in HTTP_STATUS.items()
            if code is not ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED} == {422}


def test_error_body() -> None:
    err = FscError(ErrorCode.INCORRECT_GROUP_ID, "group 'x' is not 'y'")
    assert err.to_error_body() == {"code": "ERROR_CODE_INCORRECT_GROUP_ID", "domain": "ERROR_DOMAIN_MANAGER",
                                   "message": "group 'x' is not 'y'"}
    assert err.http_status == 422
    assert isinstance(err, ValueError)
