"""FSC draft hashing (fsc-core branch develop, §Content hash, §Grant hash): RFC 8785 JCS.

* content hash = $1$1$ ‖ base64url(SHA3-512(JCS(contract content)))
* grant hash   = $1$<type>$ ‖ base64url(SHA3-512(UTF-8(content hash string) ‖ JCS(grant.data)))

JCS is produced by the ``rfc8785`` library, never by ``json.dumps``. Array order is kept, so
reordering grants changes the content hash and every grant hash.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from nds.fsc.contracts.errors import CONTENT_INVALID, ContractFormatError
from nds.fsc.contracts.hashes import format_hash
from nds.fsc.contracts.kinds import GRANT_HASH_TYPES, FscVersion, HashType
from nds.fsc.contracts.model import ContractContent, Grant, grant_data_json, to_json


def jcs(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ContractFormatError(CONTENT_INVALID, f"cannot canonicalise JSON: {exc}") from None


def content_bytes(content: ContractContent) -> bytes:
    return jcs(to_json(content))


def grant_bytes(content: ContractContent, grant: Grant) -> bytes:
    return DraftScheme().content_hash(content).encode("ascii") + jcs(grant_data_json(grant))


class DraftScheme:
    """FSC draft (develop) content and grant hashes."""

    version = FscVersion.DRAFT

    def content_hash(self, content: ContractContent) -> str:
        return format_hash(content.hash_algorithm, HashType.CONTRACT, content_bytes(content))

    def grant_hash(self, content: ContractContent, grant: Grant) -> str:
        return format_hash(content.hash_algorithm, GRANT_HASH_TYPES[grant.grant_type],
                           grant_bytes(content, grant))

    def grant_hashes(self, content: ContractContent) -> tuple[str, ...]:
        prefix = self.content_hash(content).encode("ascii")
        return tuple(
            format_hash(content.hash_algorithm, GRANT_HASH_TYPES[grant.grant_type],
                        prefix + jcs(grant_data_json(grant)))
            for grant in content.grants
        )
