"""The Manager's single entry point to versioned hashing and contract validation.

Hashing is delegated to :func:`nds.fsc.contracts.versions.scheme_for`; validation to
:mod:`nds.fsc.contracts.validation` when it is available, otherwise to the rule list below (the same
rules of fsc-core §Contract Validation), so the Manager never hashes or validates with if-statements
about versions of its own.
"""

from __future__ import annotations

import importlib.util

from nds.fsc.contracts.errors import CONTENT_INVALID, GRANT_INVALID, ErrorCode, FscError
from nds.fsc.contracts.hashes import parse_hash
from nds.fsc.contracts.kinds import FscVersion
from nds.fsc.contracts.model import (
    PUBLICATION_GRANTS,
    ContractContent,
    PeerRegistrationGrant,
)
from nds.fsc.contracts.versions import scheme_for

_HAS_VALIDATION = importlib.util.find_spec("nds.fsc.contracts.validation") is not None


def content_hash(content: ContractContent, version: FscVersion) -> str:
    return scheme_for(version).content_hash(content)


def grant_hashes(content: ContractContent, version: FscVersion) -> list[str]:
    return list(scheme_for(version).grant_hashes(content))


def check_hash_format(text: str) -> None:
    """Raise FscError for a malformed hash or one naming an unknown hash algorithm."""
    parse_hash(text)


def validate(
    content: ContractContent,
    version: FscVersion,
    *,
    group_id: str,
    now: int,
    clock_skew: int,
    max_grants: int,
) -> None:
    """fsc-core §Contract Validation (rules that need no knowledge of Peers' certificates)."""
    if content.group_id != group_id:
        raise FscError(
            ErrorCode.INCORRECT_GROUP_ID,
            f"group id '{content.group_id}' does not match the group id '{group_id}' of this Manager",
        )
    if content.created_at > now + clock_skew:
        raise FscError(CONTENT_INVALID, "contract_content.created_at lies in the future")
    if content.validity.not_after <= content.validity.not_before:
        raise FscError(CONTENT_INVALID, "contract_content.validity.not_after must be later than not_before")
    if content.validity.not_after <= now - clock_skew:
        raise FscError(CONTENT_INVALID, "contract_content.validity.not_after must be in the future")
    if not content.grants:
        raise FscError(GRANT_INVALID, "contract_content.grants must contain at least one grant")
    if len(content.grants) > max_grants:
        raise FscError(GRANT_INVALID, f"at most {max_grants} grants per contract")
    publications = [g for g in content.grants if isinstance(g, PUBLICATION_GRANTS)]
    registrations = [g for g in content.grants if isinstance(g, PeerRegistrationGrant)]
    if publications and len(publications) != len(content.grants):
        raise FscError(
            ErrorCode.GRANT_COMBINATION_NOT_ALLOWED,
            "cannot combine a service publication grant with any other grant type",
        )
    if registrations and (len(registrations) != 1 or len(content.grants) != 1):
        raise FscError(
            ErrorCode.GRANT_COMBINATION_NOT_ALLOWED,
            "a peer registration grant must be the only grant of its contract",
        )
