"""Tables of the Manager (own MetaData; every table prefixed ``fsc_manager_``).

Contract state (proposed, valid, rejected, revoked, expired) is never stored: it is derived from the
signatures, the validity period and the signers' certificates each time it is needed.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nds.db import component_metadata

metadata = component_metadata()

HASH = 200  # "$1$1$" + 86 base64url chars for SHA3-512; room for longer future schemes

contracts = Table(
    "fsc_manager_contracts",
    metadata,
    Column("content_hash", String(HASH), primary_key=True),
    Column("iv", String(36), nullable=False),
    Column("group_id", String(100), nullable=False),
    Column("hash_algorithm", String(64), nullable=False),
    # The content exactly as agreed (JSON text, object and array order preserved).
    Column("content_json", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("not_before", BigInteger, nullable=False),
    Column("not_after", BigInteger, nullable=False),
    Column("received_at", Float, nullable=False),
    UniqueConstraint("iv", name="uq_fsc_manager_contracts_iv"),
)
Index("ix_fsc_manager_contracts_created", contracts.c.created_at, contracts.c.content_hash)

grants = Table(
    "fsc_manager_grants",
    metadata,
    Column("grant_hash", String(HASH), primary_key=True),
    Column("content_hash", String(HASH), ForeignKey("fsc_manager_contracts.content_hash"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("grant_type", String(64), nullable=False),
    Column("service_peer_id", String(255)),
    Column("service_name", String(255)),
    Column("service_delegator_peer_id", String(255)),
    Column("outway_peer_id", String(255)),
    Column("outway_public_key_thumbprint", String(64)),
    Column("delegator_peer_id", String(255)),
    Column("directory_peer_id", String(255)),
    Column("member_peer_id", String(255)),
    Column("membership_administrator_peer_id", String(255)),
    Column("regulated_area", String(255)),
)
Index("ix_fsc_manager_grants_contract", grants.c.content_hash)
Index("ix_fsc_manager_grants_type", grants.c.grant_type)

contract_peers = Table(
    "fsc_manager_contract_peers",
    metadata,
    Column("content_hash", String(HASH), ForeignKey("fsc_manager_contracts.content_hash"), primary_key=True),
    Column("peer_id", String(255), primary_key=True),
)
Index("ix_fsc_manager_contract_peers_peer", contract_peers.c.peer_id)

signatures = Table(
    "fsc_manager_signatures",
    metadata,
    Column("content_hash", String(HASH), ForeignKey("fsc_manager_contracts.content_hash"), primary_key=True),
    Column("peer_id", String(255), primary_key=True),
    Column("sig_type", String(10), primary_key=True),
    Column("jws", Text, nullable=False),
    Column("signed_at", BigInteger, nullable=False),
    Column("cert_thumbprint", String(64), nullable=False),
    Column("received_at", Float, nullable=False),
)

peers = Table(
    "fsc_manager_peers",
    metadata,
    Column("peer_id", String(255), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("manager_address", String(255), nullable=False),
    Column("source", String(20), nullable=False),
    Column("updated_at", Float, nullable=False),
)

certificates = Table(
    "fsc_manager_certificates",
    metadata,
    Column("thumbprint", String(64), primary_key=True),  # x5t#S256 (base64url SHA-256 of the DER)
    Column("peer_id", String(255), nullable=False),
    Column("chain_der", LargeBinary, nullable=False),  # DER certificates, each prefixed by a 4-byte length
    Column("not_before", BigInteger, nullable=False),
    Column("not_after", BigInteger, nullable=False),
    Column("fetched_at", Float, nullable=False),
)

outbox = Table(
    "fsc_manager_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target_peer_id", String(255), nullable=False),
    Column("action", String(10), nullable=False),  # submit | accept | reject | revoke
    Column("content_hash", String(HASH), nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float),
)
Index("ix_fsc_manager_outbox_due", outbox.c.delivered_at, outbox.c.next_attempt_at)

inways = Table(
    "fsc_manager_inways",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("address", String(255), nullable=False),
)

services = Table(
    "fsc_manager_services",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("inway_name", String(100), ForeignKey("fsc_manager_inways.name"), nullable=False),
    Column("endpoint_url", String(1000), nullable=False),
    Column("protocol", String(40), nullable=False),
    Column("regulated_area", String(100)),  # fsc-regulated-area: the area the Service belongs to
)
