"""Versioned hashing: ``scheme_for(version)`` returns the HashScheme of an FSC version.

* ``FscVersion.V1_1`` ("1.1"): fsc-core master, byte concatenation (:mod:`nds.fsc.contracts.v1_1`)
* ``FscVersion.DRAFT`` ("draft"): fsc-core develop, RFC 8785 JCS (:mod:`nds.fsc.contracts.draft`)
"""

from __future__ import annotations

from typing import Protocol

from nds.fsc.contracts.draft import DraftScheme
from nds.fsc.contracts.hashes import ParsedHash, parse_hash
from nds.fsc.contracts.kinds import GRANT_HASH_TYPES, FscVersion, HashType
from nds.fsc.contracts.model import ContractContent, Grant
from nds.fsc.contracts.v1_1 import GRANT_TYPE_CODES, V11Scheme

__all__ = [
    "FscVersion",
    "HashScheme",
    "ParsedHash",
    "find_grant",
    "grant_type_code",
    "grant_type_int32",
    "parse_hash",
    "scheme_for",
]


class HashScheme(Protocol):
    version: FscVersion

    def content_hash(self, content: ContractContent) -> str:
        """``$1$1$<base64url>`` of the contract content."""
        ...

    def grant_hash(self, content: ContractContent, grant: Grant) -> str:
        """``$1$<hash type>$<base64url>`` of one grant of ``content``."""
        ...

    def grant_hashes(self, content: ContractContent) -> tuple[str, ...]:
        """The grant hashes of all grants, in grant order."""
        ...


_SCHEMES: dict[FscVersion, HashScheme] = {FscVersion.V1_1: V11Scheme(), FscVersion.DRAFT: DraftScheme()}


def scheme_for(version: FscVersion | str) -> HashScheme:
    """The hash scheme of an FSC version (``"1.1"`` or ``"draft"``); ValueError for others."""
    return _SCHEMES[FscVersion(version)]


def grant_type_code(grant: Grant) -> int:
    """The hash type of a grant: the ``<type>`` in ``$1$<type>$`` (2, 3, 4, 5, or 6)."""
    return int(GRANT_HASH_TYPES[grant.grant_type])


def grant_type_int32(grant: Grant) -> int:
    """The §Type mappings "Grant types" value used inside FSC 1.1 grant bytes (1..4; 5 for registration)."""
    return int(GRANT_TYPE_CODES[grant.grant_type])


def find_grant(content: ContractContent, grant_hash: str, version: FscVersion | str) -> Grant | None:
    """The grant of ``content`` whose grant hash is ``grant_hash``, or None."""
    scheme = scheme_for(version)
    for grant, candidate in zip(content.grants, scheme.grant_hashes(content), strict=True):
        if candidate == grant_hash:
            return grant
    return None


CONTRACT_HASH_TYPE = HashType.CONTRACT
