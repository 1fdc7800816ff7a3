"""Enumerations of FSC Core (manager.yaml schemas and the §Type mappings tables).

Integer values are the int32 values of the type-mapping tables in fsc-core specifications.md; where the
tables and the worked examples in the step lists disagree, the tables win (docs/fsc/contracts.md).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class FscVersion(StrEnum):
    """The FSC Core version a Group speaks; chooses hashing and the accepted contract shape."""

    V1_1 = "1.1"  # fsc-core branch master: FSC Core 1.1.x, byte-concatenation hashes
    DRAFT = "draft"  # fsc-core branch develop: RFC 8785 JCS hashes, grant ``properties``


class GrantType(StrEnum):
    """``.components.schemas.grantType`` plus the Regulated Area extension's PeerRegistrationGrant."""

    SERVICE_PUBLICATION = "GRANT_TYPE_SERVICE_PUBLICATION"
    SERVICE_CONNECTION = "GRANT_TYPE_SERVICE_CONNECTION"
    DELEGATED_SERVICE_CONNECTION = "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION"
    DELEGATED_SERVICE_PUBLICATION = "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION"
    # fsc-regulated-area names the schema ``grantPeerRegistration`` but its manager.yaml is not
    # published; nds spells the discriminator like the core ones (docs/fsc/contracts.md).
    PEER_REGISTRATION = "GRANT_TYPE_PEER_REGISTRATION"


class GrantTypeCode(IntEnum):
    """§Type mappings "Grant types" (int32 used inside FSC 1.1 grant hash bytes)."""

    SERVICE_PUBLICATION = 1
    SERVICE_CONNECTION = 2
    DELEGATED_SERVICE_CONNECTION = 3
    DELEGATED_SERVICE_PUBLICATION = 4
    PEER_REGISTRATION = 5  # not in any table; nds continues the sequence (documented)


class HashType(IntEnum):
    """§Type mappings "Hash types" and fsc-regulated-area's HASH_TYPE_PEER_REGISTRATION_GRANT."""

    CONTRACT = 1
    SERVICE_PUBLICATION_GRANT = 2
    SERVICE_CONNECTION_GRANT = 3
    DELEGATED_SERVICE_CONNECTION_GRANT = 4
    DELEGATED_SERVICE_PUBLICATION_GRANT = 5
    PEER_REGISTRATION_GRANT = 6


class HashAlgorithm(StrEnum):
    """``.components.schemas.hashAlgorithm``."""

    SHA3_512 = "HASH_ALGORITHM_SHA3_512"


HASH_ALGORITHM_CODES: dict[HashAlgorithm, int] = {HashAlgorithm.SHA3_512: 1}


class ServiceType(StrEnum):
    """``.components.schemas.serviceType``."""

    SERVICE = "SERVICE_TYPE_SERVICE"
    DELEGATED_SERVICE = "SERVICE_TYPE_DELEGATED_SERVICE"


SERVICE_TYPE_CODES: dict[ServiceType, int] = {ServiceType.SERVICE: 1, ServiceType.DELEGATED_SERVICE: 2}


class Protocol(StrEnum):
    """``.components.schemas.protocol``."""

    HTTP_1_1 = "PROTOCOL_TCP_HTTP_1.1"
    HTTP_2 = "PROTOCOL_TCP_HTTP_2"


class MemberRole(StrEnum):
    """fsc-regulated-area ``grant.data.member.role``."""

    MEMBER = "MEMBER"
    MEMBERSHIP_ADMINISTRATOR = "MEMBERSHIP_ADMINISTRATOR"


class SignatureType(StrEnum):
    """§Signature types."""

    ACCEPT = "accept"
    REJECT = "reject"
    REVOKE = "revoke"


# §Type mappings "Hash types" per grant type (the tables win over the step examples, which say
# SERVICE_CONNECTION → $1$2$); PEER_REGISTRATION from fsc-regulated-area.
GRANT_HASH_TYPES: dict[GrantType, HashType] = {
    GrantType.SERVICE_PUBLICATION: HashType.SERVICE_PUBLICATION_GRANT,
    GrantType.SERVICE_CONNECTION: HashType.SERVICE_CONNECTION_GRANT,
    GrantType.DELEGATED_SERVICE_CONNECTION: HashType.DELEGATED_SERVICE_CONNECTION_GRANT,
    GrantType.DELEGATED_SERVICE_PUBLICATION: HashType.DELEGATED_SERVICE_PUBLICATION_GRANT,
    GrantType.PEER_REGISTRATION: HashType.PEER_REGISTRATION_GRANT,
}
