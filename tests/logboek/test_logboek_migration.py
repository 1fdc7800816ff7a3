"""Upgrading a logboek written in the old wide layout (``logboek_0001``: one wide row per record with
four secondary indexes) to the narrow layout (``logboek_0002``): every record stays readable, the
chain and its countersigned checkpoint still verify, and writing continues the same chain."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from nds.db import make_engine, migrate
from nds.logboek import tables as t
from nds.logboek.chain import GENESIS, chain_hash
from nds.logboek.integrity import checkpoint, local_witness, verify
from nds.logboek.model import DataSubject, ForeignOperation, Processing, new_span_id, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import Query, find
from nds.logboek.signing import Signer
from nds.logboek.store import COLUMNS, Logboek, migrate_logboek, pending_records

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "src" / "nds" / "logboek" / "migrations"
ACT = "https://gemeente.digilab.example/register/verwerkingsactiviteiten/verhuizing/versies/1"
ALICE, BOB = DataSubject("999993653"), DataSubject("999990019")


def _old_layout_writes(url: str, ring: Keyring) -> list[tuple]:
    """Records as the 0001 writer stored them: hex hashes, one column per field."""
    eng = make_engine(url, immediate=True)
    rows: list[tuple] = []
    h, seq = GENESIS, 0
    processings = [
        Processing("adres wijzigen", ACT, (ALICE, BOB), new_trace_id(), resource={"dienst": "brp"}),
        Processing(
            "persoon opvragen",
            ACT,
            (ALICE,),
            new_trace_id(),
            parent_span_id=new_span_id(),
            foreign_operation=ForeignOperation(new_trace_id(), new_span_id(), "urn:nds:fsc:peer:123"),
            fsc_transaction_id="0194a6f2-7d61-7b3a-9a64-5b8f0c1d2e3f",
            external_read_api="https://gemeente.example/ldv",
        ),
        Processing("zonder betrokkene", ACT, (), new_trace_id()),
    ]
    for p in processings:
        for fields in pending_records(p, ring):
            seq += 1
            prev, h = h, chain_hash(h, seq, fields)
            rows.append((seq, *fields, prev, h))
    with eng.begin() as conn:
        marks = ", ".join("?" if url.startswith("sqlite") else "%s" for _ in COLUMNS)
        conn.exec_driver_sql(
            f"INSERT INTO logboek_records ({', '.join(COLUMNS)}) VALUES ({marks})",
            rows,
        )
        conn.execute(t.head.update().values(seq=seq, hash=h))
    eng.dispose()
    return rows


def test_old_layout_is_readable_and_verifiable_after_upgrade(
    db_url: str, tmp_path: Path, org_signer: Signer, witness_signer: Signer
) -> None:
    migrate(db_url, "logboek", MIGRATIONS, revision="logboek_0001")
    ring = Keyring.create(tmp_path / "ring.json")
    old = _old_layout_writes(db_url, ring)
    eng = make_engine(db_url, immediate=True)
    try:
        cp = checkpoint(eng, "gemeente", org_signer, local_witness(witness_signer))  # made before upgrade
        assert cp.upto_seq == len(old) == 4
        migrate_logboek(db_url)
        with eng.connect() as conn:
            assert "logboek_records" not in sa.inspect(conn).get_table_names()

        rep = verify(eng, org_signer.verifier(), {witness_signer.identity: witness_signer.verifier()})
        assert rep.ok, rep.problems
        assert (rep.checked, rep.checkpoints) == (4, 1)

        # every field reads back exactly as the old layout stored it
        alice, _ = find(eng, ring, Query(subject=ALICE))
        assert [r.seq for r in alice] == [1, 3]
        by_seq = {row[0]: row for row in old}
        for r in alice:
            assert tuple(getattr(r, c) for c in COLUMNS if c != "resource") == tuple(
                v for c, v in zip(COLUMNS, by_seq[r.seq], strict=True) if c != "resource"
            )
        assert alice[0].resource == {"dienst": "brp"}
        assert alice[1].foreign_entity == "urn:nds:fsc:peer:123"
        assert [r.seq for r in find(eng, ring, Query(subject=BOB))[0]] == [2]
        assert [r.seq for r in find(eng, ring, Query(trace_id=old[3][1]))[0]] == [4]  # no subject
        assert [r.seq for r in find(eng, ring, Query(activity_uri=ACT))[0]] == [1, 2, 3, 4]

        # the chain continues where the old layout ended
        lb = Logboek(eng, ring)
        try:
            (new,) = lb.write(Processing("na upgrade", ACT, (ALICE,), new_trace_id()))
        finally:
            lb.close()
        assert (new.seq, new.prev_hash) == (5, old[-1][-1])
        rep = verify(eng, org_signer.verifier(), {witness_signer.identity: witness_signer.verifier()})
        assert rep.ok and rep.checked == 5, rep.problems

        # and downgrading gives back the wide rows, hashes unchanged
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["version_table"] = "alembic_version_logboek"
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "logboek_0001")
        with eng.connect() as conn:
            back = conn.execute(sa.text("SELECT * FROM logboek_records ORDER BY seq")).all()
        assert [tuple(r) for r in back[:4]] == old
        assert back[4].name == "na upgrade" and back[4].record_hash == new.record_hash
    finally:
        eng.dispose()
