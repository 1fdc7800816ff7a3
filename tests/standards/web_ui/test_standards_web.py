"""Standards web pages via TestClient: reports with SVG charts, accessibility, SSRF-safe self-check."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from aiohttp import web
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
import api_apps
from api_servers import serve_aiohttp

from nds.settings import Settings
from nds.standards import store
from nds.standards.checks.api.retrieve import TargetRefused
from nds.standards.web import public_only
from nds.web.app import create_app


@pytest.fixture
def client(sqlite_url: str, tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(database_url=sqlite_url, state_dir=tmp_path)))


@pytest.mark.unit
@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_guard_refuses_non_public_addresses(addr: str) -> None:
    with pytest.raises(TargetRefused):
        public_only("api.example.nl", addr)


@pytest.mark.unit
def test_guard_names_and_public() -> None:
    for name in ("localhost", "foo.localhost", "metadata.google.internal", "printer.local"):
        with pytest.raises(TargetRefused):
            public_only(name, "")
    public_only("api.example.nl", "93.184.216.34")  # a public address passes (nothing is contacted)
    public_only("api.example.nl", "2a00:1450::1")


@pytest.mark.integration
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/v1",
        "http://[::1]/v1",
        "http://10.0.0.1/v1",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8000/v1",
        "http://metadata.google.internal/v1",
    ],
)
def test_selfcheck_refuses_internal_targets(client: TestClient, url: str) -> None:
    r = client.post("/standaarden/zelftest", data={"url": url})
    assert r.status_code == 400
    assert "Dit doel testen we niet" in r.text


@pytest.mark.integration
def test_selfcheck_refuses_after_dns(client: TestClient) -> None:
    # a name that only resolves to loopback (via /etc/hosts): refused after DNS, in the resolver
    client.app.state.standards_guard = lambda host, addr: public_only("x.example", addr) if addr else None
    r = client.post("/standaarden/zelftest", data={"url": "http://localhost/v1"})
    assert r.status_code == 400 and "niet-publiek adres" in r.text


@pytest.mark.integration
def test_selfcheck_rechecks_every_redirect(client: TestClient) -> None:
    async def hop(_r: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/v1/openapi.json")

    app = web.Application()
    app.router.add_get("/v1/openapi.json", hop)
    with serve_aiohttp(app, "127.0.0.61") as port:
        # for the test only, the first hop (127.0.0.61) counts as public; the redirect target does not
        def guard(host: str, addr: str) -> None:
            if addr != "127.0.0.61":
                public_only(host, addr)

        client.app.state.standards_guard = guard
        r = client.post("/standaarden/zelftest", data={"url": f"http://127.0.0.61:{port}/v1"})
    assert r.status_code == 400 and "127.0.0.1" in r.text


@pytest.mark.integration
def test_selfcheck_runs_and_rate_limits(client: TestClient) -> None:
    with serve_aiohttp(api_apps.bad_app(), "127.0.0.62") as port:
        client.app.state.standards_guard = lambda host, addr: (
            None if addr in ("", "127.0.0.62") else public_only(host, addr)
        )
        r = client.post(
            "/standaarden/zelftest", data={"url": f"http://127.0.0.62:{port}/api", "versie": "2.1.0"}
        )
        assert r.status_code == 200, r.text
        assert "api.core/version-header" in r.text and "failed" in r.text and "ADR 2.1.0" in r.text
        codes = [
            client.post("/standaarden/zelftest", data={"url": "http://127.0.0.1/"}).status_code
            for _ in range(6)
        ]
    assert (
        codes[-1] == 429
        and "Te veel zelftests" in client.post("/standaarden/zelftest", data={"url": "x"}).text
    )


@pytest.mark.integration
def test_round_pages_with_charts(client: TestClient, sqlite_url: str) -> None:
    engine = store.open_store(sqlite_url)
    rid = store.create_round(
        engine,
        "najaar <2026>",
        "ncsc-2025-05",
        "t.csv",
        [
            {
                "organisation": "Gemeente Alfa",
                "org_type": "gemeente",
                "bestuursorgaan": True,
                "domain": "alfa.nl",
                "check_web": True,
                "check_mail": False,
            },
            {
                "organisation": "Gemeente Beta",
                "org_type": "gemeente",
                "bestuursorgaan": True,
                "domain": "beta.nl",
                "check_web": True,
                "check_mail": False,
            },
        ],
    )
    for t, status in zip(store.round_targets(engine, rid), ("passed", "failed"), strict=True):
        store.save_result(
            engine,
            rid,
            t.id,
            "web",
            "done",
            "ncsc-2025-05",
            {"tests": []},
            {"HTTPS": status},
            store.now(),
            1.0,
        )
    store.finish_round(engine, rid)
    store.set_explanation(engine, "Gemeente Beta", "HTTPS", "Nieuwe hosting per 1 juli", dt.date(2099, 1, 1))
    from nds.standards.accessibility import parse_statements

    store.replace_accessibility(
        engine,
        parse_statements(
            "organisatie,website,status,datum\nGemeente Alfa,alfa.nl,A,2026-01-01\n"
            "Gemeente Alfa,b.alfa.nl,D,\nNiet In Ronde,x.nl,A,2026-01-01\n"
        ),
        "t.csv",
    )
    r = client.get("/standaarden")
    assert r.status_code == 200 and f'href="/standaarden/rondes/{rid}"' in r.text
    assert "najaar &lt;2026&gt;" in r.text  # autoescaped
    r = client.get(f"/standaarden/rondes/{rid}")
    assert r.status_code == 200
    assert "<svg" in r.text and "50%" in r.text and "Nieuwe hosting per 1 juli" in r.text
    assert "<script" not in r.text
    assert "Digitale toegankelijkheid" in r.text and "Niet In Ronde" not in r.text
    csv_r = client.get(f"/standaarden/rondes/{rid}/csv")
    # the explained failure stays in the denominator: 1 of 2 passes
    assert csv_r.status_code == 200 and "totaal,,web.HTTPS,1,0,1,0,0,50.0" in csv_r.text
    assert client.get("/standaarden/rondes/999").status_code == 404


@pytest.mark.integration
def test_accessibility_page(client: TestClient, sqlite_url: str) -> None:
    from nds.standards.accessibility import parse_statements

    engine = store.open_store(sqlite_url)
    today = dt.date.today()
    rows = parse_statements(
        "organisatie;website;status;datum\n"
        f"Gemeente Alfa;alfa.nl;A;{today.isoformat()}\n"
        f"Gemeente Alfa;loket.alfa.nl;C;{(today - dt.timedelta(days=30)).isoformat()}\n"
        f"Gemeente Beta;beta.nl;C;{(today - dt.timedelta(days=400)).isoformat()}\n"
        "Gemeente Beta;oud.beta.nl;E;\n"
    )
    store.replace_accessibility(engine, rows, "test.csv")
    r = client.get("/standaarden/toegankelijkheid")
    assert r.status_code == 200
    assert "4 sites, 50% voldoet, 25% toegankelijk" in r.text and "<svg" in r.text


@pytest.mark.integration
@pytest.mark.parametrize(
    ("soort", "target"),
    [
        ("web", "localhost"),
        ("web", "127.0.0.1"),
        ("web", "10.1.1.1"),
        ("web", "[::1]"),
        ("mail", "localhost"),
        ("mail", "printer.local"),
        ("web", "metadata.google.internal"),
    ],
)
def test_web_and_mail_selfcheck_refuse_internal(client: TestClient, soort: str, target: str) -> None:
    r = client.post("/standaarden/zelftest", data={"url": target, "soort": soort})
    assert r.status_code == 400, r.text
    assert "Dit doel testen we niet" in r.text


@pytest.mark.unit
def test_guarded_net_refuses_connections_to_internal_literals() -> None:
    from nds.standards.net import ConnectTo
    from nds.standards.web import GuardedNet, RefusedTarget

    net = GuardedNet(connect_to=(ConnectTo("www.example.nl", 443, "93.184.216.34", 443),), guard=public_only)
    assert net.route("www.example.nl", 443) == ("93.184.216.34", 443)
    assert net.route("mx.example.nl", 25) is None  # names resolve later; their addresses come back here
    assert net.route("93.184.216.34", 25) == ("93.184.216.34", 25)  # vetted literals route to themselves
    assert net.route("2a00:1450::1", 443) == ("2a00:1450::1", 443)
    for literal in ("10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "fd00::1"):
        with pytest.raises(RefusedTarget):
            net.route(literal, 25)
    assert issubclass(RefusedTarget, ConnectionRefusedError)  # checks treat it as a refused connection


@pytest.mark.integration
def test_organisation_page(client: TestClient, sqlite_url: str) -> None:
    engine = store.open_store(sqlite_url)
    rid = store.create_round(
        engine,
        "r",
        "ncsc-2025-05",
        "t.csv",
        [
            {
                "organisation": "Gemeente A/B & C",
                "org_type": "gemeente",
                "bestuursorgaan": True,
                "domain": d,
                "check_web": True,
                "check_mail": False,
            }
            for d in ("a.nl", "b.nl")
        ],
    )
    for t, status in zip(store.round_targets(engine, rid), ("passed", "failed"), strict=True):
        store.save_result(
            engine,
            rid,
            t.id,
            "web",
            "done",
            "ncsc-2025-05",
            {"tests": []},
            {"dnssec": status},
            store.now(),
            1.0,
        )
    store.set_explanation(engine, "Gemeente A/B & C", "dnssec", "Nieuwe registrar", None)
    page = client.get(f"/standaarden/rondes/{rid}")
    assert (
        "/organisaties/Gemeente%20A/B%20%26%20C" in page.text or "/organisaties/Gemeente%20A%2FB" in page.text
    )
    r = client.get(f"/standaarden/rondes/{rid}/organisaties/Gemeente A%2FB %26 C")
    assert r.status_code == 200, r.text
    assert "voldoet niet (uitgelegd)" in r.text and "Nieuwe registrar" in r.text and "a.nl" in r.text
    assert client.get(f"/standaarden/rondes/{rid}/organisaties/Onbekend").status_code == 404
