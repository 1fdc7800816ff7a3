"""Transaction log records per FSC Logging (``Logius-standaarden/fsc-logging``), pure code.

A record says that a request under a grant went from an Outway peer (optionally on behalf of a
delegator) to a service of a peer (optionally offered on behalf of a delegator). Bodies, headers
and paths are never part of a record.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    INCOMING = "DIRECTION_INCOMING"  # written by the Inway
    OUTGOING = "DIRECTION_OUTGOING"  # written by the Outway


SOURCE_TYPE_SOURCE = "SOURCE_TYPE_SOURCE"
SOURCE_TYPE_DELEGATED = "SOURCE_TYPE_DELEGATED_SOURCE"
DESTINATION_TYPE_DESTINATION = "DESTINATION_TYPE_DESTINATION"
DESTINATION_TYPE_DELEGATED = "DESTINATION_TYPE_DELEGATED_DESTINATION"

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


_rng = random.Random(os.urandom(32))  # uniqueness, not secrecy; seeded from the OS


def _reseed() -> None:
    _rng.seed(os.urandom(32))


os.register_at_fork(after_in_child=_reseed)  # forked workers must not share a random sequence


def new_transaction_id() -> str:
    """A fresh UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, then 74 random bits.

    The random bits come from a per-process generator seeded from ``os.urandom`` (and re-seeded in
    every forked worker): transaction IDs must be unique, not secret, and a system call per request
    is measurable on the data path.
    """
    ms = time.time_ns() // 1_000_000
    rand = _rng.getrandbits(80)
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def is_valid_transaction_id(value: str, fmt: str = "uuidv7") -> bool:
    """Whether ``value`` is a TransactionID in the group's format.

    ``uuidv7`` (our default profile): the canonical lower-case hyphenated form, version 7,
    RFC 9562 variant. ``uuid``: any canonical UUID. Anything else: 1..64 printable ASCII.
    """
    if fmt in ("uuidv7", "uuid7", "uuid"):
        if not _UUID_RE.match(value):
            return False
        u = uuid.UUID(value)
        if fmt == "uuid":
            return True
        return u.version == 7 and u.variant == uuid.RFC_4122
    return 0 < len(value) <= 64 and value.isascii() and value.isprintable()


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One TransactionLog record; ``created_at_us`` is Unix time in microseconds."""

    transaction_id: str
    direction: Direction
    grant_hash: str
    outway_peer_id: str
    service_peer_id: str
    service_name: str
    source_delegator_peer_id: str | None = None
    destination_delegator_peer_id: str | None = None
    created_at_us: int = field(default_factory=now_us)

    @classmethod
    def from_token_claims(
        cls,
        transaction_id: str,
        direction: Direction,
        claims: dict[str, Any],
        *,
        outway_peer_id: str | None = None,
    ) -> LogRecord:
        """Fill a record from access-token claims as fsc-logging prescribes.

        ``gth`` → grant_hash, ``iss`` → destination.service_peer_id, ``svc`` → service_name,
        ``pdi`` → destination.delegator_peer_id, ``sub`` → source.outway_peer_id and, for a delegated
        connection, the delegator. fsc-logging names a ``cdi`` claim for the source delegator while
        FSC Core carries delegated connections in ``act.sub`` (and contradicts itself about which of
        ``sub``/``act.sub`` is the delegator). We avoid the ambiguity: the Outway peer is known for
        certain (the Outway's own peer ID, or at the Inway the peer ID of the client certificate the
        token is bound to), and the delegator is the other one of ``sub`` / ``act.sub`` / ``cdi``.
        Without ``outway_peer_id`` we follow RFC 8693 (``act.sub`` is the actor, i.e. the Outway).
        """
        act = claims.get("act")
        actor = act.get("sub") if isinstance(act, dict) else None
        sub = str(claims["sub"])
        cdi = claims.get("cdi")
        parties = [p for p in (sub, actor, cdi) if isinstance(p, str) and p]
        if outway_peer_id is None:
            outway_peer_id = actor if isinstance(actor, str) and actor else sub
        others = [p for p in parties if p != outway_peer_id]
        delegator = others[0] if others else None
        pdi = claims.get("pdi")
        return cls(
            transaction_id=transaction_id,
            direction=direction,
            grant_hash=str(claims["gth"]),
            outway_peer_id=outway_peer_id,
            service_peer_id=str(claims["iss"]),
            service_name=str(claims["svc"]),
            source_delegator_peer_id=delegator,
            destination_delegator_peer_id=pdi if isinstance(pdi, str) and pdi else None,
        )

    def involves(self, peer_id: str) -> bool:
        return peer_id in (
            self.outway_peer_id,
            self.service_peer_id,
            self.source_delegator_peer_id,
            self.destination_delegator_peer_id,
        )

    def to_api(self) -> dict[str, Any]:
        """The ``logRecord`` object of the fsc-logging OpenAPI document."""
        source: dict[str, Any]
        if self.source_delegator_peer_id:
            source = {
                "type": SOURCE_TYPE_DELEGATED,
                "outway_peer_id": self.outway_peer_id,
                "delegator_peer_id": self.source_delegator_peer_id,
            }
        else:
            source = {"type": SOURCE_TYPE_SOURCE, "outway_peer_id": self.outway_peer_id}
        destination: dict[str, Any]
        if self.destination_delegator_peer_id:
            destination = {
                "type": DESTINATION_TYPE_DELEGATED,
                "service_peer_id": self.service_peer_id,
                "delegator_peer_id": self.destination_delegator_peer_id,
            }
        else:
            destination = {"type": DESTINATION_TYPE_DESTINATION, "service_peer_id": self.service_peer_id}
        return {
            "transaction_id": self.transaction_id,
            "direction": str(self.direction),
            "grant_hash": self.grant_hash,
            "source": source,
            "destination": destination,
            "service_name": self.service_name,
            "created_at": self.created_at_us // 1_000_000,
        }
