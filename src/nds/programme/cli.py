"""``nds programme``: parse, ingest, report and edit the commitment register."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Parliamentary documents to commitments and progress.")


def _fail(msg: str, code: int = 2) -> typer.Exit:
    typer.echo(f"fout: {msg}", err=True)
    return typer.Exit(code)


def _engine(database_url: str | None):
    from nds.db import make_engine
    from nds.programme.store import init_db
    from nds.settings import Settings

    url = database_url or Settings().resolved_database_url()
    engine = make_engine(url, immediate=True)
    init_db(engine)
    return engine


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{name}: ongeldige datum {value!r} (verwacht JJJJ-MM-DD)") from None


DB = typer.Option(None, "--database-url", help="SQLAlchemy URL (default: NDS_DATABASE_URL or the state dir).")


@app.command()
def parse(
    file: Path = typer.Argument(..., help="Text of the document (OpenTK rendering or a plain Kamerstuk)."),
    fmt: str = typer.Option("json", "--format", help="json (the full result) or summary."),
    anchor: str = typer.Option(
        None, help="Anchor date for relative phrases (default: date of the answer letter)."
    ),
) -> None:
    """Parse one document and print pairs, cross-references, commitments, references and warnings."""
    from nds.programme.ingest import InputError, read_document
    from nds.programme.parse import parse_text

    if fmt not in ("json", "summary"):
        raise _fail("--format moet json of summary zijn")
    try:
        result = parse_text(read_document(file), anchor=_date(anchor, "--anchor"))
    except InputError as exc:
        raise _fail(str(exc)) from None
    if fmt == "json":
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        dated = sum(1 for c in result.commitments if c.deadline)
        typer.echo(
            f"{file}: {len(result.pairs)} vragen, {len(result.commitments)} toezeggingen ({dated} met "
            f"termijn), {len(result.references)} verwijzingen, {len(result.warnings)} waarschuwingen"
        )
    if result.partial:
        typer.echo("let op: gedeeltelijk resultaat - zie 'warnings'", err=True)


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="One or more documents."),
    database_url: str = DB,
) -> None:
    """Parse documents and store them (same text twice is a no-op; officer edits stay)."""
    from nds.programme.ingest import InputError, read_document
    from nds.programme.parse import parse_text
    from nds.programme.store import store_result

    engine = _engine(database_url)
    failed = 0
    for f in files:
        try:
            result = parse_text(read_document(f))
        except InputError as exc:
            typer.echo(f"fout: {f}: {exc}", err=True)
            failed += 1
            continue
        doc_id, new = store_result(engine, result, source_name=f.name)
        state = "opgeslagen" if new else "al aanwezig"
        flag = " (gedeeltelijk: zie waarschuwingen)" if result.partial else ""
        typer.echo(
            f"{f}: document {doc_id} {state}: {len(result.pairs)} vragen, {len(result.commitments)} "
            f"toezeggingen, {len(result.references)} verwijzingen{flag}"
        )
    engine.dispose()
    if failed:
        raise typer.Exit(1)


@app.command()
def report(
    priority: str = typer.Option(None, help="Only this priority (cloud, data, ai, weerbaarheid, ...)."),
    fmt: str = typer.Option("md", "--format", help="md, csv or json."),
    today: str = typer.Option(None, help="Clock for overdue/due-soon (default: today)."),
    soon_days: int = typer.Option(30, min=0, max=3650, help="'Due soon' window in days."),
    database_url: str = DB,
) -> None:
    """Progress report per NDS priority: counts, timeline, overdue items."""
    from nds.programme import report as rep
    from nds.programme.priorities import labels
    from nds.programme.register import Register

    if fmt not in ("md", "csv", "json"):
        raise _fail("--format moet md, csv of json zijn")
    if priority and priority not in labels():
        raise _fail(f"onbekende prioriteit {priority!r}; kies uit: {', '.join(labels())}")
    clock_date = _date(today, "--today")
    engine = _engine(database_url)
    reg = Register(engine, clock=(lambda: clock_date) if clock_date else dt.date.today, soon_days=soon_days)
    sys.stdout.write(rep.render(rep.build(reg, priority), fmt))
    engine.dispose()


@app.command("list")
def list_register(
    priority: str = typer.Option(None, help="Only this priority."),
    status: str = typer.Option(
        None, help="Only this status (Openstaand, Deels afgedaan, Afgedaan, Vervallen)."
    ),
    signal: str = typer.Option(
        None, help="Only this signal (te_laat, binnenkort, op_schema, zonder_termijn, afgerond)."
    ),
    today: str = typer.Option(None, help="Clock for the signals (default: today)."),
    soon_days: int = typer.Option(30, min=0, max=3650, help="'Due soon' window in days."),
    database_url: str = DB,
) -> None:
    """The commitment register, one line per entry (id, termijn, status, signal, question, text)."""
    from nds.programme.register import SIGNALS, Register, RegisterError

    if signal and signal not in SIGNALS:
        raise _fail(f"onbekend signaal {signal!r}; kies uit: {', '.join(SIGNALS)}")
    clock_date = _date(today, "--today")
    engine = _engine(database_url)
    reg = Register(engine, clock=(lambda: clock_date) if clock_date else dt.date.today, soon_days=soon_days)
    try:
        items = reg.items(priority=priority, status=status, signal=signal)
    except RegisterError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    for it in items:
        due = it["due"].isoformat() if it["due"] else ("vaag" if it["vague"] else "-")
        text = " ".join(it["text"].split())
        typer.echo(
            f"{it['id']:>5}  {due:<10}  {it['status_label']:<14}  {it['signal_label']:<14}  "
            f"{it['nummer'] or ''} v{it['question']:<4} {text[:90]}"
        )


@app.command()
def edit(
    commitment_id: int = typer.Argument(..., help="Register id of the commitment."),
    officer: str = typer.Option(..., help="Your name (kept in the audit trail)."),
    status: str = typer.Option(None, help="Openstaand, Deels afgedaan, Afgedaan or Vervallen."),
    due: str = typer.Option(None, help="New termijn (JJJJ-MM-DD)."),
    evidence: str = typer.Option(None, help="Fulfilling document, e.g. 'Kamerstuk 26643, nr. 1450'."),
    note: str = typer.Option(None, help="Free note."),
    reason: str = typer.Option(None, help="Why (kept in the audit trail)."),
    database_url: str = DB,
) -> None:
    """Officer edit of a register entry; every change is written to the audit trail."""
    from nds.programme.register import Register, RegisterError

    changes = {
        k: v
        for k, v in {"status": status, "due": due, "evidence": evidence, "note": note}.items()
        if v is not None
    }
    if not changes:
        raise _fail("geef minstens een van --status, --due, --evidence, --note")
    engine = _engine(database_url)
    try:
        row = Register(engine).edit(commitment_id, officer, reason, **changes)
    except RegisterError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(
        f"toezegging {row['id']}: status {row['status']}, termijn {row['due']}, bewijs {row['evidence']}"
    )


@app.command()
def history(commitment_id: int = typer.Argument(...), database_url: str = DB) -> None:
    """The audit trail of one register entry."""
    from nds.programme.register import Register

    engine = _engine(database_url)
    for h in Register(engine).history(commitment_id):
        typer.echo(
            f"{h['at']:%Y-%m-%d %H:%M} {h['officer']}: {h['field']} {h['old']!r} -> {h['new']!r}"
            + (f" ({h['reason']})" if h["reason"] else "")
        )
    engine.dispose()
