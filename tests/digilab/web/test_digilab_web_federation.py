"""The DigiLab pages against a real federation (``nds digilab up``, the FDS federation with base
registers, consumer applications, logboeken and the citizen-view portal): contracts from each Manager's
admin API, signing through it over the web (CSRF, roles, audit), transaction logs over mTLS, registers
and the citizen view through the portal's Outway."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from nds.digilab.auth_web import AuditLog
from nds.pki import load_certificate, public_key_thumbprint
from nds.settings import Settings
from nds.web.app import create_app

pytestmark = pytest.mark.e2e

PERSONS = 300


def nds(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nds", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("digilab-web")
    state = root / "digilab"  # the web app finds it at NDS_STATE_DIR/digilab
    res = nds("digilab", "up", "--state", str(state), "--detach", "--persons", str(PERSONS), timeout=400)
    try:
        assert res.returncode == 0, res.stderr + res.stdout
        yield root, json.loads((state / "digilab.json").read_text())
    finally:
        nds("digilab", "down", "--state", str(state))


@pytest.fixture
def client(lab: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[TestClient]:
    root, _ = lab
    settings = Settings(demo_mode=True, state_dir=root)
    with TestClient(create_app(settings)) as c:
        yield c


def org(data: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(o for o in data["organisations"] if o["slug"] == slug)


def admin(o: dict[str, Any], method: str, path: str, **kw: Any) -> httpx.Response:
    token = Path(o["admin_token_file"]).read_text().strip()
    r = httpx.request(
        method, f"{o['admin_url']}/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=20, **kw
    )
    assert r.status_code < 400, r.text
    return r


def wait_state(o: dict[str, Any], content_hash: str, state: str | None) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for c in admin(o, "GET", "/contracts").json()["contracts"]:
            if c["content_hash"] == content_hash and (state is None or c["state"] == state):
                return dict(c)
        time.sleep(0.1)
    raise AssertionError(f"contract never reached {state} at {o['name']}")


def login(client: TestClient, username: str) -> None:
    page = client.get("/digilab/inloggen/medewerker").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/digilab/inloggen/medewerker",
        follow_redirects=False,
        data={"csrf_token": token, "gebruikersnaam": username, "wachtwoord": "digilab-demo"},
    )
    assert r.status_code == 303


def test_participants_and_services_from_the_running_federation(
    client: TestClient, lab: tuple[Path, dict[str, Any]]
) -> None:
    _, data = lab
    r = client.get("/digilab/deelnemers")
    assert r.status_code == 200
    for o in [data["directory"], *data["organisations"]]:
        assert o["name"] in r.text and o["peer_id"] in r.text
    r = client.get("/digilab/diensten")
    for s in data["services"]:
        assert f"<code>{s['name']}</code>" in r.text
    for g in data["grants"]:
        assert g["hash"] in r.text


def test_beheerder_accepts_and_revokes_a_real_contract(
    client: TestClient, lab: tuple[Path, dict[str, Any]]
) -> None:
    root, data = lab
    brp, kadaster = org(data, "brp"), org(data, "kadaster")
    # Kadaster proposes (and signs) a connection to the BRP's service; the BRP has not signed yet
    now = int(time.time())
    grant = {
        "type": "GRANT_TYPE_SERVICE_CONNECTION",
        "outway": {
            "peer_id": kadaster["peer_id"],
            "public_key_thumbprint": public_key_thumbprint(load_certificate(Path(kadaster["certificate"]))),
        },
        "service": {"type": "SERVICE_TYPE_SERVICE", "peer_id": brp["peer_id"], "name": "personen"},
    }
    content = {
        "iv": str(uuid.uuid4()),
        "group_id": data["group_id"],
        "validity": {"not_before": now - 60, "not_after": now + 86400},
        "grants": [{"data": grant}],
        "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
        "created_at": now - 1,
    }
    h = admin(kadaster, "POST", "/contracts", json={"contract_content": content}).json()["content_hash"]
    wait_state(brp, h, "proposed")

    # a medewerker sees it but cannot sign
    login(client, "medewerker-brp")
    page = client.get("/digilab/organisaties/brp/contracten")
    assert page.status_code == 200 and h in page.text and "Voorgesteld" in page.text
    assert client.get(f"/digilab/organisaties/brp/contracten/{h}/accept").status_code == 403

    # the beheerder accepts it: the BRP's Manager signs, the contract becomes valid at both peers
    login(client, "beheerder-brp")
    confirm = client.get(f"/digilab/organisaties/brp/contracten/{h}/accept")
    assert confirm.status_code == 200 and kadaster["name"] in confirm.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
    assert client.post(f"/digilab/organisaties/brp/contracten/{h}/accept", data={}).status_code == 403
    r = client.post(
        f"/digilab/organisaties/brp/contracten/{h}/accept", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    signed = wait_state(brp, h, "valid")
    assert brp["peer_id"] in signed["signatures"]["accept"]
    wait_state(kadaster, h, "valid")
    assert "Geldig" in client.get("/digilab/organisaties/brp/contracten").text

    # and revokes it
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',  # type: ignore[union-attr]
        client.get(f"/digilab/organisaties/brp/contracten/{h}/revoke").text,
    ).group(1)
    r = client.post(
        f"/digilab/organisaties/brp/contracten/{h}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    wait_state(brp, h, "revoked")
    wait_state(kadaster, h, "revoked")

    audit = AuditLog(root / "digilab-web" / "audit.jsonl")
    acts = [(e.officer, e.action, e.object, e.result) for e in audit.entries(["brp"]) if e.object == h]
    assert acts[0::2] == [
        ("beheerder-brp", "contract accept", h, "aangevraagd"),
        ("beheerder-brp", "contract revoke", h, "aangevraagd"),
    ]
    assert acts[1::2] == [
        ("beheerder-brp", "contract accept", h, "gelukt"),
        ("beheerder-brp", "contract revoke", h, "gelukt"),
    ]
    assert audit.verify() is None


def test_transaction_log_over_mtls_shows_a_real_call(
    client: TestClient, lab: tuple[Path, dict[str, Any]]
) -> None:
    _, data = lab
    g = next(g for g in data["grants"] if g["consumer"] == "gemeente" and g["service"] == "personen")
    gemeente = org(data, "gemeente")
    r = httpx.get(
        f"{gemeente['outway_address']}/personen/1", headers={"Fsc-Grant-Hash": g["hash"]}, timeout=20
    )
    # whatever the application answers, the call went through both FSC hops and was logged by both
    assert r.status_code < 500 and "fsc-transaction-id" in r.headers, r.text
    tx = r.headers["fsc-transaction-id"]
    login(client, "medewerker-gemeente")
    page = client.get("/digilab/organisaties/gemeente/transacties")
    assert page.status_code == 200 and tx in page.text and "Uitgaand" in page.text
    # the Manager filters by service (fsc-logging service_name)
    assert tx not in client.get("/digilab/organisaties/gemeente/transacties?dienst=adressen").text
    assert tx in client.get("/digilab/organisaties/gemeente/transacties?dienst=personen").text
    login(client, "medewerker-brp")
    page = client.get("/digilab/organisaties/brp/transacties")
    assert tx in page.text and "Inkomend" in page.text and gemeente["name"] in page.text


def citizen_login(client: TestClient, bsn: str) -> None:
    page = client.get("/digilab/inloggen/digid").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post("/digilab/inloggen/digid", data={"csrf_token": token, "bsn": bsn}, follow_redirects=False)
    assert r.status_code == 303


def test_citizen_view_and_registers_through_the_portal(
    client: TestClient, lab: tuple[Path, dict[str, Any]]
) -> None:
    from nds.digilab.registers.data import generate

    _, data = lab
    assert data["portal"]["outway_address"] and data["digid"]["private_jwk_path"]
    alice, bob = list(generate(PERSONS).persons)[:2]
    brp, uitkering, saas = org(data, "brp"), org(data, "uitkering"), org(data, "saas")
    # the applications do real work through their Outways, each logging before it uses the data
    for app, path, bsn in [
        (uitkering, "/v1/aanvragen", alice),
        (uitkering, "/v1/fraudeonderzoeken", alice),
        (saas, "/v1/parkeervergunningen", alice),
        (saas, "/v1/parkeervergunningen", bob),
    ]:
        r = httpx.post(app["app_address"] + path, json={"burgerservicenummer": bsn}, timeout=30)
        assert r.status_code == 200, r.text

    citizen_login(client, alice)
    page = client.get("/digilab/mijn-gegevens")
    assert page.status_code == 200
    t = page.text
    assert "Gebruik van uw gegevens (2)" in t
    assert f"{uitkering['name']}: Uitkering toekennen" in t and "Participatiewet art. 7" in t
    assert f"{saas['name']}: Parkeervergunning verlenen (namens de gemeente)" in t
    assert t.count(f"Verkregen van {brp['name']}") == 2 and "Wet basisregistratie personen art. 3.3" in t
    assert "Fraudeonderzoek" not in t and "fraudeonderzoek" not in t.split("Gebruik van uw gegevens")[1]
    assert alice not in t and bob not in t
    assert "Niet alle organisaties" not in t  # every organisation answered through FSC
    again = client.get("/digilab/mijn-gegevens").text
    assert "Inzageverzoeken over u" in again and brp["name"] in again.split("Inzageverzoeken over u")[1]

    # Bob sees his own permit, nothing of Alice's benefit
    client.cookies.clear()
    citizen_login(client, bob)
    t = client.get("/digilab/mijn-gegevens").text
    assert "Gebruik van uw gegevens (1)" in t and "Uitkering toekennen" not in t

    # registers, read through the portal's Outway; the confidential activity is not public
    r = client.get("/digilab/organisaties/brp/register")
    assert r.status_code == 200 and "Verstrekking uit de BRP" in r.text
    r = client.get("/digilab/organisaties/uitkering/register")
    assert r.status_code == 200 and "Uitkering toekennen" in r.text and "Fraudeonderzoek" not in r.text
    assert client.get("/digilab/organisaties/portaal/register").status_code == 404


def test_browser_citizen_sees_processings_over_the_real_federation(
    lab: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Headless Chromium, the web app on loopback, the FDS federation behind it: a test citizen logs in
    with the simulated DigiD, sees their processings with the chain, and axe-core finds no WCAG 2.1 A/AA
    violation on the pages they visit."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for the browser kit
    from browser.browserkit import Served, axe_source_text, check_axe, chromium_path
    from browser.cdp import Browser
    from nds.digilab.registers.data import generate

    root, data = lab
    carol = list(generate(PERSONS).persons)[2]
    uitkering = org(data, "uitkering")
    r = httpx.post(
        uitkering["app_address"] + "/v1/aanvragen", json={"burgerservicenummer": carol}, timeout=30
    )
    assert r.status_code == 200, r.text
    axe = axe_source_text()
    app = create_app(Settings(demo_mode=True, state_dir=root))
    with Served(app) as served:
        b = Browser(chromium_path())
        try:
            problems: list[str] = []
            b.goto(served.base + "/digilab/mijn-gegevens")
            assert b.url.endswith("/digilab/inloggen/digid")
            b.submit(
                f"document.getElementById('bsn').value = '{carol}';"
                " document.querySelector('form.stacked').submit()"
            )
            assert b.url.endswith("/digilab/mijn-gegevens")
            text = b.text()
            assert f"{uitkering['name']}: Uitkering toekennen" in text
            assert f"Verkregen van {org(data, 'brp')['name']}" in text
            problems += check_axe(b, axe, "mijn-gegevens (federatie)")
            for path in [
                "/digilab",
                "/digilab/deelnemers",
                "/digilab/diensten",
                "/digilab/organisaties/brp/register",
            ]:
                b.goto(served.base + path)
                problems += check_axe(b, axe, f"{path} (federatie)")
            assert problems == [], "\n".join(problems)
        finally:
            b.close()
