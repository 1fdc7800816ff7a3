"""Persistence of the Manager: contracts, signatures, peers, certificates, outbox, inways, services.

All methods are synchronous and short; the aiohttp server calls them through ``asyncio.to_thread``.
Writes use an engine with ``BEGIN IMMEDIATE`` on SQLite so concurrent writers queue.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from nds.db import make_engine, migrate
from nds.fsc.manager import tables as t
from nds.fsc.manager.store_local import LocalStateMixin

MIGRATIONS = Path(__file__).parent / "migrations"
SIG_TYPES = ("accept", "reject", "revoke")


class _RaceLost(Exception):
    pass


class IvConflict(Exception):
    """Another contract with the same ``iv`` exists (FSC: the iv is unique per Peer)."""


@dataclass(frozen=True)
class GrantIndex:
    """The searchable fields of one grant (the grant itself lives in the contract content)."""

    grant_hash: str
    position: int
    grant_type: str
    service_peer_id: str | None = None
    service_name: str | None = None
    service_delegator_peer_id: str | None = None
    outway_peer_id: str | None = None
    outway_public_key_thumbprint: str | None = None
    delegator_peer_id: str | None = None
    directory_peer_id: str | None = None
    member_peer_id: str | None = None
    membership_administrator_peer_id: str | None = None
    regulated_area: str | None = None


@dataclass(frozen=True)
class StoredSignature:
    peer_id: str
    sig_type: str
    jws: str
    signed_at: int
    cert_thumbprint: str


@dataclass
class StoredContract:
    content_hash: str
    content: dict[str, Any]
    created_at: int
    not_before: int
    not_after: int
    signatures: list[StoredSignature] = field(default_factory=list)
    peers: set[str] = field(default_factory=set)

    def signature_map(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {k: {} for k in SIG_TYPES}
        for s in self.signatures:
            out[s.sig_type][s.peer_id] = s.jws
        return out


def pack_chain(ders: Sequence[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(d)) + d for d in ders)


def unpack_chain(blob: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(blob):
        (n,) = struct.unpack(">I", blob[i : i + 4])
        out.append(blob[i + 4 : i + 4 + n])
        i += 4 + n
    return out


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> list[Any] | None:
    """Decode an opaque cursor; None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parts, list) or len(parts) != n:
        return None
    return parts


class Store(LocalStateMixin):
    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        # One Manager process needs few connections; keep PostgreSQL usage small and bounded.
        pool = {} if url.startswith("sqlite") else {"pool_size": 5, "max_overflow": 5}
        self.engine: Engine = make_engine(url, immediate=True, **pool)
        if run_migrations:
            migrate(self.engine, "fsc_manager", MIGRATIONS)

    def close(self) -> None:
        self.engine.dispose()

    # -- contracts ---------------------------------------------------------------------------

    def insert_contract(self, *args: Any, **kwargs: Any) -> bool:
        """Store a contract once; True if it is new. Raises IvConflict for a reused iv."""
        try:
            return self._insert_contract(*args, **kwargs)
        except _RaceLost:
            content_hash = args[0] if args else kwargs["content_hash"]
            if self.get_contract(content_hash) is not None:
                return False
            raise IvConflict("iv") from None

    def _insert_contract(
        self,
        content_hash: str,
        content: dict[str, Any],
        grants: Iterable[GrantIndex],
        peers: Iterable[str],
    ) -> bool:
        """Store a contract once; True if it is new. Raises IvConflict for a reused iv."""
        validity = content["validity"]
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(t.contracts.c.content_hash).where(t.contracts.c.iv == content["iv"])
            ).scalar_one_or_none()
            if existing == content_hash:
                return False
            if existing is not None:
                raise IvConflict(content["iv"])
            try:
                conn.execute(
                    insert(t.contracts).values(
                        content_hash=content_hash,
                        iv=content["iv"],
                        group_id=content["group_id"],
                        hash_algorithm=content["hash_algorithm"],
                        content_json=json.dumps(content, ensure_ascii=False, separators=(",", ":")),
                        created_at=int(content["created_at"]),
                        not_before=int(validity["not_before"]),
                        not_after=int(validity["not_after"]),
                        received_at=time.time(),
                    )
                )
            except IntegrityError:  # a concurrent insert of the same contract, or of the same iv
                raise _RaceLost(content["iv"]) from None
            rows = [g.__dict__ | {"content_hash": content_hash} for g in grants]
            if rows:
                conn.execute(insert(t.grants), rows)
            conn.execute(
                insert(t.contract_peers),
                [{"content_hash": content_hash, "peer_id": p} for p in sorted(set(peers))],
            )
        return True

    def add_signature(self, content_hash: str, sig: StoredSignature) -> bool:
        """Store or replace the signature of one Peer of one type; True if it changed anything."""
        with self.engine.begin() as conn:
            key = and_(
                t.signatures.c.content_hash == content_hash,
                t.signatures.c.peer_id == sig.peer_id,
                t.signatures.c.sig_type == sig.sig_type,
            )
            old = conn.execute(select(t.signatures.c.jws).where(key)).scalar_one_or_none()
            if old == sig.jws:
                return False
            values = {
                "jws": sig.jws,
                "signed_at": sig.signed_at,
                "cert_thumbprint": sig.cert_thumbprint,
                "received_at": time.time(),
            }
            if old is None:
                conn.execute(
                    insert(t.signatures).values(
                        content_hash=content_hash, peer_id=sig.peer_id, sig_type=sig.sig_type, **values
                    )
                )
            else:
                conn.execute(update(t.signatures).where(key).values(**values))
        return True

    def _load(self, conn: Any, rows: Sequence[RowMapping]) -> list[StoredContract]:
        if not rows:
            return []
        hashes = [r["content_hash"] for r in rows]
        sigs: dict[str, list[StoredSignature]] = {h: [] for h in hashes}
        for s in conn.execute(select(t.signatures).where(t.signatures.c.content_hash.in_(hashes))).mappings():
            sigs[s["content_hash"]].append(
                StoredSignature(s["peer_id"], s["sig_type"], s["jws"], s["signed_at"], s["cert_thumbprint"])
            )
        peers: dict[str, set[str]] = {h: set() for h in hashes}
        for p in conn.execute(
            select(t.contract_peers).where(t.contract_peers.c.content_hash.in_(hashes))
        ).mappings():
            peers[p["content_hash"]].add(p["peer_id"])
        return [
            StoredContract(
                content_hash=r["content_hash"],
                content=json.loads(r["content_json"]),
                created_at=r["created_at"],
                not_before=r["not_before"],
                not_after=r["not_after"],
                signatures=sorted(sigs[r["content_hash"]], key=lambda s: (s.sig_type, s.peer_id)),
                peers=peers[r["content_hash"]],
            )
            for r in rows
        ]

    def get_contract(self, content_hash: str) -> StoredContract | None:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(t.contracts).where(t.contracts.c.content_hash == content_hash))
                .mappings()
                .all()
            )
            found = self._load(conn, rows)
        return found[0] if found else None

    def contract_by_grant(self, grant_hash: str) -> tuple[StoredContract, dict[str, Any]] | None:
        with self.engine.connect() as conn:
            g = conn.execute(select(t.grants).where(t.grants.c.grant_hash == grant_hash)).mappings().first()
            if g is None:
                return None
            rows = (
                conn.execute(select(t.contracts).where(t.contracts.c.content_hash == g["content_hash"]))
                .mappings()
                .all()
            )
            found = self._load(conn, rows)
        return (found[0], dict(g)) if found else None

    def list_contracts(
        self,
        *,
        involving: str | None = None,
        grant_types: Sequence[str] = (),
        grant_hashes: Sequence[str] = (),
        cursor: tuple[int, str] | None = None,
        limit: int = 25,
        descending: bool = True,
    ) -> list[StoredContract]:
        """Contracts sorted by ``created_at`` (then hash); keyset pagination after ``cursor``."""
        c = t.contracts.c
        q = select(t.contracts)
        if involving is not None:
            q = q.where(
                c.content_hash.in_(
                    select(t.contract_peers.c.content_hash).where(t.contract_peers.c.peer_id == involving)
                )
            )
        if grant_hashes:
            q = q.where(
                c.content_hash.in_(
                    select(t.grants.c.content_hash).where(t.grants.c.grant_hash.in_(grant_hashes))
                )
            )
        else:
            if grant_types:
                q = q.where(
                    c.content_hash.in_(
                        select(t.grants.c.content_hash).where(t.grants.c.grant_type.in_(grant_types))
                    )
                )
            if cursor is not None:
                ca, h = cursor
                if descending:
                    q = q.where(or_(c.created_at < ca, and_(c.created_at == ca, c.content_hash < h)))
                else:
                    q = q.where(or_(c.created_at > ca, and_(c.created_at == ca, c.content_hash > h)))
            q = q.limit(limit)
        order = (c.created_at.desc(), c.content_hash.desc()) if descending else (c.created_at, c.content_hash)
        q = q.order_by(*order)
        with self.engine.connect() as conn:
            return self._load(conn, conn.execute(q).mappings().all())

    def publication_grants(self) -> list[tuple[StoredContract, dict[str, Any]]]:
        """All (Delegated)ServicePublication grants with their contracts (the caller checks validity)."""
        types = ("GRANT_TYPE_SERVICE_PUBLICATION", "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION")
        return self._grants_of_types(types)

    def registration_grants(self) -> list[tuple[StoredContract, dict[str, Any]]]:
        return self._grants_of_types(("GRANT_TYPE_PEER_REGISTRATION",))

    def _grants_of_types(self, types: Sequence[str]) -> list[tuple[StoredContract, dict[str, Any]]]:
        with self.engine.connect() as conn:
            grows = conn.execute(select(t.grants).where(t.grants.c.grant_type.in_(types))).mappings().all()
            hashes = sorted({g["content_hash"] for g in grows})
            crow = (
                conn.execute(select(t.contracts).where(t.contracts.c.content_hash.in_(hashes)))
                .mappings()
                .all()
            )
            by_hash = {c.content_hash: c for c in self._load(conn, crow)}
        return [(by_hash[g["content_hash"]], dict(g)) for g in grows if g["content_hash"] in by_hash]

    def connection_grants_for_outway(
        self, outway_peer_id: str, public_key_thumbprint: str
    ) -> list[tuple[StoredContract, dict[str, Any]]]:
        """(Delegated)ServiceConnection grants pinned to this Outway Peer and key (any contract state)."""
        g = t.grants.c
        types = ("GRANT_TYPE_SERVICE_CONNECTION", "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION")
        with self.engine.connect() as conn:
            grows = (
                conn.execute(
                    select(t.grants)
                    .where(
                        g.grant_type.in_(types),
                        g.outway_peer_id == outway_peer_id,
                        g.outway_public_key_thumbprint == public_key_thumbprint.lower(),
                    )
                    .order_by(g.grant_hash)
                )
                .mappings()
                .all()
            )
            hashes = sorted({r["content_hash"] for r in grows})
            crow = (
                conn.execute(select(t.contracts).where(t.contracts.c.content_hash.in_(hashes)))
                .mappings()
                .all()
            )
            by_hash = {c.content_hash: c for c in self._load(conn, crow)}
        return [(by_hash[r["content_hash"]], dict(r)) for r in grows if r["content_hash"] in by_hash]

    def iv_in_use(self, iv: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(select(t.contracts.c.content_hash).where(t.contracts.c.iv == iv)).first()
                is not None
            )

    def count_contracts(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.contracts)).scalar_one())

    # -- peers -------------------------------------------------------------------------------

    def upsert_peer(self, peer_id: str, name: str, manager_address: str | None, source: str) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(select(t.peers).where(t.peers.c.peer_id == peer_id)).mappings().first()
            now = time.time()
            if row is None:
                conn.execute(
                    insert(t.peers).values(
                        peer_id=peer_id,
                        name=name,
                        manager_address=manager_address or "",
                        source=source,
                        updated_at=now,
                    )
                )
            else:
                values: dict[str, Any] = {"name": name, "updated_at": now}
                if manager_address:
                    values["manager_address"] = manager_address
                    values["source"] = source
                conn.execute(update(t.peers).where(t.peers.c.peer_id == peer_id).values(**values))

    def get_peer(self, peer_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.peers).where(t.peers.c.peer_id == peer_id)).mappings().first()
        return dict(row) if row else None

    def list_peers(
        self,
        *,
        peer_ids: Sequence[str] = (),
        name_contains: str | None = None,
        cursor: str | None = None,
        limit: int = 25,
        descending: bool = False,
    ) -> list[dict[str, Any]]:
        c = t.peers.c
        q = select(t.peers).where(c.manager_address != "")
        if peer_ids:
            q = q.where(c.peer_id.in_(peer_ids))
        else:
            if name_contains:
                q = q.where(func.lower(c.name).contains(name_contains.lower(), autoescape=True))
            if cursor is not None:
                q = q.where(c.peer_id < cursor if descending else c.peer_id > cursor)
            q = q.limit(limit)
        q = q.order_by(c.peer_id.desc() if descending else c.peer_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- certificates ------------------------------------------------------------------------

    def put_certificate(
        self, thumbprint: str, peer_id: str, chain: Sequence[bytes], not_before: int, not_after: int
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.certificates).where(t.certificates.c.thumbprint == thumbprint))
            conn.execute(
                insert(t.certificates).values(
                    thumbprint=thumbprint,
                    peer_id=peer_id,
                    chain_der=pack_chain(chain),
                    not_before=not_before,
                    not_after=not_after,
                    fetched_at=time.time(),
                )
            )

    def get_certificate(self, thumbprint: str) -> tuple[str, list[bytes]] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(t.certificates).where(t.certificates.c.thumbprint == thumbprint))
                .mappings()
                .first()
            )
        return (row["peer_id"], unpack_chain(row["chain_der"])) if row else None

    def certificate_validity(self, thumbprints: Iterable[str]) -> dict[str, tuple[int, int]]:
        tps = list(set(thumbprints))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.certificates.c.thumbprint, t.certificates.c.not_before, t.certificates.c.not_after
                ).where(t.certificates.c.thumbprint.in_(tps))
            ).all()
        return {r[0]: (r[1], r[2]) for r in rows}
