"""``nds programme`` commands: the JSON shape of the issue, clear errors, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nds.cli import app

pytestmark = pytest.mark.integration
SEED = Path(__file__).parent / "fixtures" / "seed.txt"
runner = CliRunner()


def test_parse_json_shape() -> None:
    r = runner.invoke(app, ["programme", "parse", str(SEED), "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) >= {"document", "pairs", "commitments", "references", "warnings"}
    assert data["document"]["nummer"] == "2025D41944"
    p = data["pairs"][4]
    assert {"number", "question", "answer", "see", "delegates_to"} <= set(p) and p["delegates_to"] == 4
    c = next(c for c in data["commitments"] if c["question"] == 23 and c["deadline"])
    assert {"question", "text", "phrase", "span", "actor", "deadline", "vague"} <= set(c)
    assert c["deadline"] == {"start": "2026-01-01", "end": "2026-03-31"} and c["actor"] == "E. van Marum"
    raw = SEED.read_text(encoding="utf-8")
    assert raw[c["span"][0] : c["span"][1]] == c["text"]
    ref = data["references"][0]
    assert {"kind", "text", "dossier", "toevoeging", "number"} <= set(ref)
    assert "gedeeltelijk" in r.stderr


def test_parse_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    r = runner.invoke(app, ["programme", "parse", str(tmp_path / "missing.txt")])
    assert r.exit_code == 2 and "fout:" in r.stderr and "Traceback" not in r.output
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = runner.invoke(app, ["programme", "parse", str(empty)])
    assert r.exit_code == 0 and json.loads(r.stdout)["warnings"][0]["code"] == "empty"
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02")
    r = runner.invoke(app, ["programme", "parse", str(binary)])
    assert r.exit_code == 2 and "NUL" in r.stderr
    r = runner.invoke(app, ["programme", "parse", str(SEED), "--anchor", "gisteren"])
    assert r.exit_code == 2 and "ongeldige datum" in r.stderr


def test_ingest_report_edit_history(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'p.db'}"]
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00")
    r = runner.invoke(app, ["programme", "ingest", str(SEED), str(bad), *db])
    assert r.exit_code == 1 and "opgeslagen" in r.stdout and "fout:" in r.stderr
    r = runner.invoke(app, ["programme", "ingest", str(SEED), *db])
    assert r.exit_code == 0 and "al aanwezig" in r.stdout
    r = runner.invoke(app, ["programme", "report", "--today", "2026-01-15", *db])
    assert r.exit_code == 0 and "## Digitale weerbaarheid en autonomie" in r.stdout
    r = runner.invoke(
        app, ["programme", "report", "--format", "json", "--priority", "ai", "--today", "2026-01-15", *db]
    )
    rep = json.loads(r.stdout)
    tno = next(it for it in rep["priorities"][0]["timeline"] if it["actor"] == "TNO")
    r = runner.invoke(app, ["programme", "report", "--format", "csv", *db])
    assert len(list(csv.DictReader(io.StringIO(r.stdout)))) > 15
    r = runner.invoke(app, ["programme", "report", "--priority", "ruimtevaart", *db])
    assert r.exit_code == 2 and "onbekende prioriteit" in r.stderr
    r = runner.invoke(
        app, ["programme", "edit", str(tno["id"]), "--officer", "J. Jansen", "--status", "Afgedaan", *db]
    )
    assert r.exit_code == 2 and "bewijsstuk" in r.stderr
    r = runner.invoke(
        app,
        [
            "programme",
            "edit",
            str(tno["id"]),
            "--officer",
            "J. Jansen",
            "--status",
            "Afgedaan",
            "--evidence",
            "Kamerstuk 26643, nr. 1450",
            "--reason",
            "monitor gedeeld",
            *db,
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["programme", "history", str(tno["id"]), *db])
    assert "J. Jansen: status 'openstaand' -> 'afgedaan' (monitor gedeeld)" in r.stdout
    r = runner.invoke(app, ["programme", "list", "--signal", "afgerond", *db])
    assert r.exit_code == 0 and r.stdout.split()[0] == str(tno["id"]) and "Afgedaan" in r.stdout
    r = runner.invoke(app, ["programme", "list", "--today", "2026-01-15", "--signal", "te_laat", *db])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) >= 6
    r = runner.invoke(app, ["programme", "list", "--signal", "kwijt", *db])
    assert r.exit_code == 2 and "onbekend signaal" in r.stderr
    r = runner.invoke(app, ["programme", "edit", "99999", "--officer", "X", "--note", "n", *db])
    assert r.exit_code == 2 and "bestaat niet" in r.stderr
