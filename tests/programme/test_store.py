"""Storage, register and report on real SQLite and PostgreSQL (fixture ``db_url``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from nds.db import make_engine
from nds.programme import report
from nds.programme.parse import parse_text
from nds.programme.register import Register, RegisterError
from nds.programme.store import audit, commitments, get_document, init_db, list_documents, store_result

pytestmark = pytest.mark.integration
SEED = Path(__file__).parent / "fixtures" / "seed.txt"


@pytest.fixture
def engine(db_url: str):
    eng = make_engine(db_url, immediate=True)
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def seeded(engine):
    doc_id, new = store_result(engine, parse_text(SEED.read_text(encoding="utf-8")), "seed.txt")
    assert new
    return engine, doc_id


def test_store_is_idempotent_and_keeps_raw_text(seeded) -> None:
    engine, doc_id = seeded
    again, new = store_result(engine, parse_text(SEED.read_text(encoding="utf-8")))
    assert (again, new) == (doc_id, False)
    docs = list_documents(engine)
    assert len(docs) == 1 and docs[0]["nummer"] == "2025D41944" and docs[0]["commitments"] > 15
    doc = get_document(engine, doc_id)
    assert doc is not None
    assert doc["raw"] == SEED.read_text(encoding="utf-8")
    assert len(doc["pairs"]) == 107 and doc["pairs"][4]["delegates_to"] == 4
    for c in doc["commitments"]:
        assert doc["raw"][c["span_start"] : c["span_end"]].strip() == c["text"]
    assert any(r["number"] == 1366 for r in doc["references"])
    assert doc["partial"] and any(w["code"] == "lost_list" for w in doc["warnings"])


def test_register_signals_with_injected_clock(seeded) -> None:
    engine, _ = seeded
    reg = Register(engine, clock=lambda: dt.date(2025, 12, 10), soon_days=30)
    items = reg.items()
    by_q = {(i["question"], i["phrase"]): i for i in items}
    assert by_q[(62, "eind 2025")]["signal"] == "binnenkort"  # due 31 Dec, within 30 days
    assert by_q[(7, "eind 2026")]["signal"] == "op_schema"
    assert by_q[(54, "In het najaar van 2025")]["signal"] == "binnenkort"
    later = Register(engine, clock=lambda: dt.date(2026, 1, 15))
    assert {i["question"] for i in later.items(signal="te_laat")} >= {54, 62, 69, 79, 85, 86, 87}
    assert all(i["signal"] == "zonder_termijn" for i in later.items() if i["due"] is None)
    assert {i["priority"] for i in items} >= {"cloud", "data", "ai", "weerbaarheid", "dienstverlening"}
    tno = by_q[(69, "In het vierde kwartaal van dit jaar")]
    assert tno["priority"] == "ai" and "ai" in tno["priority_keywords"]


def test_officer_edits_and_audit_trail(seeded) -> None:
    engine, _ = seeded
    reg = Register(engine, clock=lambda: dt.date(2026, 1, 15))
    item = next(i for i in reg.items() if i["question"] == 62)
    with pytest.raises(RegisterError, match="bewijsstuk"):
        reg.edit(item["id"], "J. Jansen", status="Afgedaan")
    with pytest.raises(RegisterError, match="onbekende status"):
        reg.edit(item["id"], "J. Jansen", status="klaar")
    with pytest.raises(RegisterError, match="medewerker"):
        reg.edit(item["id"], " ", note="x")
    with pytest.raises(RegisterError, match="ongeldige datum"):
        reg.edit(item["id"], "J. Jansen", due="31-12-2026")
    assert reg.get(item["id"])["status"] == "openstaand"  # refused edits change nothing
    reg.edit(
        item["id"],
        "J. Jansen",
        reason="brief ontvangen",
        status="Afgedaan",
        evidence="Kamerstuk 26643, nr. 1450",
    )
    reg.edit(item["id"], "P. de Vries", due="2026-03-31")
    row = reg.get(item["id"])
    assert row["status"] == "afgedaan" and row["evidence"] == "Kamerstuk 26643, nr. 1450"
    hist = reg.history(item["id"])
    assert [(h["officer"], h["field"], h["new"]) for h in hist] == [
        ("J. Jansen", "status", "afgedaan"),
        ("J. Jansen", "evidence", "Kamerstuk 26643, nr. 1450"),
        ("P. de Vries", "due", "2026-03-31"),
    ]
    assert hist[0]["old"] == "openstaand" and hist[0]["reason"] == "brief ontvangen"
    assert reg.items(status="Afgedaan")[0]["signal"] == "afgerond"
    # re-ingesting the same document keeps the officer's edits
    store_result(engine, parse_text(SEED.read_text(encoding="utf-8")))
    assert reg.get(item["id"])["status"] == "afgedaan"
    n_items = len(reg.items())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar() == 3
        assert conn.execute(sa.select(sa.func.count()).select_from(commitments)).scalar() == n_items


def test_report_formats(seeded) -> None:
    engine, _ = seeded
    reg = Register(engine, clock=lambda: dt.date(2026, 1, 15))
    rep = report.build(reg)
    assert rep["total"] == len(reg.items())
    assert sum(g["total"] for g in rep["priorities"]) == rep["total"]
    md = report.render(rep, "md")
    assert (
        "# Voortgang NDS-toezeggingen (peildatum 2026-01-15)" in md and "## Cloud" in md and "Te laat" in md
    )
    rows = list(csv.DictReader(io.StringIO(report.render(rep, "csv"))))
    assert len(rows) == rep["total"] and {"priority", "deadline_end", "status", "signal"} <= set(rows[0])
    data = json.loads(report.render(rep, "json"))
    ai = next(g for g in data["priorities"] if g["priority"] == "ai")
    assert ai["overdue"] and ai["overdue"][0]["actor"] == "TNO"
    only = report.build(reg, "cloud")
    assert [g["priority"] for g in only["priorities"]] == ["cloud"]


def test_report_escapes_markdown_and_csv_formulas(engine) -> None:
    text = '1 | Wat? Ik stuur eind 2026 de brief over <script>|x| en =HYPERLINK("a"). |\n'
    store_result(engine, parse_text(text, anchor=dt.date(2025, 1, 1)))
    reg = Register(engine, clock=lambda: dt.date(2025, 1, 1))
    md = report.render(report.build(reg), "md")
    assert "<script>" not in md and "\\<script\\>" in md
    reg2 = Register(engine)
    item = reg2.items()[0]
    reg2.edit(item["id"], "X", evidence="=cmd|' /C calc'!A0")
    out = report.render(report.build(reg2), "csv")
    assert "'=cmd" in out


def test_new_version_carries_officer_fields_and_replaces_old_in_register(seeded) -> None:
    engine, first_id = seeded
    reg = Register(engine, clock=lambda: dt.date(2026, 1, 15))
    before = len(reg.items())
    item = next(i for i in reg.items() if i["question"] == 105)
    reg.edit(item["id"], "J. Jansen", status="Deels afgedaan", note="plan in concept")
    v3 = SEED.read_text(encoding="utf-8").replace("versie: 2 (versie 1)", "versie: 3 (versie 2)")
    v3 = v3.replace("wordt in de loop van 2026 verwacht.", "wordt medio 2026 verwacht.")
    new_id, new = store_result(engine, parse_text(v3), "seed-v3.txt")
    assert new and new_id != first_id
    items = reg.items()
    assert len(items) == before and {i["document_id"] for i in items} == {new_id}
    carried = next(i for i in items if i["question"] == 105)
    assert carried["status"] == "deels_afgedaan" and carried["note"] == "plan in concept"
    assert {h["officer"] for h in reg.history(carried["id"])} == {"systeem"}
    q49 = next(i for i in items if i["question"] == 49)
    assert q49["deadline_end"] == dt.date(2026, 8, 31)
    assert get_document(engine, first_id) is not None  # the old version stays stored
