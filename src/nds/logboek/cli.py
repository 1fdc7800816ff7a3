"""``nds logboek``: set up, verify, checkpoint, purge and manage the register and keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from nds.db import make_engine
from nds.logboek.integrity import checkpoint, local_witness, purge_expired, verify
from nds.logboek.pseudonym import Keyring, KeyringError
from nds.logboek.register import ProcessingActivity, Register, RegisterError
from nds.logboek.settings import LogboekSettings
from nds.logboek.signing import Signer, Verifier
from nds.logboek.store import migrate_logboek

app = typer.Typer(no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _fail(msg: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]fout:[/red] {msg}")
    return typer.Exit(code)


@contextmanager
def _database() -> Iterator[None]:
    """A database that cannot be opened or has no logboek tables is a clear error, not a traceback
    (the URL is not repeated: it may hold a password)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise _fail(
            f"cannot use the logboek database ({type(exc).__name__}): check --db / "
            "NDS_LOGBOEK_DATABASE_URL and run 'nds logboek init' first"
        ) from exc


def _settings(db: str | None) -> LogboekSettings:
    s = LogboekSettings()
    return s.model_copy(update={"database_url": db}) if db else s


def _signer(path: Path | None, identity: str) -> Signer:
    if path is None:
        raise _fail("no signing key: give --key or set NDS_LOGBOEK_SIGNING_KEY")
    try:
        return Signer(identity, load_pem_private_key(path.read_bytes(), password=None))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read signing key {path}: {type(exc).__name__}") from exc


def _public(path: Path, identity: str) -> Verifier:
    try:
        data = path.read_bytes()
        if b"CERTIFICATE" in data:
            from cryptography import x509

            return Verifier(identity, x509.load_pem_x509_certificate(data).public_key())
        return Verifier(identity, load_pem_public_key(data))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read public key or certificate {path}: {type(exc).__name__}") from exc


DbOpt = typer.Option(None, "--db", help="Database URL (default: NDS_LOGBOEK_DATABASE_URL).")


@app.command()
def init(db: str | None = DbOpt) -> None:
    """Create or upgrade the logboek tables and create the pseudonym key file if absent."""
    s = _settings(db)
    with _database():
        migrate_logboek(s.database_url)
    try:
        Keyring.load_or_create(s.keyring)
    except KeyringError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"logboek ready: {s.name}")


@app.command("verify")
def verify_cmd(
    db: str | None = DbOpt,
    org_key: Path = typer.Option(
        ..., "--org-public-key", help="The organisation's public key or certificate (PEM)."
    ),
    witness: list[str] = typer.Option([], "--witness", help="ID=PEM: a witness's public key or certificate."),
    output: str = typer.Option("text", "--format", help="text or json"),
) -> None:
    """Verify the chain, tombstones and checkpoints; exit 1 and say where when anything is wrong."""
    s = _settings(db)
    if output not in ("text", "json"):
        raise _fail(f"--format must be text or json, got {output!r}")
    witnesses = {}
    for w in witness:
        ident, _, path = w.partition("=")
        if not path:
            raise _fail(f"--witness must be ID=PEM, got {w!r}")
        witnesses[ident] = _public(Path(path), ident)
    org = _public(org_key, s.name)
    with _database():
        rep = verify(make_engine(s.database_url), org, witnesses)
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "ok": rep.ok,
                    "checked": rep.checked,
                    "purged": rep.purged,
                    "checkpoints": rep.checkpoints,
                    "problems": [p.__dict__ for p in rep.problems],
                },
                indent=2,
            )
        )
    else:
        out.print(
            f"checked {rep.checked} records, {rep.purged} purged under tombstones, "
            f"{rep.checkpoints} checkpoints"
        )
        for p in rep.problems:
            out.print(f"[red]{p.kind}[/red] at record {p.seq}: {p.message}")
        out.print("[green]OK[/green]" if rep.ok else "[red]NOT OK[/red]")
    raise typer.Exit(0 if rep.ok else 1)


@app.command("checkpoint")
def checkpoint_cmd(
    db: str | None = DbOpt,
    key: Path | None = typer.Option(None, "--key", help="Organisation signing key (PEM)."),
    witness_key: Path = typer.Option(..., "--witness-key", help="The witness's signing key (PEM)."),
    witness_id: str = typer.Option(..., "--witness-id", help="Identity of the witness (e.g. its OIN)."),
) -> None:
    """Sign the current chain head and have a witness countersign it."""
    s = _settings(db)
    signer = _signer(key or s.signing_key, s.name)
    witness = local_witness(_signer(witness_key, witness_id))
    with _database():
        cp = checkpoint(make_engine(s.database_url, immediate=True), s.name, signer, witness)
    out.print(f"checkpoint {cp.id}: up to record {cp.upto_seq}, countersigned by {cp.witness}")


@app.command()
def purge(
    db: str | None = DbOpt,
    key: Path | None = typer.Option(None, "--key", help="Organisation signing key (PEM)."),
    reason: str = typer.Option("retention", help="Reason recorded in the tombstone."),
) -> None:
    """Delete records whose retention (from the register) has passed; leaves a signed tombstone."""
    s = _settings(db)
    signer = _signer(key or s.signing_key, s.name)
    with _database():
        engine = make_engine(s.database_url, immediate=True)
        n = purge_expired(engine, Register(engine, s.register_base_uri), signer, s.name, reason=reason)
    out.print(f"purged {n} records")


@app.command("rotate-key")
def rotate_key(db: str | None = DbOpt) -> None:
    """Start a new pseudonym key; old keys stay for lookups until their records are purged."""
    s = _settings(db)
    try:
        ring = Keyring.load(s.keyring).rotate(s.keyring)
    except KeyringError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"active key: {ring.active}")


register_app = typer.Typer(no_args_is_help=True, help="The register of processing activities.")
app.add_typer(register_app, name="register")


@register_app.command("publish")
def register_publish(slug: str, file: Path, db: str | None = DbOpt) -> None:
    """Publish (a new version of) an activity from a JSON file; prints its version URI."""
    s = _settings(db)
    try:
        activity = ProcessingActivity.model_validate_json(file.read_text(encoding="utf-8"))
        with _database():
            uri = Register(make_engine(s.database_url, immediate=True), s.register_base_uri).publish(
                slug, activity
            )
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} is not UTF-8 text") from exc
    except ValidationError as exc:
        raise _fail(
            "invalid activity: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from exc
    except RegisterError as exc:
        raise _fail(str(exc)) from exc
    out.print(uri)


@register_app.command("list")
def register_list(db: str | None = DbOpt) -> None:
    """List the current version of every activity."""
    s = _settings(db)
    table = Table("activiteit", "versie", "doel", "grondslag", "vertrouwelijk", "bewaartermijn")
    with _database():
        current = Register(make_engine(s.database_url), s.register_base_uri).current()
    for slug, _uri, version, a in current:
        table.add_row(
            slug,
            str(version),
            a.purpose,
            f"{a.legal_basis.ground.value}: {a.legal_basis.provision}",
            "ja" if a.confidential else "nee",
            f"{a.retention_days} dagen",
        )
    out.print(table)


@app.command()
def lookup(
    officer: str = typer.Option(..., "--officer", help="Your officer id (goes to the audit log only)."),
    reason: str = typer.Option(..., "--reason", help="Why you look (e.g. a written request for access)."),
    bsn: str = typer.Option(
        ...,
        "--bsn",
        prompt="BSN",
        hide_input=True,
        help="Asked for, not echoed: keep BSNs out of shell history and process lists.",
    ),
    db: str | None = DbOpt,
) -> None:
    """An officer looks up one person's processings; the lookup is audited and itself logged."""
    from nds.logboek.model import DataSubject
    from nds.logboek.officer import OfficerLookupError, officer_lookup
    from nds.logboek.store import Logboek, LogboekWriteError

    if not re.fullmatch(r"[0-9]{9}", bsn):
        raise _fail("a BSN has 9 digits")
    s = _settings(db)
    try:
        with _database():
            engine = make_engine(s.database_url, immediate=True)
            register = Register(engine, s.register_base_uri)
            current = register.current()
        inzage = next((uri for slug, uri, _v, _a in current if slug == "inzage"), None)
        if inzage is None:
            raise _fail("no 'inzage' activity in the register: publish it (nds logboek register publish)")
        lb = Logboek(engine, Keyring.load(s.keyring))
        try:
            with _database():
                records = officer_lookup(
                    lb,
                    lb.keyring,
                    engine,
                    officer=officer,
                    reason=reason,
                    subject=DataSubject(bsn),
                    inzage_activity_uri=inzage,
                )
        finally:
            lb.close()
    except (OfficerLookupError, KeyringError, LogboekWriteError) as exc:
        raise _fail(str(exc)) from exc
    table = Table("wanneer", "verwerking", "activiteit", "trace")
    for r in records:
        table.add_row(str(r.start_time), r.name, r.activity_uri, r.trace_id)
    out.print(table)
