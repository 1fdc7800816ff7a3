"""``nds standards``: measurement rounds, reports, "leg uit" explanations, accessibility import."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Measure the mandatory open standards in rounds and report.")
console = Console()

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: NDS_DATABASE_URL / state dir).")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _engine(db: str | None) -> Any:
    from nds.settings import Settings
    from nds.standards.store import open_store

    url = db or Settings().resolved_database_url()
    try:
        return open_store(url)
    except Exception as exc:  # bad URL, unreachable server: a message, not a traceback
        raise _fail(f"cannot open database: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None


@app.command("round")
def round_cmd(
    targets: Annotated[
        Path | None, typer.Option("--targets", help="Targets CSV (organisatie,type,...).")
    ] = None,
    resume: Annotated[
        int | None, typer.Option("--resume", help="Continue round ID where it stopped.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the round.")] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="TLS profile: ncsc-2.1.1 or ncsc-2025-05.")
    ] = "ncsc-2025-05",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=500, help="Tests at once.")] = 32,
    per_ip: Annotated[
        int, typer.Option("--per-ip", min=1, max=16, help="Web tests at once per target IP.")
    ] = 2,
    deadline: Annotated[
        float, typer.Option("--deadline", min=1, help="Deadline per domain test, s.")
    ] = 130.0,
    connect_to: Annotated[
        list[str] | None, typer.Option("--connect-to", help="HOST:PORT:ADDR:PORT (as curl).")
    ] = None,
    resolver: Annotated[str | None, typer.Option("--resolver", help="Validating resolver ADDR:PORT.")] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="Extra trusted CA certificates (PEM).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Run a measurement round over a targets CSV (or resume one); every raw result is stored."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from nds.standards import rounds, store
    from nds.standards.net import ConnectTo, NetworkConfig

    if (targets is None) == (resume is None):
        raise _fail("give either --targets FILE (a new round) or --resume ROUND_ID")
    if profile not in ("ncsc-2.1.1", "ncsc-2025-05"):
        raise _fail("--profile must be ncsc-2.1.1 or ncsc-2025-05")
    try:
        net = NetworkConfig(
            connect_to=tuple(ConnectTo.parse(c) for c in connect_to or []),
            resolver=NetworkConfig.parse_resolver(resolver) if resolver else None,
            ca_file=ca_file,
        )
        rows = rounds.read_targets_file(targets) if targets is not None else None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    engine = _engine(db)
    if rows is not None:
        assert targets is not None
        round_id = store.create_round(
            engine, name or f"ronde {dt.date.today().isoformat()}", profile, str(targets), rows
        )
        console.print(f"ronde {round_id}: {len(rows)} doelen")
    else:
        assert resume is not None
        if store.get_round(engine, resume) is None:
            raise _fail(f"round {resume} does not exist")
        round_id = resume
    checkers = rounds.Checkers.default()
    n_jobs = sum(t.check_web + t.check_mail for t in store.round_targets(engine, round_id))
    with Progress(
        TextColumn("[bold]ronde {task.fields[rid]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("ronde", total=n_jobs, rid=round_id, last="")
        progress.update(task, completed=len(store.done_keys(engine, round_id)))

        def hook(domain: str, kind: str) -> None:
            progress.update(task, advance=1, last=f"{kind} {domain}")

        try:
            stats = asyncio.run(
                rounds.run_round(
                    engine,
                    round_id,
                    net,
                    checkers,
                    concurrency=concurrency,
                    per_ip=per_ip,
                    deadline=deadline,
                    progress=hook,
                )
            )
        except KeyboardInterrupt:
            progress.stop()
            typer.echo(
                f"onderbroken; wat klaar was is bewaard. Hervat met: nds standards round --resume {round_id}",
                err=True,
            )
            raise typer.Exit(130) from None
    rate = 60.0 * stats.web_tests / stats.seconds if stats.seconds > 0 else 0.0
    console.print(
        f"klaar: {stats.done} getest, {stats.skipped} al gedaan, {stats.errors} fouten, "
        f"{stats.deadline} over de deadline; {rate:.0f} webtests/min"
    )


@app.command("rounds")
def rounds_cmd(db: DbOpt = None) -> None:
    """List the rounds."""
    from nds.standards import store

    table = Table("ronde", "naam", "profiel", "gestart", "klaar")
    for r in store.list_rounds(_engine(db)):
        table.add_row(
            str(r.id),
            r.name,
            r.profile,
            f"{r.started_at:%Y-%m-%d %H:%M}",
            f"{r.finished_at:%Y-%m-%d %H:%M}" if r.finished_at else "nee",
        )
    console.print(table)


@app.command("report")
def report_cmd(
    round_id: Annotated[int | None, typer.Option("--round", help="Round ID (default: the latest).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, csv-domains or json.")] = "table",
    db: DbOpt = None,
) -> None:
    """Share of domains passing per standard, organisation and type; trend; explained cases."""
    from nds.standards import report, store

    if fmt not in ("table", "csv", "csv-domains", "json"):
        raise _fail("--format must be table, csv, csv-domains or json")
    engine = _engine(db)
    all_rounds = store.list_rounds(engine)
    if not all_rounds:
        raise _fail("no rounds yet: run 'nds standards round --targets FILE'")
    rid = round_id if round_id is not None else all_rounds[-1].id
    try:
        summary = report.summarise(engine, rid)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    prev = report.previous_round_id(engine, rid)
    trend = report.trend(summary, report.summarise(engine, prev) if prev is not None else None)
    if fmt == "csv":
        sys.stdout.write(report.to_csv(summary, trend))
        return
    if fmt == "csv-domains":
        sys.stdout.write(report.domains_csv(summary))
        return
    if fmt == "json":
        json.dump(
            {
                "round": rid,
                "name": summary.round_name,
                "profile": summary.profile,
                "previous_round": prev,
                "overall": {k: v.to_json() for k, v in summary.overall.items()},
                "by_type": {t: {k: v.to_json() for k, v in s.items()} for t, s in summary.by_type.items()},
                "by_organisation": {
                    o: {k: v.to_json() for k, v in s.items()} for o, s in summary.by_org.items()
                },
                "trend_pp": trend,
                "accessibility": _accessibility_json(engine, set(summary.by_org)),
                "explained": summary.explained_cases,
            },
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        sys.stdout.write("\n")
        return
    _print_tables(summary, trend, prev)
    _print_accessibility(engine, set(summary.by_org))


def _accessibility_json(engine: Any, organisations: set[str]) -> dict[str, Any]:
    from nds.standards import accessibility, store

    rows = [r for r in store.list_accessibility(engine) if r.organisation in organisations]
    _overall, per_org = accessibility.summarise(rows)
    return {
        o: {"sites": a.sites, "compliant": a.compliant, "accessible": a.accessible, "by_status": a.by_status}
        for o, a in sorted(per_org.items())
    }


def _print_accessibility(engine: Any, organisations: set[str]) -> None:
    """Accessibility (statement status) beside the security standards, for the round's organisations."""
    from nds.standards import accessibility, store
    from nds.standards.report import fmt_pct

    rows = [r for r in store.list_accessibility(engine) if r.organisation in organisations]
    if not rows:
        return
    _overall, per_org = accessibility.summarise(rows)
    table = Table(
        "organisatie",
        "sites",
        "voldoet (A–C)",
        "toegankelijk (A)",
        title="Digitale toegankelijkheid (toegankelijkheidsverklaringen)",
    )
    for name, share in sorted(per_org.items()):
        table.add_row(name, str(share.sites), fmt_pct(share.pct_compliant), fmt_pct(share.pct_accessible))
    console.print(table)


def _print_tables(summary: Any, trend: dict[str, float | None], prev: int | None) -> None:
    from nds.standards.report import fmt_pct

    console.print(
        f"[bold]Ronde {summary.round_id}[/bold] {summary.round_name} (TLS-profiel {summary.profile})"
    )
    t = Table(
        "standaard",
        "voldoet",
        "voldoet niet",
        "uitgelegd",
        "niet gemeten",
        "n.v.t.",
        "%",
        f"trend t.o.v. ronde {prev}" if prev else "trend",
        title="Totaal",
    )
    for std in summary.standards:
        s = summary.overall.get(std)
        if s is None:
            continue
        tr = trend.get(std)
        t.add_row(
            std,
            str(s.passed),
            str(s.failed),
            str(s.explained),
            str(s.not_measured),
            str(s.excluded),
            fmt_pct(s.pct),
            "–" if tr is None else f"{tr:+.1f} pp",
        )
    console.print(t)
    for title, groups in (("Per organisatietype", summary.by_type), ("Per organisatie", summary.by_org)):
        stds = [s for s in summary.standards if any(s in g for g in groups.values())]
        table = Table("groep", *stds, title=title)
        for name, shares in sorted(groups.items()):
            table.add_row(name, *(fmt_pct(shares[s].pct) if s in shares else "" for s in stds))
        console.print(table)
    if summary.explained_cases:
        table = Table(
            "organisatie", "domein", "standaard", "toelichting", title="Uitgelegd (pas toe of leg uit)"
        )
        for c in summary.explained_cases:
            table.add_row(c["organisation"], c["domain"], c["standard"], c["reason"])
        console.print(table)


@app.command("explain")
def explain_cmd(
    organisation: Annotated[str, typer.Argument(help="Organisation as in the targets file.")],
    standard: Annotated[str, typer.Argument(help="Standard name as in the report.")],
    reason: Annotated[str | None, typer.Option("--reason", help="The explanation (leg uit).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Valid until YYYY-MM-DD.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the explanation.")] = False,
    db: DbOpt = None,
) -> None:
    """Record (or remove) a "leg uit" explanation for an organisation and a standard."""
    from nds.standards import store

    engine = _engine(db)
    if remove:
        if not store.remove_explanation(engine, organisation, standard):
            raise _fail("no such explanation")
        console.print("verwijderd")
        return
    if not reason or not reason.strip():
        raise _fail("--reason is required")
    try:
        valid = dt.date.fromisoformat(until) if until else None
    except ValueError:
        raise _fail("--until must be YYYY-MM-DD") from None
    store.set_explanation(engine, organisation.strip(), standard.strip(), reason.strip(), valid)
    console.print(f"uitleg vastgelegd voor {organisation} / {standard}")


accessibility_app = typer.Typer(no_args_is_help=True, help="Accessibility statements (Digitoegankelijk).")
app.add_typer(accessibility_app, name="accessibility")


@accessibility_app.command("import")
def accessibility_import(
    file: Annotated[Path, typer.Argument(help="CSV: organisatie, website, status (A-E), datum.")],
    db: DbOpt = None,
) -> None:
    """Import statement statuses per site (replaces earlier rows for the same organisation and site)."""
    from nds.standards import accessibility, store

    try:
        rows = accessibility.parse_statements(file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise _fail(f"{file} does not exist") from None
    except UnicodeDecodeError:
        raise _fail(f"{file} is not UTF-8 text") from None
    except accessibility.AccessibilityImportError as exc:
        raise _fail(str(exc)) from None
    n = store.replace_accessibility(_engine(db), rows, file.name)
    console.print(f"{n} toegankelijkheidsverklaringen geïmporteerd")


@accessibility_app.command("report")
def accessibility_report(db: DbOpt = None) -> None:
    """Share of sites complying (A–C, C at most 6 months) and accessible (A) per organisation."""
    from nds.standards import accessibility, store
    from nds.standards.report import fmt_pct

    overall, per_org = accessibility.summarise(store.list_accessibility(_engine(db)))
    table = Table("organisatie", "sites", "voldoet (A–C)", "toegankelijk (A)", *accessibility.STATUSES)
    for name, s in [*sorted(per_org.items()), ("totaal", overall)]:
        assert s.by_status is not None
        table.add_row(
            name,
            str(s.sites),
            fmt_pct(s.pct_compliant),
            fmt_pct(s.pct_accessible),
            *(str(s.by_status[x]) for x in accessibility.STATUSES),
        )
    console.print(table)
