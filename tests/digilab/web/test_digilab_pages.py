"""The DigiLab pages through the web app, against real organisation applications in-process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from digilab_weblab import ALICE, EVIL, Lab, make_client
from fastapi.testclient import TestClient

from nds.digilab.auth_web import COOKIE, AuditLog

pytestmark = pytest.mark.integration

ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def csrf(client: TestClient, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.text
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login_citizen(client: TestClient, bsn: str = ALICE) -> None:
    token = csrf(client, "/digilab/inloggen/digid")
    r = client.post("/digilab/inloggen/digid", data={"csrf_token": token, "bsn": bsn}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/digilab/mijn-gegevens"


def login_officer(client: TestClient, username: str, password: str = "digilab-demo") -> None:
    token = csrf(client, "/digilab/inloggen/medewerker")
    r = client.post(
        "/digilab/inloggen/medewerker",
        data={"csrf_token": token, "gebruikersnaam": username, "wachtwoord": password},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "web" / "digilab-web" / "audit.jsonl")


# -- public pages ------------------------------------------------------------------------------


def test_start_page_explains_what_to_click(client: TestClient) -> None:
    r = client.get("/digilab")
    assert r.status_code == 200
    assert "Wat kunt u hier doen?" in r.text and "digilab-test" in r.text
    for href in ("/digilab/deelnemers", "/digilab/diensten", "/digilab/mijn-gegevens", "/digilab/beheer"):
        assert f'href="{href}"' in r.text
    assert 'lang="nl"' in r.text and "Naar de inhoud" in r.text
    assert "Demo-omgeving" in r.text  # the demo banner
    assert client.get("/").text.count('href="/digilab"') >= 1  # in the main navigation


def test_participants_list_organisations_roles_and_peer_ids(client: TestClient) -> None:
    r = client.get("/digilab/deelnemers")
    assert r.status_code == 200
    for name, peer_id in [
        ("Basisregistratie Personen", "00000001001000000001"),
        ("Gemeente Voorbeeldstad", "00000001001000000003"),
        ("Stelselcatalogus (Directory)", "00000099000000000001"),
    ]:
        assert name in r.text and peer_id in r.text
    assert "Aanbieder" in r.text and "Afnemer" in r.text
    assert 'href="/digilab/organisaties/brp/register"' in r.text
    assert '<th scope="col">Peer-ID (OIN)</th>' in r.text and '<caption id="deelnemers-tabel-1">' in r.text


def test_service_directory_shows_services_and_connections(client: TestClient) -> None:
    r = client.get("/digilab/diensten")
    assert r.status_code == 200
    assert "<code>personen</code>" in r.text and "Basisregistratie Personen" in r.text
    assert "$1$4$gemeente-personen" in r.text and "Gemeente Voorbeeldstad" in r.text


def test_register_shows_activities_escaped_and_never_confidential(client: TestClient) -> None:
    r = client.get("/digilab/organisaties/brp/register")
    assert r.status_code == 200
    assert "Verstrekking uit de BRP" in r.text
    assert 'href="https://wetten.overheid.nl/BWBR0033715"' in r.text
    assert "Wet basisregistratie personen art. 3.3" in r.text
    assert ESCAPED in r.text and EVIL not in r.text
    r = client.get("/digilab/organisaties/uitkering/register")
    assert r.status_code == 200 and "Uitkering toekennen" in r.text
    assert "Fraudeonderzoek" not in r.text


def test_unknown_organisation_is_404(client: TestClient) -> None:
    r = client.get("/digilab/organisaties/bestaat-niet/register")
    assert r.status_code == 404 and "bestaat niet" in r.text


def test_no_digilab_running_gives_a_clear_page(tmp_path: Path) -> None:
    from nds.settings import Settings
    from nds.web.app import create_app

    with TestClient(create_app(Settings(state_dir=tmp_path / "leeg"))) as c:
        r = c.get("/digilab/deelnemers")
        assert r.status_code == 503 and "make demo" in r.text
        assert c.get("/digilab").status_code == 200


# -- citizen view ------------------------------------------------------------------------------


def test_citizen_view_requires_login(client: TestClient) -> None:
    r = client.get("/digilab/mijn-gegevens", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/digilab/inloggen/digid"


def test_citizen_sees_own_processings_with_chain_and_nothing_else(client: TestClient) -> None:
    login_citizen(client)
    r = client.get("/digilab/mijn-gegevens")
    assert r.status_code == 200
    t = r.text
    assert "Gemeente Voorbeeldstad: Verhuizing verwerken" in t
    assert "Een adreswijziging van een inwoner verwerken in de basisregistratie" in t  # purpose
    assert "Wet basisregistratie personen art. 2.39" in t  # national provision, linked
    assert 'href="https://wetten.overheid.nl/BWBR0033715"' in t
    assert "Verkregen van Basisregistratie Personen" in t and "Verstrekking uit de BRP" in t
    assert "Gebruik van uw gegevens (1)" in t
    # the confidential fraud inquiry and Bob's benefit never appear
    assert "Fraudeonderzoek" not in t and "Uitkering toekennen" not in t
    assert t.count("Verstrekking uit de BRP") == 1  # not the BRP's delivery to the fraud inquiry
    assert ALICE not in t  # the BSN is not echoed on the page
    # looking is itself logged: the next view shows the organisations' inzageverzoeken
    r2 = client.get("/digilab/mijn-gegevens")
    assert "Inzageverzoeken over u" in r2.text and "Uitkeringsinstantie" in r2.text


def test_no_bsn_in_cookie_or_url(client: TestClient) -> None:
    login_citizen(client)
    assert ALICE not in (client.cookies.get(COOKIE) or "")
    r = client.get("/digilab/mijn-gegevens")
    assert ALICE not in str(r.url)


def test_unreachable_organisation_is_shown(client: TestClient, lab: Lab) -> None:
    lab.down.add("uitkering")
    login_citizen(client)
    r = client.get("/digilab/mijn-gegevens")
    assert r.status_code == 200
    assert (
        "Niet alle organisaties konden worden gevraagd" in r.text and "<li>Uitkeringsinstantie</li>" in r.text
    )
    assert "Verhuizing verwerken" in r.text


def test_demo_login_lists_test_persons_first_the_documented_one(client: TestClient) -> None:
    page = client.get("/digilab/inloggen/digid").text
    listed = re.findall(r'name="bsn" value="(\d{9})"', page)
    assert len(listed) == 6 and listed[0] == "999993653" and len(set(listed)) == 6
    assert all(b.startswith("9999") for b in listed)


def test_demo_login_rejects_invalid_and_non_test_bsn(client: TestClient) -> None:
    token = csrf(client, "/digilab/inloggen/digid")
    for bsn, msg in [("12345", "geldig burgerservicenummer"), ("111222333", "testpersoon")]:
        r = client.post("/digilab/inloggen/digid", data={"csrf_token": token, "bsn": bsn})
        assert r.status_code == 400 and msg in r.text and 'aria-invalid="true"' in r.text
    assert client.get("/digilab/mijn-gegevens", follow_redirects=False).status_code == 303


def test_demo_login_refused_when_demo_mode_is_off(lab: Lab, tmp_path: Path) -> None:
    with make_client(lab, tmp_path, demo=False) as c:
        r = c.get("/digilab/inloggen/digid")
        assert r.status_code == 404 and "demo-omgeving" in r.text
        assert 'name="bsn"' not in r.text
        r = c.post("/digilab/inloggen/digid", data={"bsn": ALICE, "csrf_token": "x"})
        assert r.status_code == 404
        assert "Demo-omgeving" not in c.get("/digilab").text
        # no demo officer accounts either
        token = csrf(c, "/digilab/inloggen/medewerker")
        r = c.post(
            "/digilab/inloggen/medewerker",
            data={"csrf_token": token, "gebruikersnaam": "beheerder-brp", "wachtwoord": "digilab-demo"},
        )
        assert r.status_code == 401 and "digilab-demo" not in r.text


def test_citizen_login_without_csrf_is_refused(client: TestClient) -> None:
    client.get("/digilab/inloggen/digid")
    r = client.post("/digilab/inloggen/digid", data={"bsn": ALICE}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post(
        "/digilab/inloggen/digid", data={"bsn": ALICE, "csrf_token": "fout"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert client.get("/digilab/mijn-gegevens", follow_redirects=False).status_code == 303


def test_cross_site_origin_is_refused(client: TestClient) -> None:
    token = csrf(client, "/digilab/inloggen/digid")
    r = client.post(
        "/digilab/inloggen/digid",
        data={"bsn": ALICE, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "andere website" in r.text


def test_login_rotates_session_and_logout_ends_it(client: TestClient) -> None:
    client.get("/digilab/inloggen/digid")
    before = client.cookies.get(COOKIE)
    login_citizen(client)
    after = client.cookies.get(COOKIE)
    assert before and after and before != after
    token = csrf(client, "/digilab/mijn-gegevens")
    r = client.post("/digilab/uitloggen", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set(COOKIE, after, path="/digilab")  # replaying the old cookie does not help
    assert client.get("/digilab/mijn-gegevens", follow_redirects=False).status_code == 303


# -- officers ----------------------------------------------------------------------------------


def test_contracts_require_officer_login(client: TestClient) -> None:
    r = client.get("/digilab/organisaties/brp/contracten", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/digilab/inloggen/medewerker")
    assert client.get("/digilab/beheer", follow_redirects=False).status_code == 303


def test_medewerker_sees_contracts_but_may_not_act(client: TestClient, lab: Lab, tmp_path: Path) -> None:
    login_officer(client, "medewerker-brp")
    r = client.get("/digilab/organisaties/brp/contracten")
    assert r.status_code == 200
    assert "Voorgesteld (wacht op handtekeningen)" in r.text and "Geldig" in r.text
    assert "Gemeente Voorbeeldstad: geaccepteerd" in r.text
    assert "Basisregistratie Personen: <em>wacht op handtekening</em>" in r.text
    assert ESCAPED in r.text and EVIL not in r.text
    assert "Accepteren" not in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/digilab/organisaties/brp/contracten/$1$1$proposedcontract0001/accept", data={"csrf_token": token}
    )
    assert r.status_code == 403 and "beheerder" in r.text
    assert lab.managers["brp"].calls == []
    r = client.get("/digilab/organisaties/brp/contracten/$1$1$proposedcontract0001/accept")
    assert r.status_code == 403 and "csrf_token" not in r.text.split("<h1>")[1]


def test_beheerder_accepts_with_csrf_and_is_audited(client: TestClient, lab: Lab, tmp_path: Path) -> None:
    login_officer(client, "beheerder-brp")
    url = "/digilab/organisaties/brp/contracten"
    page = client.get(url).text
    assert "Accepteren" in page and "Afwijzen" in page and "Intrekken" in page
    # the buttons lead to a confirmation page showing what will be signed; GET changes nothing
    confirm = client.get(url + "/%241%241%24proposedcontract0001/accept")
    assert confirm.status_code == 200 and "Contract accepteren?" in confirm.text
    assert "$1$1$proposedcontract0001" in confirm.text and "Gemeente Voorbeeldstad" in confirm.text
    assert 'name="csrf_token"' in confirm.text and lab.managers["brp"].calls == []
    assert client.get(url + "/$1$1$onbekend/accept").status_code == 404
    assert client.get(url + "/$1$1$proposedcontract0001/verwijderen").status_code == 404
    # without the token: refused, the Manager never asked to sign
    r = client.post(url + "/$1$1$proposedcontract0001/accept", data={}, follow_redirects=False)
    assert r.status_code == 403 and lab.managers["brp"].calls == []
    token = csrf(client, url)
    r = client.post(
        url + "/$1$1$proposedcontract0001/accept", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == url
    assert lab.managers["brp"].calls == [("accept", "$1$1$proposedcontract0001")]
    after = client.get(url).text
    assert "is geaccepteerd" in after and 'role="status"' in after
    entries = audit(tmp_path).entries(["brp"])
    signed = [e for e in entries if e.action == "contract accept"]
    assert [e.result for e in signed] == ["aangevraagd", "gelukt"]  # intent before, outcome after
    signed = signed[1:]
    assert signed[0].officer == "beheerder-brp" and signed[0].object == "$1$1$proposedcontract0001"
    assert signed[0].result == "gelukt" and signed[0].at
    # revoke the valid one
    token = csrf(client, url)
    r = client.post(
        url + "/$1$1$validcontract000002/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and lab.managers["brp"].calls[-1] == ("revoke", "$1$1$validcontract000002")
    assert audit(tmp_path).verify() is None


def test_manager_refusal_is_shown_and_audited(client: TestClient, tmp_path: Path) -> None:
    login_officer(client, "beheerder-brp")
    token = csrf(client, "/digilab/organisaties/brp/contracten")
    r = client.post("/digilab/organisaties/brp/contracten/$1$1$onbekend/reject", data={"csrf_token": token})
    assert r.status_code == 409 and "Geen contract met deze hash" in r.text
    entries = [e for e in audit(tmp_path).entries(["brp"]) if e.action == "contract reject"]
    assert len(entries) == 2 and entries[0].result == "aangevraagd"
    assert entries[1].result.startswith("geweigerd")


def test_officer_of_other_organisation_is_refused(client: TestClient, lab: Lab) -> None:
    login_officer(client, "beheerder-gemeente")
    assert client.get("/digilab/organisaties/brp/contracten").status_code == 403
    assert client.get("/digilab/organisaties/brp/transacties").status_code == 403
    token = csrf(client, "/digilab/beheer")
    r = client.post(
        "/digilab/organisaties/brp/contracten/$1$1$proposedcontract0001/accept", data={"csrf_token": token}
    )
    assert r.status_code == 403 and lab.managers["brp"].calls == []


def test_transaction_log_lookup_is_shown_and_audited(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/digilab/organisaties/brp/transacties", follow_redirects=False).status_code == 303
    login_officer(client, "medewerker-brp")
    r = client.get("/digilab/organisaties/brp/transacties")
    assert r.status_code == 200
    assert "01930000-0000-7000-8000-000000000001" in r.text and "Inkomend" in r.text
    assert "Gemeente Voorbeeldstad" in r.text
    looked = [e for e in audit(tmp_path).entries(["brp"]) if e.action == "transactielog ingezien"]
    assert len(looked) == 1 and looked[0].officer == "medewerker-brp" and looked[0].result == "1 records"
    r = client.get("/digilab/audit")
    assert r.status_code == 200 and "transactielog ingezien" in r.text and "medewerker-brp" in r.text
    assert client.get("/digilab/organisaties/brp/transacties?cursor=<x>").status_code == 400
    assert client.get("/digilab/organisaties/brp/transacties?dienst=<x>").status_code == 400
    r = client.get("/digilab/organisaties/brp/transacties?dienst=personen")
    assert "01930000-0000-7000-8000-000000000001" in r.text and '<option value="personen" selected>' in r.text
    assert any(e.object == "GET /logs service_name=personen" for e in audit(tmp_path).entries(["brp"]))


def test_wrong_password_and_throttle(client: TestClient) -> None:
    for _ in range(5):
        token = csrf(client, "/digilab/inloggen/medewerker")
        r = client.post(
            "/digilab/inloggen/medewerker",
            data={"csrf_token": token, "gebruikersnaam": "beheerder-brp", "wachtwoord": "fout"},
        )
        assert r.status_code == 401 and "Onbekende gebruikersnaam" in r.text
    token = csrf(client, "/digilab/inloggen/medewerker")
    r = client.post(
        "/digilab/inloggen/medewerker",
        data={"csrf_token": token, "gebruikersnaam": "beheerder-brp", "wachtwoord": "digilab-demo"},
    )
    assert r.status_code == 401  # locked for a while, even with the right password


def test_officers_file_outside_demo_mode(lab: Lab, tmp_path: Path) -> None:
    import json

    from nds.digilab.auth_web import hash_password

    web = tmp_path / "web" / "digilab-web"
    web.mkdir(parents=True)
    (web / "officers.json").write_text(
        json.dumps(
            {
                "officers": [
                    {
                        "username": "jan",
                        "name": "Jan Jansen",
                        "password": hash_password("geheim-1234"),
                        "roles": {"brp": "beheerder", "gemeente": "medewerker"},
                    }
                ]
            }
        )
    )
    with make_client(lab, tmp_path, demo=False) as c:
        login_officer(c, "jan", "geheim-1234")
        r = c.get("/digilab/beheer")
        assert "Contracten van Basisregistratie Personen" in r.text
        assert "Contracten van Gemeente Voorbeeldstad" in r.text
        assert "Uitkeringsinstantie" not in r.text
        assert "Accepteren" in c.get("/digilab/organisaties/brp/contracten").text
        assert c.get("/digilab/organisaties/gemeente/contracten").status_code == 200
        assert c.get("/digilab/organisaties/uitkering/contracten").status_code == 403


def test_unwritable_audit_log_blocks_the_action(client: TestClient, lab: Lab, tmp_path: Path) -> None:
    login_officer(client, "beheerder-brp")
    token = csrf(client, "/digilab/organisaties/brp/contracten")
    log = tmp_path / "web" / "digilab-web" / "audit.jsonl"
    client.app.state.digilab_web._audit = None  # type: ignore[attr-defined]
    log.unlink()
    log.mkdir()  # a directory where the file should be: every write fails
    r = client.post(
        "/digilab/organisaties/brp/contracten/$1$1$proposedcontract0001/accept", data={"csrf_token": token}
    )
    assert r.status_code == 500 and "auditlog" in r.text.lower()
    assert lab.managers["brp"].calls == []  # fail closed: nothing signed
    assert client.get("/digilab/organisaties/brp/transacties").status_code == 500


@pytest.mark.unit
def test_audit_log_chain_detects_edits(tmp_path: Path) -> None:
    import json

    from nds.digilab.auth_web import AuditLogError, Officer

    log = AuditLog(tmp_path / "a.jsonl")
    o = Officer("jan", "Jan", {"brp": "beheerder"})
    for i in range(3):
        log.append(o, "brp", "contract accept", f"h{i}", "gelukt")
    assert log.verify() is None and [e.seq for e in log.entries()] == [1, 2, 3]
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    edited = json.loads(lines[1])
    edited["officer"] = "piet"
    (tmp_path / "a.jsonl").write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    assert AuditLog(tmp_path / "a.jsonl").verify() == 2
    (tmp_path / "a.jsonl").write_text("\n".join([lines[0], lines[2]]) + "\n")  # a deleted entry
    assert AuditLog(tmp_path / "a.jsonl").verify() == 2
    (tmp_path / "a.jsonl").write_text(lines[0] + "\n{kapot\n")
    with pytest.raises(AuditLogError, match="line 2"):
        AuditLog(tmp_path / "a.jsonl").entries()


def test_malformed_answers_and_state_give_clear_pages(client: TestClient, lab: Lab, tmp_path: Path) -> None:
    from nds.settings import Settings
    from nds.web.app import create_app

    lab.managers["brp"].contracts["x"] = {"content_hash": "x", "content": "geen object"}
    login_officer(client, "medewerker-brp")
    r = client.get("/digilab/organisaties/brp/contracten")
    assert r.status_code == 502 and "onverwachte vorm" in r.text
    state = tmp_path / "kapot" / "digilab"
    state.mkdir(parents=True)
    with TestClient(create_app(Settings(state_dir=tmp_path / "kapot"))) as c:
        (state / "digilab.json").write_text("{niet json")
        assert c.get("/digilab/deelnemers").status_code == 503
        (state / "digilab.json").write_text('{"organisations": [{"naam": "zonder slug"}]}')
        r = c.get("/digilab/deelnemers")
        assert r.status_code == 503 and "niet de verwachte vorm" in r.text


def test_login_redirect_stays_on_the_digilab(client: TestClient) -> None:
    r = client.get("/digilab/organisaties/brp/transacties", follow_redirects=False)
    assert r.headers["location"].startswith(
        "/digilab/inloggen/medewerker?volgende=/digilab/organisaties/brp/"
    )
    for target, expected in [
        ("/digilab/organisaties/brp/transacties", "/digilab/organisaties/brp/transacties"),
        ("//evil.example/x", "/digilab/beheer"),
        ("https://evil.example/", "/digilab/beheer"),
        ("/digilab/..//evil.example", "/digilab/beheer"),
    ]:
        token = csrf(client, "/digilab/inloggen/medewerker")
        r = client.post(
            "/digilab/inloggen/medewerker",
            data={
                "csrf_token": token,
                "gebruikersnaam": "medewerker-brp",
                "wachtwoord": "digilab-demo",
                "volgende": target,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == expected
