"""Tamper evidence: checkpoints countersigned by a witness, verification, signed purges.

- ``checkpoint``: the organisation signs ``{logboek, upto_seq, head_hash, created_at}`` and a
  witness outside its control (another peer or the directory) countersigns it. The witness keeps
  its own copy, so a rewritten chain (even with recomputed hashes) no longer matches.
- ``verify``: walks the chain and reports each problem with its sequence number: an edited record
  (content does not match its hash), a deleted record (a gap not covered by a signed tombstone),
  a reordered/inserted record (``prev_hash`` does not link), a truncated tail, a checkpoint that
  no longer matches, or a bad signature.
- ``purge``: retention purges are a command, never an API call. Purged records leave their
  sequence number and hash behind, under a signed tombstone, so the chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from nds.logboek import tables as t
from nds.logboek.chain import GENESIS_BYTES, BodyError, decode_body, link
from nds.logboek.model import now_ms
from nds.logboek.register import Register
from nds.logboek.signing import Signer, Verifier, canonical
from nds.logboek.store import record_keys

Witness = Callable[
    [bytes, str], tuple[str, str]
]  # (statement, org signature) -> (witness id, countersignature)


def local_witness(signer: Signer) -> Witness:
    """A witness that countersigns with a key it holds (in the DigiLab: the directory's)."""

    def countersign(statement: bytes, _org_signature: str) -> tuple[str, str]:
        return signer.identity, signer.sign(statement)

    return countersign


@dataclass(frozen=True)
class Checkpoint:
    id: int
    upto_seq: int
    head_hash: str
    created_at: int
    statement: str
    signature: str
    witness: str
    witness_signature: str


def checkpoint(engine: Engine, name: str, signer: Signer, witness: Witness) -> Checkpoint:
    """Sign the current chain head and have ``witness`` countersign it. The head is read in a short
    transaction and the witness (possibly a remote peer) is asked *outside* any transaction: records up
    to a committed head never change, and writers are not held up by the countersigning."""
    with engine.connect() as conn:
        seq, h = conn.execute(sa.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)).one()
    created = now_ms()
    stmt = canonical(
        {
            "logboek": name,
            "upto_seq": seq,
            "head_hash": h,
            "created_at": created,
            "signer": signer.identity,
        }
    )
    sig = signer.sign(stmt)
    wid, wsig = witness(stmt, sig)
    with engine.begin() as conn:
        res = conn.execute(
            t.checkpoints.insert().values(
                upto_seq=seq,
                head_hash=h,
                created_at=created,
                statement=stmt.decode(),
                signature=sig,
                witness=wid,
                witness_signature=wsig,
            )
        )
        cid = res.inserted_primary_key[0] if res.inserted_primary_key else 0
    return Checkpoint(int(cid), seq, h, created, stmt.decode(), sig, wid, wsig)


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # edited | deleted | reordered | inserted | truncated | checkpoint | signature | tombstone
    message: str


@dataclass
class VerifyReport:
    checked: int = 0
    purged: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    engine: Engine,
    org: Verifier,
    witnesses: dict[str, Verifier],
    external_checkpoints: Iterable[Checkpoint] = (),
    batch: int = 2000,
) -> VerifyReport:
    """Verify the whole chain. ``external_checkpoints`` are the witness's own copies, if fetched."""
    rep = VerifyReport()
    purged: dict[int, str] = {}
    with engine.connect() as conn:
        for ts in conn.execute(sa.select(t.tombstones).order_by(t.tombstones.c.id)):
            entries = conn.execute(
                sa.select(t.purged.c.seq, t.purged.c.record_hash)
                .where(t.purged.c.tombstone_id == ts.id)
                .order_by(t.purged.c.seq)
            ).all()
            if not org.verify(ts.statement.encode(), ts.signature):
                rep.problems.append(
                    Problem(
                        entries[0].seq if entries else 0,
                        "signature",
                        f"tombstone {ts.id} has an invalid signature",
                    )
                )
                continue
            if _statement(ts.statement).get("digest") != _purge_digest(
                (e.seq, e.record_hash) for e in entries
            ):
                rep.problems.append(
                    Problem(
                        entries[0].seq if entries else 0,
                        "tombstone",
                        f"tombstone {ts.id} does not match the purged entries",
                    )
                )
                continue
            for e in entries:
                purged[e.seq] = e.record_hash
        rep.purged = len(purged)
        head_seq, head_hash = conn.execute(
            sa.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)
        ).one()

        hashes_at: dict[int, str] = {}
        cps = [
            Checkpoint(
                c.id,
                c.upto_seq,
                c.head_hash,
                c.created_at,
                c.statement,
                c.signature,
                c.witness,
                c.witness_signature,
            )
            for c in conn.execute(sa.select(t.checkpoints))
        ]
        cps += list(external_checkpoints)
        wanted = {c.upto_seq for c in cps}

        expected_seq, h, last = 1, GENESIS_BYTES, 0
        after = 0
        log = t.log
        while True:
            rows = conn.execute(
                sa.select(log.c.seq, log.c.body, log.c.prev_hash, log.c.record_hash)
                .where(log.c.seq > after)
                .order_by(log.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                break
            expected_keys: set[tuple[int, int]] = set()
            for seq, body, prev, rh in rows:
                body, prev, rh = bytes(body), bytes(prev), bytes(rh)
                while expected_seq < seq:  # a gap: purged under a tombstone, or deleted
                    if expected_seq in purged:
                        h = bytes.fromhex(purged[expected_seq])
                    else:
                        rep.problems.append(
                            Problem(expected_seq, "deleted", f"record {expected_seq} is missing (deleted)")
                        )
                        h = b""  # unknown; the next record's link cannot be checked
                    if expected_seq in wanted:
                        hashes_at[expected_seq] = h.hex()
                    expected_seq += 1
                own_ok = link(prev, seq, body) == rh
                if not own_ok:
                    rep.problems.append(
                        Problem(seq, "edited", f"record {seq}: content does not match its hash (edited)")
                    )
                elif h and prev != h:
                    rep.problems.append(
                        Problem(
                            seq,
                            "reordered",
                            f"record {seq}: does not link to record {seq - 1} (reordered or inserted)",
                        )
                    )
                if own_ok:
                    try:
                        expected_keys.update((k, seq) for k in record_keys(decode_body(body)))
                    except BodyError:  # hashed as written, but not by this logboek's encoder
                        rep.problems.append(Problem(seq, "edited", f"record {seq}: body cannot be decoded"))
                # after an edited record its stored hash proves nothing: don't blame the next link
                h = rh if own_ok else b""
                if seq in wanted:
                    hashes_at[seq] = rh.hex()
                rep.checked += 1
                expected_seq = seq + 1
                last = seq
            for seq in _unindexed(conn, expected_keys):
                rep.problems.append(
                    Problem(
                        seq,
                        "unindexed",
                        f"record {seq} is missing from the lookup index (hidden from queries)",
                    )
                )
            after = rows[-1][0]
        while expected_seq <= head_seq:  # tail: purged or truncated
            if expected_seq in purged:
                h = bytes.fromhex(purged[expected_seq])
                last = expected_seq
                if expected_seq in wanted:
                    hashes_at[expected_seq] = h.hex()
            else:
                rep.problems.append(
                    Problem(
                        expected_seq, "truncated", f"records from {expected_seq} to {head_seq} are missing"
                    )
                )
                break
            expected_seq += 1
        if last == head_seq and h and h.hex() != head_hash and head_seq > 0:
            rep.problems.append(
                Problem(head_seq, "truncated", "the chain head does not match the last record")
            )
        if last > head_seq:
            # a writer commits its records and the head together, so records beyond the head are
            # either written while we verified (the head has moved on) or inserted behind its back
            now_seq = conn.execute(sa.select(t.head.c.seq).where(t.head.c.id == 1)).scalar_one()
            if last > now_seq:
                rep.problems.append(
                    Problem(
                        now_seq + 1,
                        "inserted",
                        f"records {now_seq + 1} to {last} lie beyond the chain head (inserted)",
                    )
                )

    for c in cps:
        rep.checkpoints += 1
        if not org.verify(c.statement.encode(), c.signature):
            rep.problems.append(
                Problem(c.upto_seq, "signature", f"checkpoint {c.id}: organisation signature invalid")
            )
        w = witnesses.get(c.witness)
        if w is None or not w.verify(c.statement.encode(), c.witness_signature):
            rep.problems.append(
                Problem(
                    c.upto_seq,
                    "signature",
                    f"checkpoint {c.id}: countersignature by {c.witness!r} invalid or unknown",
                )
            )
        stmt = _statement(c.statement)
        if stmt.get("upto_seq") != c.upto_seq or stmt.get("head_hash") != c.head_hash:
            rep.problems.append(
                Problem(c.upto_seq, "checkpoint", f"checkpoint {c.id}: fields differ from statement")
            )
        if c.upto_seq == 0:
            continue
        actual = hashes_at.get(c.upto_seq)
        if actual != c.head_hash:
            rep.problems.append(
                Problem(
                    c.upto_seq,
                    "checkpoint",
                    f"records up to {c.upto_seq} differ from checkpoint {c.id} countersigned by {c.witness}",
                )
            )
    rep.problems.sort(key=lambda p: (p.seq, p.kind))
    return rep


def _unindexed(conn: Connection, expected: set[tuple[int, int]]) -> list[int]:
    """Sequence numbers of records whose expected index entries are missing: such a record would be
    hidden from the citizen view and the read API, a subtler tampering than deleting it."""
    if not expected:
        return []
    lo = min(s for _, s in expected)
    hi = max(s for _, s in expected)
    ks = sorted({k for k, _ in expected})
    found: set[tuple[int, int]] = set()
    for idx in (t.keys, t.keys_recent):
        for i in range(0, len(ks), 500):
            found.update(
                (k, s)
                for k, s in conn.execute(
                    sa.select(idx.c.k, idx.c.seq).where(
                        idx.c.k.in_(ks[i : i + 500]), idx.c.seq.between(lo, hi)
                    )
                )
            )
    return sorted({s for k, s in expected - found})


def _statement(text: str) -> dict[str, Any]:
    """A stored statement as a JSON object; a tampered, unreadable one is an empty object (its
    signature check and field comparison then report it; ``verify`` never crashes on it)."""
    try:
        stmt = json.loads(text)
    except ValueError:
        return {}
    return stmt if isinstance(stmt, dict) else {}


def _purge_digest(entries: Iterable[tuple[int, str]]) -> str:
    d = hashlib.sha256()
    for seq, h in entries:
        d.update(f"{seq}:{h}\n".encode())
    return d.hexdigest()


def purge_expired(
    engine: Engine,
    register: Register,
    signer: Signer,
    name: str,
    now: datetime | None = None,
    reason: str = "retention",
) -> int:
    """Delete records whose activity's retention has passed; leaves a signed tombstone.

    The records are found by reading the log once (a purge is a rare command); they are then deleted,
    with their index entries, in one transaction with the tombstone. A record of an activity the
    register does not know is kept: never purge what we cannot justify."""
    now = now or datetime.now(UTC)
    now_ms_ = int(now.timestamp() * 1000)
    cutoffs: dict[str, int | None] = {}
    victims: list[tuple[int, str, list[int]]] = []  # (seq, record hash, index keys)
    log = t.log
    after = 0
    while True:
        # one short read per chunk: the register lookups below use connections of their own
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(log.c.seq, log.c.body, log.c.record_hash)
                .where(log.c.seq > after)
                .order_by(log.c.seq)
                .limit(5000)
            ).all()
        if not rows:
            break
        for seq, body, rh in rows:
            try:
                f = decode_body(bytes(body))
            except BodyError:
                continue  # damaged: verify reports it; purge never deletes what it cannot read
            uri, end = str(f[7]), f[5]
            if uri not in cutoffs:
                act = register.get(uri)
                cutoffs[uri] = None if act is None else now_ms_ - act.retention_days * 86_400_000
            cutoff = cutoffs[uri]
            if cutoff is not None and isinstance(end, int) and end < cutoff:
                victims.append((seq, bytes(rh).hex(), record_keys(f)))
        after = rows[-1][0]
    if not victims:
        return 0
    entries = [(seq, h) for seq, h, _ in victims]
    stmt = canonical(
        {
            "logboek": name,
            "reason": reason,
            "at": now_ms_,
            "count": len(entries),
            "first_seq": entries[0][0],
            "last_seq": entries[-1][0],
            "digest": _purge_digest(entries),
        }
    )
    with engine.begin() as conn:
        res = conn.execute(
            t.tombstones.insert().values(
                created_at=now_ms_, statement=stmt.decode(), signature=signer.sign(stmt)
            )
        )
        assert res.inserted_primary_key is not None
        tid = res.inserted_primary_key[0]
        conn.execute(
            t.purged.insert(), [{"seq": s, "record_hash": h, "tombstone_id": tid} for s, h in entries]
        )
        for i in range(0, len(victims), 500):
            part = victims[i : i + 500]
            conn.execute(log.delete().where(log.c.seq.in_([s for s, _, _ in part])))
            pairs = [(k, s) for s, _, ks in part for k in ks]
            for idx in (t.keys, t.keys_recent):
                conn.execute(idx.delete().where(sa.tuple_(idx.c.k, idx.c.seq).in_(pairs)))
    return len(entries)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
