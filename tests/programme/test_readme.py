"""The README's "Programme monitor" section shows the current report for the seed (no drift)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nds.db import make_engine
from nds.programme import report
from nds.programme.parse import parse_text
from nds.programme.register import Register
from nds.programme.store import init_db, store_result

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_the_seed_report(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'r.db'}", immediate=True)
    init_db(eng)
    store_result(eng, parse_text((ROOT / "tests/programme/fixtures/seed.txt").read_text(encoding="utf-8")))
    md = report.render(report.build(Register(eng, clock=lambda: dt.date(2026, 1, 15))), "md")
    eng.dispose()
    shown = "\n".join("###" + line if line.startswith("#") else line for line in md.splitlines())
    assert shown in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "README.md's programme report is out of date: regenerate it with "
        "`nds programme report --today 2026-01-15` (headings demoted by three levels)"
    )
