"""FSC Core 1.1.x hashing (fsc-core branch master, §Content hash, §Grant hash, §Data types).

Byte concatenation, no separators or length prefixes:

* strings: UTF-8; int32/int64: little-endian two's complement; ``iv``: the 16 bytes of the UUID
  (RFC 9562 network order, i.e. ``uuid.UUID.bytes``);
* grant bytes = group_id ‖ iv ‖ the grant's fields in manager.yaml order, the grant type and service
  type as int32 (§Type mappings), other enums (``protocol``, ``role``) as their UTF-8 string;
* content bytes = group_id ‖ iv ‖ not_before (int64) ‖ not_after (int64) ‖ created_at (int64) ‖
  the UTF-8 grant hash strings sorted ascending (byte order), concatenated.

``hash_algorithm`` selects the digest and the ``$1$`` prefix but is not itself in the bytes.
"""

from __future__ import annotations

import struct

from nds.fsc.contracts.errors import CONTENT_INVALID, ContractFormatError
from nds.fsc.contracts.hashes import format_hash
from nds.fsc.contracts.kinds import (
    GRANT_HASH_TYPES,
    SERVICE_TYPE_CODES,
    FscVersion,
    GrantType,
    GrantTypeCode,
    HashType,
)
from nds.fsc.contracts.model import (
    ContractContent,
    DelegatedServiceConnectionGrant,
    DelegatedServicePublicationGrant,
    Grant,
    PeerRegistrationGrant,
    PublishedService,
    Service,
    ServiceConnectionGrant,
    ServicePublicationGrant,
)

GRANT_TYPE_CODES: dict[GrantType, GrantTypeCode] = {
    GrantType.SERVICE_PUBLICATION: GrantTypeCode.SERVICE_PUBLICATION,
    GrantType.SERVICE_CONNECTION: GrantTypeCode.SERVICE_CONNECTION,
    GrantType.DELEGATED_SERVICE_CONNECTION: GrantTypeCode.DELEGATED_SERVICE_CONNECTION,
    GrantType.DELEGATED_SERVICE_PUBLICATION: GrantTypeCode.DELEGATED_SERVICE_PUBLICATION,
    GrantType.PEER_REGISTRATION: GrantTypeCode.PEER_REGISTRATION,
}


def int32(value: int) -> bytes:
    return struct.pack("<i", value)


def int64(value: int) -> bytes:
    return struct.pack("<q", value)


def utf8(value: str) -> bytes:
    return value.encode("utf-8")


Segment = tuple[str, bytes]  # (field path, its bytes) — the hash input, labelled for debugging


def _connection_service(service: Service) -> list[Segment]:
    out = [("data.service.type (int32)", int32(SERVICE_TYPE_CODES[service.type])),
           ("data.service.peer_id", utf8(service.peer_id)),
           ("data.service.name", utf8(service.name))]
    if service.delegator is not None:
        out.append(("data.service.delegator.peer_id", utf8(service.delegator.peer_id)))
    return out


def _published_service(service: PublishedService) -> list[Segment]:
    return [("data.service.peer_id", utf8(service.peer_id)), ("data.service.name", utf8(service.name)),
            ("data.service.protocol", utf8(service.protocol.value))]


def grant_field_segments(grant: Grant) -> list[Segment]:
    """The grant's own fields in manager.yaml order (without group_id and iv)."""
    if grant.properties is not None:
        raise ContractFormatError(CONTENT_INVALID, "grant properties cannot be hashed in FSC 1.1")
    out: list[Segment] = [("data.type (int32)", int32(GRANT_TYPE_CODES[grant.grant_type]))]
    if isinstance(grant, ServicePublicationGrant | DelegatedServicePublicationGrant):
        out.append(("data.directory.peer_id", utf8(grant.directory.peer_id)))
        out += _published_service(grant.service)
    elif isinstance(grant, ServiceConnectionGrant | DelegatedServiceConnectionGrant):
        out.append(("data.outway.peer_id", utf8(grant.outway.peer_id)))
        out.append(("data.outway.public_key_thumbprint", utf8(grant.outway.public_key_thumbprint)))
        out += _connection_service(grant.service)
    elif isinstance(grant, PeerRegistrationGrant):
        admin = grant.membership_administrator
        out += [("data.membership_administrator.peer_id", utf8(admin.peer_id)),
                ("data.membership_administrator.regulated_area_name", utf8(admin.regulated_area_name)),
                ("data.member.peer_id", utf8(grant.member.peer_id)),
                ("data.member.role", utf8(grant.member.role.value))]
    if isinstance(grant, DelegatedServiceConnectionGrant | DelegatedServicePublicationGrant):
        out.append(("data.delegator.peer_id", utf8(grant.delegator.peer_id)))
    return out


def grant_segments(content: ContractContent, grant: Grant) -> list[Segment]:
    return [("group_id", utf8(content.group_id)), ("iv", content.iv.bytes), *grant_field_segments(grant)]


def content_segments(content: ContractContent) -> list[Segment]:
    hashes = sorted(utf8(V11Scheme().grant_hash(content, grant)) for grant in content.grants)
    return [
        ("group_id", utf8(content.group_id)),
        ("iv", content.iv.bytes),
        ("validity.not_before (int64)", int64(content.validity.not_before)),
        ("validity.not_after (int64)", int64(content.validity.not_after)),
        ("created_at (int64)", int64(content.created_at)),
        *((f"grant hash, sorted #{i + 1}", h) for i, h in enumerate(hashes)),
    ]


def grant_bytes(content: ContractContent, grant: Grant) -> bytes:
    return b"".join(data for _, data in grant_segments(content, grant))


def content_bytes(content: ContractContent) -> bytes:
    return b"".join(data for _, data in content_segments(content))


class V11Scheme:
    """FSC 1.1.x content and grant hashes."""

    version = FscVersion.V1_1

    def content_hash(self, content: ContractContent) -> str:
        return format_hash(content.hash_algorithm, HashType.CONTRACT, content_bytes(content))

    def grant_hash(self, content: ContractContent, grant: Grant) -> str:
        return format_hash(content.hash_algorithm, GRANT_HASH_TYPES[grant.grant_type],
                           grant_bytes(content, grant))

    def grant_hashes(self, content: ContractContent) -> tuple[str, ...]:
        return tuple(self.grant_hash(content, grant) for grant in content.grants)
