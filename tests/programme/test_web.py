"""Web pages and the /programme/v1 API, against a real SQLite database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nds.db import make_engine
from nds.programme.parse import parse_text
from nds.programme.store import init_db, store_result
from nds.settings import Settings
from nds.web.app import create_app

pytestmark = pytest.mark.integration
SEED = Path(__file__).parent / "fixtures" / "seed.txt"
EVIL = (
    "1 | Wat gebeurt er met <script>alert(1)</script>? Ik stuur eind 2026 de brief "
    '"<b>vet</b>" (zie antwoord vraag 2). |\n2 | En nu? Niets. |\n'
)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    url = f"sqlite:///{tmp_path / 'nds.db'}"
    eng = make_engine(url, immediate=True)
    init_db(eng)
    store_result(eng, parse_text(SEED.read_text(encoding="utf-8")), "seed.txt")
    store_result(eng, parse_text(EVIL, anchor=dt.date(2025, 1, 1)), "evil.txt")
    eng.dispose()
    app = create_app(Settings(database_url=url, state_dir=tmp_path))
    app.state.programme_clock = lambda: dt.date(2026, 1, 15)
    return TestClient(app)


def test_document_page_opentk_style(client: TestClient) -> None:
    r = client.get("/programma/documenten/1")
    assert r.status_code == 200
    html = r.text
    for label in (
        "2025D41944",
        "Bijgewerkt",
        "Gerelateerde personen",
        "Kamerstukdossier",
        "2025Z17982",
        "E. van Marum",
        "Voortouwcommissie",
        "Notaoverleg",
    ):
        assert label in html
    assert html.count('<section class="qa"') == 107
    assert html.count('<mark class="toezegging') >= 15
    assert '<a href="#vraag-19">antwoord op vraag 19</a>' in html  # linked cross-reference
    assert "[2026-01-01 – 2026-03-31]" in html
    assert '<sup><a href="#voetnoot-1" title="voetnoot 1">2</a></sup>' in html  # "weerbaar2" -> footnote 1
    assert 'title="markering 3: niet aan een voetnoot gekoppeld">3</span></sup>' in html
    assert html.count('<li id="voetnoot-') == 15 and "geen bevestigde markering" in html
    assert 'href="https://zoek.officielebekendmakingen.nl/kst-36740-VII-21.html"' in html


def test_everything_escaped(client: TestClient) -> None:
    html = client.get("/programma/documenten/2").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>vet</b>" not in html
    assert "<script>" not in client.get("/programma/register").text
    assert "<script>" not in client.get("/programma/tijdlijn").text


def test_register_and_timeline_use_clock_and_filters(client: TestClient) -> None:
    html = client.get("/programma/register?prioriteit=ai&signaal=te_laat").text
    assert "TNO" in html and "Te laat" in html and "Peildatum 2026-01-15" in html
    assert "Peildatum 2025-10-01" in client.get("/programma/register?vandaag=2025-10-01").text
    assert client.get("/programma/register?status=klaar").status_code == 400
    t = client.get("/programma/tijdlijn").text
    assert "Cloud" in t and "te laat" in t
    assert client.get("/programma/toezeggingen/99999").status_code == 404
    for bad in (
        "/programma/register?vandaag=gisteren",
        "/programma/tijdlijn?binnenkort=-1",
        "/programma/register?binnenkort=x",
    ):
        r = client.get(bad)
        assert (
            r.status_code == 400
            and "Ongeldige invoer" in r.text
            and r.headers["content-type"].startswith("text/html")
        )
    assert client.get("/programma/documenten/abc").status_code == 404
    assert client.get("/programma/toezeggingen/1%3Cscript%3E").status_code == 404
    assert "Wijzigingen" in client.get("/programma/toezeggingen/1").text
    tno = next(i for i in client.get("/programme/v1/toezeggingen").json() if i["actor"] == "TNO")
    assert "trefwoorden: ai, generatieve" in client.get(f"/programma/toezeggingen/{tno['id']}").text


def test_api(client: TestClient) -> None:
    docs = client.get("/programme/v1/documenten")
    assert docs.status_code == 200 and docs.headers["API-Version"] == "1.0.0" and len(docs.json()) == 2
    items = client.get("/programme/v1/toezeggingen", params={"signaal": "te_laat"}).json()
    assert items and all(i["signal"] == "te_laat" for i in items)
    bad = client.get("/programme/v1/toezeggingen", params={"status": "klaar"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert client.get("/programme/v1/documenten/999").status_code == 404
    assert client.get("/programme/v1/rapport", params={"prioriteit": "nope"}).status_code == 400
    rep = client.get("/programme/v1/rapport", params={"prioriteit": "cloud"}).json()
    assert [g["priority"] for g in rep["priorities"]] == ["cloud"]
    parsed = client.post("/programme/v1/analyse", content=b"1 | Wanneer? Eind 2026 stuur ik de brief. |\n")
    assert parsed.status_code == 200 and parsed.json()["commitments"][0]["deadline"]["end"] == "2026-12-31"
    empty = client.post("/programme/v1/analyse", content=b"")
    assert empty.status_code == 200 and empty.json()["warnings"][0]["code"] == "empty"
    spec = client.get("/programme/v1/openapi.json")
    assert spec.status_code == 200 and spec.headers["access-control-allow-origin"] == "*"
