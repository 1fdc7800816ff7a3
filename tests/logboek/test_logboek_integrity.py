from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from logboek_tamper import count, edit, stored
from sqlalchemy.engine import Engine

from nds.logboek import tables as t
from nds.logboek.chain import GENESIS, hashed_fields, record_hash
from nds.logboek.integrity import checkpoint, local_witness, purge_expired, verify
from nds.logboek.keys import subject_key
from nds.logboek.model import DataSubject, Processing, new_trace_id
from nds.logboek.query import Query, find
from nds.logboek.register import ProcessingActivity, Register
from nds.logboek.signing import Signer
from nds.logboek.store import Logboek, record_keys, record_row


def _activity(retention_days: int = 365) -> ProcessingActivity:
    return ProcessingActivity.model_validate(
        {
            "name": "Verhuizing verwerken",
            "purpose": "Adreswijziging in de BRP verwerken",
            "legal_basis": {
                "ground": "c",
                "provision": "Wet BRP art. 2.39",
                "link": "https://wetten.overheid.nl/BWBR0033715",
            },
            "controller_oin": "00000001001234567000",
            "controller_name": "Gemeente Voorbeeld",
            "role": "controller",
            "data_subject_categories": ["ingezetenen"],
            "personal_data_categories": ["adres"],
            "security_measures": ["BIO"],
            "retention_days": retention_days,
        }
    )


def _fill(lb: Logboek, uri: str, n: int = 10, start: int | None = None) -> None:
    for i in range(n):
        lb.write(
            Processing(
                f"p{i}",
                uri,
                (DataSubject("999993653"),),
                new_trace_id(),
                start_time=start or 1,
                end_time=start or 2,
            )
            if start
            else Processing(f"p{i}", uri, (DataSubject("999993653"),), new_trace_id())
        )


def _verify(engine: Engine, org: Signer, wit: Signer):
    return verify(engine, org.verifier(), {wit.identity: wit.verifier()})


def test_clean_chain_with_checkpoint_verifies(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri)
    cp = checkpoint(engine, "gemeente", org_signer, local_witness(witness_signer))
    assert cp.upto_seq == 10
    _fill(logboek, uri, 3)
    rep = _verify(engine, org_signer, witness_signer)
    assert rep.ok, rep.problems
    assert rep.checked == 13 and rep.checkpoints == 1


def test_edited_row_is_found(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri)
    with engine.begin() as conn:
        edit(conn, 4, name="iets anders")
    rep = _verify(engine, org_signer, witness_signer)
    assert [(p.seq, p.kind) for p in rep.problems] == [(4, "edited")]


def test_deleted_row_is_found(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri)
    with engine.begin() as conn:
        conn.execute(t.log.delete().where(t.log.c.seq == 6))
    rep = _verify(engine, org_signer, witness_signer)
    assert [(p.seq, p.kind) for p in rep.problems] == [(6, "deleted")]


def test_swapped_pair_is_found(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri)
    with engine.begin() as conn:  # swap the positions of records 3 and 4
        conn.execute(t.log.update().where(t.log.c.seq == 3).values(seq=-3))
        conn.execute(t.log.update().where(t.log.c.seq == 4).values(seq=3))
        conn.execute(t.log.update().where(t.log.c.seq == -3).values(seq=4))
    rep = _verify(engine, org_signer, witness_signer)
    assert {p.seq for p in rep.problems} == {3, 4}
    assert not rep.ok


def test_rewritten_chain_is_caught_by_countersigned_checkpoint(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri)
    checkpoint(engine, "gemeente", org_signer, local_witness(witness_signer))
    # an insider edits record 2 and recomputes every hash after it, head included
    with engine.begin() as conn:
        edit(conn, 2, name="verborgen")
        h = GENESIS
        for r in stored(conn):
            r2 = replace(r, prev_hash=h)
            h = record_hash(h, r2)
            edit(conn, r.seq, prev_hash=r2.prev_hash, record_hash=h)
        conn.execute(t.head.update().values(hash=h))
    rep = _verify(engine, org_signer, witness_signer)
    assert [(p.seq, p.kind) for p in rep.problems] == [(10, "checkpoint")]
    assert witness_signer.identity in rep.problems[0].message


def test_forged_countersignature_is_refused(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri, 2)
    # the organisation "countersigns" itself under the witness's name
    forged = Signer(witness_signer.identity, org_signer.key)
    checkpoint(engine, "gemeente", org_signer, local_witness(forged))
    rep = _verify(engine, org_signer, witness_signer)
    assert [p.kind for p in rep.problems] == ["signature"]


def test_authorised_purge_leaves_a_verifiable_tombstone(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    short = register.publish("kort", _activity(retention_days=30))
    long = register.publish("lang", _activity(retention_days=3650))
    old = int((datetime.now(UTC) - timedelta(days=60)).timestamp() * 1000)
    _fill(logboek, short, 4, start=old)  # 1..4: expired
    _fill(logboek, long, 2, start=old)  # 5..6: kept
    _fill(logboek, short, 2)  # 7..8: recent, kept
    checkpoint(engine, "gemeente", org_signer, local_witness(witness_signer))
    assert purge_expired(engine, register, org_signer, "gemeente") == 4
    with engine.connect() as conn:
        left = [r.seq for r in stored(conn)]
        left_keys = {s for idx in (t.keys, t.keys_recent) for (s,) in conn.execute(sa.select(idx.c.seq))}
    assert left == [5, 6, 7, 8]
    assert left_keys == {5, 6, 7, 8}  # the purged records' index entries went with them
    rep = _verify(engine, org_signer, witness_signer)
    assert rep.ok, rep.problems
    assert rep.purged == 4
    # a purge by someone without the organisation's key is not accepted
    with engine.begin() as conn:
        conn.execute(t.tombstones.update().values(signature="AAAA"))
    assert {p.kind for p in _verify(engine, org_signer, witness_signer).problems} >= {"signature"}


def test_tampered_checkpoint_statement_is_reported_not_a_crash(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    _fill(logboek, register.publish("verhuizing", _activity()), 3)
    checkpoint(engine, "gemeente", org_signer, local_witness(witness_signer))
    for garbage in ("niet json", "[1, 2]", '{"upto_seq": "3"}'):
        with engine.begin() as conn:
            conn.execute(t.checkpoints.update().values(statement=garbage))
        rep = _verify(engine, org_signer, witness_signer)
        assert not rep.ok
        assert {p.kind for p in rep.problems} == {"signature", "checkpoint"}
        assert all(p.seq == 3 for p in rep.problems)


def test_purge_of_the_newest_records_and_of_everything_verifies(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    short = register.publish("kort", _activity(retention_days=30))
    long = register.publish("lang", _activity(retention_days=3650))
    old = int((datetime.now(UTC) - timedelta(days=60)).timestamp() * 1000)
    _fill(logboek, long, 2, start=old)  # 1..2: kept for now
    _fill(logboek, short, 3, start=old)  # 3..5: the newest records, expired
    checkpoint(engine, "gemeente", org_signer, local_witness(witness_signer))
    assert purge_expired(engine, register, org_signer, "gemeente") == 3
    rep = _verify(engine, org_signer, witness_signer)
    assert rep.ok, rep.problems
    assert (rep.checked, rep.purged) == (2, 3)
    later = datetime.now(UTC) + timedelta(days=3650)
    assert purge_expired(engine, register, org_signer, "gemeente", now=later) == 2
    rep = _verify(engine, org_signer, witness_signer)
    assert rep.ok, rep.problems
    assert (rep.checked, rep.purged) == (0, 5)
    # removing one entry from under a tombstone voids that tombstone: its records count as missing
    with engine.begin() as conn:
        conn.execute(t.purged.delete().where(t.purged.c.seq == 5))
    kinds = {(p.seq, p.kind) for p in _verify(engine, org_signer, witness_signer).problems}
    assert {(3, "tombstone"), (3, "truncated"), (5, "checkpoint")} <= kinds


def test_empty_logboek_and_checkpoint_at_zero_verify(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    assert _verify(engine, org_signer, witness_signer).ok
    cp = checkpoint(engine, "gemeente", org_signer, local_witness(witness_signer))
    assert (cp.upto_seq, cp.head_hash) == (0, GENESIS)
    rep = _verify(engine, org_signer, witness_signer)
    assert rep.ok and (rep.checked, rep.checkpoints) == (0, 1)
    _fill(logboek, register.publish("verhuizing", _activity()), 2)
    assert _verify(engine, org_signer, witness_signer).ok
    # the first records deleted (a gap at the start) is found at its first sequence number
    with engine.begin() as conn:
        conn.execute(t.log.delete().where(t.log.c.seq == 1))
    rep = _verify(engine, org_signer, witness_signer)
    assert [(p.seq, p.kind) for p in rep.problems] == [(1, "deleted")]


def test_record_appended_behind_the_heads_back_is_found(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    _fill(logboek, register.publish("verhuizing", _activity()), 3)
    with engine.begin() as conn:
        last = stored(conn)[-1]
        fake = replace(last, seq=4, name="ingevoegd", prev_hash=last.record_hash)
        fake = replace(fake, record_hash=record_hash(last.record_hash, fake))
        conn.execute(t.log.insert().values(**record_row(fake)))
        # made findable, as an insider would
        conn.execute(t.keys.insert(), [{"k": k, "seq": 4} for k in record_keys(hashed_fields(fake))])
    rep = _verify(engine, org_signer, witness_signer)
    assert [(p.seq, p.kind) for p in rep.problems] == [(4, "inserted")]


def test_record_hidden_from_the_index_is_found(
    logboek: Logboek, engine: Engine, keyring, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    """Deleting a record's index entry hides it from the citizen view without touching the chain:
    verify reports it as unindexed."""
    _fill(logboek, register.publish("verhuizing", _activity()), 3)
    who = Query(subject=DataSubject("999993653"))
    assert [r.seq for r in find(engine, keyring, who)[0]] == [1, 2, 3]
    pseudonym = keyring.pseudonym(DataSubject("999993653"))[1]
    with engine.begin() as conn:
        for idx in (t.keys, t.keys_recent):  # wherever the entry is now
            conn.execute(idx.delete().where(idx.c.k == subject_key(pseudonym), idx.c.seq == 2))
    assert [r.seq for r in find(engine, keyring, who)[0]] == [1, 3]
    rep = _verify(engine, org_signer, witness_signer)
    assert [(p.seq, p.kind) for p in rep.problems] == [(2, "unindexed")]


def test_countersigning_does_not_hold_up_writers(
    logboek: Logboek, engine: Engine, register: Register, org_signer: Signer, witness_signer: Signer
) -> None:
    """A (remote) witness takes its time; meanwhile the organisation keeps writing. The checkpoint
    covers the head it was made for and the chain verifies."""
    uri = register.publish("verhuizing", _activity())
    _fill(logboek, uri, 2)
    sign = local_witness(witness_signer)

    def slow_witness(statement: bytes, org_signature: str) -> tuple[str, str]:
        logboek.write(Processing("tijdens", uri, (DataSubject("999993653"),), new_trace_id()), timeout=10)
        return sign(statement, org_signature)

    cp = checkpoint(engine, "gemeente", org_signer, slow_witness)
    assert cp.upto_seq == 2
    with engine.connect() as conn:
        assert count(conn) == 3
    assert _verify(engine, org_signer, witness_signer).ok
