"""Rounds against real loopback servers, on SQLite and PostgreSQL: run, interrupt, resume, report."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from contextlib import ExitStack
from pathlib import Path

import pytest
import rounds_support as sup
from typer.testing import CliRunner

from nds.standards import report, rounds, store
from nds.standards.net import ConnectTo, NetworkConfig

CSV = """organisatie;type;bestuursorgaan;domein;web;mail
Gemeente Alfa;gemeente;ja;alfa.test;ja;ja
Gemeente Alfa;gemeente;ja;www.alfa.test;ja;nee
Gemeente Beta;gemeente;ja;beta.test;ja;ja
Waterschap Gamma;waterschap;ja;gamma.test;ja;nee
Stichting Delta;stichting;nee;nomail.delta.test;ja;ja
"""
# alfa: HSTS; www.alfa: none (folds into alfa -> HSTS fails); beta: HSTS; gamma: slow + HSTS; delta: none
SITES = {
    "alfa.test": (True, 0.0, "127.0.0.41"),
    "www.alfa.test": (False, 0.0, "127.0.0.42"),
    "beta.test": (True, 0.0, "127.0.0.43"),
    "gamma.test": (True, 1.5, "127.0.0.44"),
    "nomail.delta.test": (False, 0.0, "127.0.0.45"),
}


def serve_all(stack: ExitStack) -> NetworkConfig:
    routes = []
    for host, (hsts, delay, addr) in SITES.items():
        port = stack.enter_context(sup.serve_aiohttp(sup.site(hsts, delay), addr))
        routes.append(ConnectTo(host, 80, addr, port))
        routes.append(ConnectTo(host, 443, addr, port))
    return NetworkConfig(connect_to=tuple(routes), timeout=5)


class Interrupted(Exception):
    pass


@pytest.mark.unit
def test_parse_targets_errors() -> None:
    rows = rounds.parse_targets(CSV)
    assert len(rows) == 5 and rows[4] == {
        "organisation": "Stichting Delta",
        "org_type": "stichting",
        "bestuursorgaan": False,
        "domain": "nomail.delta.test",
        "check_web": True,
        "check_mail": True,
    }
    with pytest.raises(rounds.TargetsError, match="line 2: expected ja/nee"):
        rounds.parse_targets("organisatie,domein,web\nA,a.nl,misschien\n")
    with pytest.raises(rounds.TargetsError, match="missing column"):
        rounds.parse_targets("naam,site\nA,a.nl\n")
    with pytest.raises(rounds.TargetsError, match="neither web nor mail"):
        rounds.parse_targets("organisatie,domein,web,mail\nA,a.nl,nee,nee\n")
    with pytest.raises(rounds.TargetsError, match="listed twice"):
        rounds.parse_targets("organisatie,domein\nA,a.nl\nA,A.NL.\n")
    with pytest.raises(rounds.TargetsError, match="invalid domain"):
        rounds.parse_targets("organisatie,domein\nA,a..nl\n")


@pytest.mark.integration
def test_round_interrupt_resume_report(db_url: str) -> None:
    engine = store.open_store(db_url)
    web = sup.WebCheck()
    checkers = rounds.Checkers(web=web, mail=sup.mail_check)
    with ExitStack() as stack:
        net = serve_all(stack)
        rid = store.create_round(engine, "najaar", "ncsc-2025-05", "t.csv", rounds.parse_targets(CSV))
        web.fail = {"beta.test"}
        # interrupt the round after its third stored result (as a crash or Ctrl-C would)
        stored = []

        def hook(domain: str, kind: str) -> None:
            stored.append((domain, kind))
            if len(stored) == 3:
                raise Interrupted

        with pytest.raises(Interrupted):
            asyncio.run(rounds.run_round(engine, rid, net, checkers, per_ip=1, progress=hook))
        done_first = store.done_keys(engine, rid)
        with store.make_engine(db_url).connect() as c:
            rows = list(c.execute(store.results.select()))
        assert 3 <= len(rows) < 8 and len(done_first) <= len(rows)
        beta = {t.id for t in store.round_targets(engine, rid) if t.domain == "beta.test"}
        # beta's outage, if it got that far, is stored as an error, never as a pass
        assert all(r.outcome == "error" for r in rows if r.target_id in beta and r.kind == "web")
        web.fail = set()
        before = len(web.calls)
        stats = asyncio.run(rounds.run_round(engine, rid, net, checkers, per_ip=1))
        rerun = web.calls[before:]
        # exactly the (target, kind) pairs without a completed result are tested again
        assert sorted(rerun) == sorted(
            t.domain
            for t in store.round_targets(engine, rid)
            if t.check_web and (t.id, "web") not in done_first
        )
        assert stats.skipped == len(done_first)
        assert len(store.done_keys(engine, rid)) == 8

    s = report.summarise(engine, rid)
    hsts = s.overall["web.HSTS (rondetest)"]
    # alfa+www folded (www lacks HSTS -> fails), beta and gamma pass, delta fails
    assert (hsts.passed, hsts.failed, hsts.explained) == (2, 2, 0)
    assert s.by_org["Gemeente Alfa"]["web.HSTS (rondetest)"].pct == 0.0
    assert s.by_type["gemeente"]["web.HSTS (rondetest)"].passed == 1
    mail = s.overall["mail.Mail (rondetest)"]
    assert (mail.passed, mail.excluded) == (2, 1)  # nomail: not_applicable, out of the denominator
    legal = s.overall[report.LEGAL]
    assert (legal.passed, legal.failed) == (2, 1)  # Stichting Delta is no bestuursorgaan: not counted
    assert s.overall[report.ALL_WEB].passed == 2

    # leg uit: explained, reported separately, never as a pass
    store.set_explanation(
        engine, "Stichting Delta", "HSTS (rondetest)", "Migratie loopt", dt.date(2099, 1, 1)
    )
    store.set_explanation(engine, "Gemeente Alfa", "HSTS (rondetest)", "Verlopen", dt.date(2000, 1, 1))
    s = report.summarise(engine, rid)
    hsts = s.overall["web.HSTS (rondetest)"]
    assert (hsts.passed, hsts.failed, hsts.explained) == (2, 1, 1)
    assert hsts.pct == 50.0
    assert s.explained_cases == [
        {
            "organisation": "Stichting Delta",
            "domain": "nomail.delta.test",
            "standard": "web.HSTS (rondetest)",
            "reason": "Migratie loopt",
        }
    ]

    # a second round where everything passes: trend against the first
    rid2 = store.create_round(
        engine,
        "voorjaar",
        "ncsc-2025-05",
        "t.csv",
        rounds.parse_targets("organisatie,domein,web,mail\nGemeente Beta,beta.test,ja,nee\n"),
    )
    with ExitStack() as stack:
        net = serve_all(stack)
        store.finish_round(engine, rid)
        asyncio.run(rounds.run_round(engine, rid2, net, checkers))
    s2 = report.summarise(engine, rid2)
    assert report.previous_round_id(engine, rid2) == rid
    tr = report.trend(s2, report.summarise(engine, rid))
    assert tr["web.HSTS (rondetest)"] == 50.0
    csv_text = report.to_csv(s2, tr)
    assert "totaal,,web.HSTS (rondetest),1,0,0,0,0,100.0,+50.0" in csv_text


@pytest.mark.integration
def test_cli_round_and_report(tmp_path: Path, sqlite_url: str) -> None:
    from nds.cli import app

    targets = tmp_path / "doelen.csv"
    targets.write_text("organisatie,domein,web,mail\nGemeente Alfa,alfa.test,ja,nee\n")
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "standards",
            "round",
            "--targets",
            str(targets),
            "--db",
            sqlite_url,
            "--connect-to",
            "alfa.test:443:127.0.0.1:9",
            "--deadline",
            "20",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "ronde 1" in res.output
    res = runner.invoke(app, ["standards", "report", "--db", sqlite_url, "--format", "csv-domains"])
    assert res.exit_code == 0
    # whatever the installed web check concluded about the closed port, it is stored and reported
    assert "1,Gemeente Alfa,onbekend,ja,alfa.test,web," in res.stdout
    res = runner.invoke(app, ["standards", "report", "--db", sqlite_url, "--format", "json"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["round"] == 1 and data["previous_round"] is None and "overall" in data
    statements = tmp_path / "verklaringen.csv"
    statements.write_text("organisatie,website,status,datum\nGemeente Alfa,alfa.test,B,2026-01-01\n")
    assert (
        runner.invoke(
            app, ["standards", "accessibility", "import", str(statements), "--db", sqlite_url]
        ).exit_code
        == 0
    )
    res = runner.invoke(app, ["standards", "report", "--db", sqlite_url])
    assert res.exit_code == 0 and "Ronde 1" in res.stdout and "Totaal" in res.stdout
    assert "Digitale toegankelijkheid" in res.stdout  # beside the security standards
    res = runner.invoke(app, ["standards", "rounds", "--db", sqlite_url])
    assert res.exit_code == 0 and "ncsc-2025-05" in res.stdout
    res = runner.invoke(app, ["standards", "report", "--db", sqlite_url, "--round", "7"])
    assert res.exit_code == 2 and "does not exist" in res.stderr
    res = runner.invoke(
        app,
        [
            "standards",
            "explain",
            "Gemeente Alfa",
            "https",
            "--reason",
            "Migratie",
            "--until",
            "2099-01-01",
            "--db",
            sqlite_url,
        ],
    )
    assert res.exit_code == 0
    assert (
        runner.invoke(
            app, ["standards", "explain", "Gemeente Alfa", "https", "--remove", "--db", sqlite_url]
        ).exit_code
        == 0
    )
    bad = runner.invoke(app, ["standards", "round", "--resume", "9", "--db", sqlite_url])
    assert bad.exit_code == 2 and "does not exist" in bad.stderr
    bad = runner.invoke(
        app, ["standards", "round", "--targets", str(tmp_path / "nope.csv"), "--db", sqlite_url]
    )
    assert bad.exit_code == 2 and "does not exist" in bad.stderr
    bad = runner.invoke(app, ["standards", "explain", "Gemeente Alfa", "HSTS", "--db", sqlite_url])
    assert bad.exit_code == 2 and "--reason" in bad.stderr


class CountingSite:
    """Counts concurrent requests at the server (politeness is observed where it matters)."""

    def __init__(self, delay: float) -> None:
        self.delay, self.now, self.peak, self.total = delay, 0, 0, 0

    def app(self) -> sup.web.Application:
        async def index(_r: sup.web.Request) -> sup.web.Response:
            self.now += 1
            self.total += 1
            self.peak = max(self.peak, self.now)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.now -= 1
            return sup.web.Response(text="ok", headers={"Strict-Transport-Security": "max-age=31536000"})

        app = sup.web.Application()
        app.router.add_get("/", index)
        return app


@pytest.mark.integration
def test_politeness_per_ip_and_deadline(sqlite_url: str) -> None:
    engine = store.open_store(sqlite_url)
    shared, slow = CountingSite(0.2), CountingSite(3.0)
    with (
        sup.serve_aiohttp(shared.app(), "127.0.0.71") as p1,
        sup.serve_aiohttp(slow.app(), "127.0.0.72") as p2,
    ):
        routes = [ConnectTo(f"s{i}.test", port, "127.0.0.71", p1) for i in range(8) for port in (80, 443)]
        routes += [ConnectTo("traag.test", port, "127.0.0.72", p2) for port in (80, 443)]
        net = NetworkConfig(connect_to=tuple(routes), timeout=5)
        csv_text = "organisatie,domein,web,mail\n" + "".join(f"Org {i},s{i}.test,ja,nee\n" for i in range(8))
        csv_text += "Org traag,traag.test,ja,nee\n"
        rid = store.create_round(engine, "beleefd", "ncsc-2025-05", "t.csv", rounds.parse_targets(csv_text))
        stats = asyncio.run(
            rounds.run_round(
                engine,
                rid,
                net,
                rounds.Checkers(web=sup.WebCheck(), mail=None),
                concurrency=16,
                per_ip=2,
                deadline=1.0,
            )
        )
    assert shared.total == 8 and shared.peak <= 2  # eight domains on one IP: never more than 2 at once
    assert stats.deadline == 1
    s = report.summarise(engine, rid)
    assert s.overall["web.HSTS (rondetest)"].not_measured == 1  # over the deadline: not measured, not failed
    assert s.overall["web.HSTS (rondetest)"].passed == 8


@pytest.mark.unit
def test_mail_check_gets_round_context() -> None:
    seen = {}

    async def check_mail(
        domain: str, net: NetworkConfig, profile: str, *, context: object = None
    ) -> sup.Report:
        seen["context"] = context
        return await sup.mail_check(domain, net, profile)

    ctx = rounds.RoundContext()
    asyncio.run(rounds._call_mail(check_mail, "a.test", NetworkConfig(), "ncsc-2025-05", ctx))
    assert seen["context"] is ctx
    assert ctx.mx_lock("192.0.2.1") is ctx.mx_lock("192.0.2.1")  # one lock per MX address for the round


@pytest.mark.integration
def test_cli_accessibility(tmp_path: Path, sqlite_url: str) -> None:
    from nds.cli import app

    f = tmp_path / "verklaringen.csv"
    f.write_text(
        "organisatie;website;status;datum\nGemeente Alfa;alfa.nl;A;2026-01-01\nGemeente Alfa;b.alfa.nl;E;\n"
    )
    runner = CliRunner()
    res = runner.invoke(app, ["standards", "accessibility", "import", str(f), "--db", sqlite_url])
    assert res.exit_code == 0 and "2 toegankelijkheidsverklaringen" in res.stdout
    res = runner.invoke(app, ["standards", "accessibility", "report", "--db", sqlite_url])
    assert res.exit_code == 0 and "Gemeente Alfa" in res.stdout and "50%" in res.stdout
    f.write_text("organisatie;website;status\nGemeente Alfa;alfa.nl;Z\n")
    res = runner.invoke(app, ["standards", "accessibility", "import", str(f), "--db", sqlite_url])
    assert res.exit_code == 2 and "line 2" in res.stderr
    # the earlier import is untouched by the refused one
    res = runner.invoke(app, ["standards", "accessibility", "report", "--db", sqlite_url])
    assert "Gemeente Alfa" in res.stdout


@pytest.mark.integration
def test_without_politeness_the_server_sees_more(sqlite_url: str) -> None:
    """The control for the politeness test: with per_ip=8 the same round hits the IP harder."""
    engine = store.open_store(sqlite_url)
    shared = CountingSite(0.3)
    with sup.serve_aiohttp(shared.app(), "127.0.0.73") as port:
        routes = [ConnectTo(f"s{i}.test", p, "127.0.0.73", port) for i in range(8) for p in (80, 443)]
        net = NetworkConfig(connect_to=tuple(routes), timeout=5)
        csv_text = "organisatie,domein,web,mail\n" + "".join(f"Org {i},s{i}.test,ja,nee\n" for i in range(8))
        rid = store.create_round(engine, "onbeleefd", "ncsc-2025-05", "t.csv", rounds.parse_targets(csv_text))
        asyncio.run(
            rounds.run_round(
                engine, rid, net, rounds.Checkers(web=sup.WebCheck(), mail=None), concurrency=16, per_ip=8
            )
        )
    assert shared.total == 8 and shared.peak > 2


@pytest.mark.integration
def test_cli_round_ctrl_c_keeps_results_and_says_how_to_resume(tmp_path: Path, sqlite_url: str) -> None:
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    held: list[socket.socket] = []
    srv = socket.socket()
    srv.bind(("127.0.0.74", 0))
    srv.listen(16)
    port = srv.getsockname()[1]

    def accept() -> None:  # accepts and never answers: every test of this host waits
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    targets = tmp_path / "doelen.csv"
    targets.write_text("organisatie,domein,web,mail\nGemeente Traag,hang.test,ja,nee\n")
    cmd = [
        sys.executable,
        "-m",
        "nds",
        "standards",
        "round",
        "--targets",
        str(targets),
        "--db",
        sqlite_url,
        "--connect-to",
        f"hang.test:443:127.0.0.74:{port}",
        "--connect-to",
        f"hang.test:80:127.0.0.74:{port}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not held and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held, "the round never connected"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        srv.close()
        for c in held:
            c.close()
    assert proc.returncode == 130, err
    assert "--resume 1" in err and "Traceback" not in err
    assert store.get_round(store.open_store(sqlite_url), 1) is not None


@pytest.mark.integration
def test_same_standard_name_in_web_and_mail_counts_separately(sqlite_url: str) -> None:
    engine = store.open_store(sqlite_url)
    rid = store.create_round(
        engine,
        "r",
        "ncsc-2025-05",
        "t.csv",
        rounds.parse_targets("organisatie,domein,web,mail\nGemeente A,a.nl,ja,ja\n"),
    )
    t = store.round_targets(engine, rid)[0]
    store.save_result(
        engine, rid, t.id, "web", "done", "p", {"tests": []}, {"dnssec": "passed"}, store.now(), 1
    )
    store.save_result(
        engine, rid, t.id, "mail", "done", "p", {"tests": []}, {"dnssec": "failed"}, store.now(), 1
    )
    s = report.summarise(engine, rid)
    assert s.overall["web.dnssec"].passed == 1 and s.overall["mail.dnssec"].failed == 1
    # an explanation for the bare name covers both kinds; one for mail.dnssec only that one
    store.set_explanation(engine, "Gemeente A", "mail.dnssec", "MX bij externe partij", None)
    s = report.summarise(engine, rid)
    assert s.overall["mail.dnssec"].explained == 1 and s.overall["web.dnssec"].passed == 1


@pytest.mark.integration
def test_csv_neutralises_formulas(sqlite_url: str) -> None:
    engine = store.open_store(sqlite_url)
    rid = store.create_round(
        engine,
        "r",
        "p",
        "t.csv",
        rounds.parse_targets(
            'organisatie,type,domein,web,mail\n"=HYPERLINK(""http://x"")",@gemeente,a.nl,ja,nee\n'
        ),
    )
    t = store.round_targets(engine, rid)[0]
    store.save_result(
        engine, rid, t.id, "web", "done", "p", {"tests": []}, {"https": "passed"}, store.now(), 1
    )
    s = report.summarise(engine, rid)
    for text in (report.to_csv(s, {"web.https": 2.5}), report.domains_csv(s)):
        assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert "'@gemeente" in report.to_csv(s)
    assert ",+2.5" in report.to_csv(s, {"web.https": 2.5})  # numbers stay numbers


@pytest.mark.integration
def test_unusable_report_is_stored_as_error_and_round_goes_on(sqlite_url: str) -> None:
    from nds.standards.model import Report, Status, TestResult

    async def broken(domain: str, net: NetworkConfig, profile: str, counter: object = None) -> Report:
        if domain == "kapot.test":  # a result with an undeclared subtest id
            return Report(domain, profile, [TestResult("nergens.gedeclareerd", Status.PASSED, "", "")])
        return await sup.mail_check(domain, net, profile)

    engine = store.open_store(sqlite_url)
    rid = store.create_round(
        engine,
        "r",
        "p",
        "t.csv",
        rounds.parse_targets("organisatie,domein,web,mail\nA,kapot.test,ja,nee\nB,heel.test,ja,nee\n"),
    )
    stats = asyncio.run(
        rounds.run_round(engine, rid, NetworkConfig(), rounds.Checkers(web=broken, mail=None))
    )
    assert stats.done == 2 and stats.errors == 1
    rows = {r.domain: r.outcome for r in report.summarise(engine, rid).rows}
    assert rows == {"kapot.test": "error", "heel.test": "done"}
