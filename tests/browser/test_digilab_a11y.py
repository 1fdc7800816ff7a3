"""Headless Chromium against the DigiLab web app served on loopback: a test citizen logs in with the
simulated DigiD and sees their processings; an officer accepts a contract; axe-core finds no
WCAG 2.1 level A/AA violation on any DigiLab page (including error and form-error states)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nds.settings import Settings
from nds.web.app import create_app

from .browserkit import Served, check_axe
from .cdp import Browser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "digilab" / "web"))
from digilab_weblab import ALICE, Lab, make_lab

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Lab]]:
    lab = make_lab(tmp_path / "lab")
    app = create_app(Settings(demo_mode=True, state_dir=tmp_path / "web"))
    app.state.digilab_data = lab.data()
    try:
        with Served(app) as s:
            yield s, lab
    finally:
        lab.close()


def test_citizen_logs_in_and_every_page_passes_axe(
    served: tuple[Served, Lab], browser: Browser, axe_source: str
) -> None:
    server, lab = served
    base = server.base
    problems: list[str] = []

    def visit(path: str) -> None:
        browser.goto(base + path)
        problems.extend(check_axe(browser, axe_source, path))

    for path in [
        "/digilab",
        "/digilab/deelnemers",
        "/digilab/diensten",
        "/digilab/organisaties/brp/register",
        "/digilab/organisaties/uitkering/register",
        "/digilab/organisaties/onbekend/register",
        "/digilab/inloggen/medewerker",
    ]:
        visit(path)

    # the citizen: mijn-gegevens sends them to the simulated DigiD
    browser.goto(base + "/digilab/mijn-gegevens")
    assert browser.url.endswith("/digilab/inloggen/digid")
    problems.extend(check_axe(browser, axe_source, "DigiD-inlog"))
    # a wrong BSN first: the error state must be accessible too
    browser.submit(
        "document.getElementById('bsn').value = '12345'; document.querySelector('form.stacked').submit()"
    )
    assert "geldig burgerservicenummer" in browser.text()
    problems.extend(check_axe(browser, axe_source, "DigiD-inlog met fout"))
    browser.submit(
        f"document.getElementById('bsn').value = '{ALICE}'; document.querySelector('form.stacked').submit()"
    )
    assert browser.url.endswith("/digilab/mijn-gegevens")
    text = browser.text()
    assert "Gemeente Voorbeeldstad: Verhuizing verwerken" in text
    assert "Verkregen van Basisregistratie Personen" in text
    assert "Wet basisregistratie personen art. 2.39" in text
    assert "Fraudeonderzoek" not in text
    problems.extend(check_axe(browser, axe_source, "/digilab/mijn-gegevens"))
    browser.submit("document.querySelector('.who form').submit()")  # log out
    assert browser.url.rstrip("/").endswith("/digilab")

    # an officer (beheerder) accepts the proposed contract
    browser.goto(base + "/digilab/inloggen/medewerker")
    browser.submit(
        "document.getElementById('gebruikersnaam').value = 'beheerder-brp';"
        "document.getElementById('wachtwoord').value = 'digilab-demo';"
        "document.querySelector('form.stacked').submit()"
    )
    assert browser.url.endswith("/digilab/beheer")
    problems.extend(check_axe(browser, axe_source, "/digilab/beheer"))
    visit("/digilab/organisaties/brp/contracten")
    browser.submit(
        "[...document.querySelectorAll('a.button')].find(b => b.textContent.startsWith('Accepteren')).click()"
    )
    assert "Contract accepteren?" in browser.text()
    problems.extend(check_axe(browser, axe_source, "bevestigen"))
    browser.submit("document.querySelector('main form.inline button').click()")
    assert "is geaccepteerd" in browser.text()
    assert lab.managers["brp"].calls == [("accept", "$1$1$proposedcontract0001")]
    problems.extend(check_axe(browser, axe_source, "contracten na actie"))
    visit("/digilab/organisaties/brp/transacties")
    visit("/digilab/audit")
    assert "contract accept" in browser.text()

    assert problems == [], "axe-core WCAG 2.1 A/AA violations:\n" + "\n".join(problems)


def test_keyboard_user_reaches_content_with_the_skip_link(
    served: tuple[Served, Lab], browser: Browser, axe_source: str
) -> None:
    server, _ = served
    browser.goto(server.base + "/digilab")
    first = browser.evaluate(
        "(() => { const el = [...document.querySelectorAll('a[href], button, input, select, textarea')]"
        ".find(e => e.offsetParent !== null || e.classList.contains('skip-link')); return el.className; })()"
    )
    assert first == "skip-link"
    # focus styles exist: a focused link gets a visible outline
    outline = browser.evaluate(
        "(() => { const a = document.querySelector('.subnav a'); a.focus();"
        " return getComputedStyle(a).outlineStyle; })()"
    )
    assert outline not in ("none", "", None)


def test_axe_harness_reports_violations(
    served: tuple[Served, Lab], browser: Browser, axe_source: str
) -> None:
    """The check can fail: a page with an unlabelled field and low-contrast text is reported."""
    server, _ = served
    browser.goto(server.base + "/digilab")
    browser.evaluate(  # CSSOM, since the CSP (rightly) ignores inline style attributes
        "(() => { const m = document.querySelector('main');"
        " m.appendChild(document.createElement('input'));"
        " const p = document.createElement('p'); p.textContent = 'grijs'; p.style.color = '#bbb';"
        " m.appendChild(p); })()"
    )
    ids = {p.split(":")[1].split()[0] for p in check_axe(browser, axe_source, "x")}
    assert {"label", "color-contrast"} <= ids


OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
WIDEST = (  # the innermost elements sticking out to the right, for the failure message
    "[...document.querySelectorAll('body *')].filter(e => !e.closest('.table-scroll')"
    " && e.getBoundingClientRect().right > innerWidth + 1"
    " && ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 1))"
    ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
)


def test_pages_reflow_at_320_css_pixels(
    served: tuple[Served, Lab], browser: Browser, axe_source: str
) -> None:
    """WCAG 1.4.10: at 320 CSS px wide no page needs horizontal scrolling (wide tables scroll in their
    own focusable region)."""
    server, _ = served
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False},
    )
    too_wide = []
    for path in [
        "/digilab",
        "/digilab/deelnemers",
        "/digilab/diensten",
        "/digilab/organisaties/brp/register",
        "/digilab/inloggen/digid",
        "/digilab/inloggen/medewerker",
    ]:
        browser.goto(server.base + path)
        width = browser.evaluate(OVERFLOW)
        if width > 1:
            too_wide.append(f"{path}: {width}px too wide {browser.evaluate(WIDEST)}")
    browser.goto(server.base + "/digilab/inloggen/digid")
    browser.submit(
        f"document.getElementById('bsn').value = '{ALICE}'; document.querySelector('form.stacked').submit()"
    )
    width = browser.evaluate(OVERFLOW)
    if width > 1:
        too_wide.append(f"/digilab/mijn-gegevens: {width}px too wide {browser.evaluate(WIDEST)}")
    assert too_wide == []
