"""``nds fsc contract``: hash, explain and validate contract content files (offline, no Manager needed).

Useful when comparing hashes with another FSC implementation: ``explain`` prints the exact hash input
(FSC 1.1: each field's bytes in hex; draft: the RFC 8785 text).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from nds.fsc.contracts.draft import content_bytes as draft_content_bytes
from nds.fsc.contracts.draft import jcs
from nds.fsc.contracts.errors import FscError
from nds.fsc.contracts.kinds import FscVersion
from nds.fsc.contracts.model import (
    MAX_CONTRACT_JSON_BYTES,
    ContractContent,
    grant_data_json,
    parse_contract_content,
    parse_contract_content_json,
)
from nds.fsc.contracts.v1_1 import content_segments, grant_segments
from nds.fsc.contracts.validation import ValidationContext, validate_contract
from nds.fsc.contracts.versions import scheme_for

app = typer.Typer(no_args_is_help=True, help="FSC contract content: hashes and validation, offline.")

FileArg = Annotated[str, typer.Argument(
    help="JSON file with contract content, or '-' for stdin. Also accepts {\"content\": ...} or "
    "{\"contract_content\": ...}.")]
VersionOpt = Annotated[FscVersion, typer.Option("--fsc-version", help="FSC version: 1.1 or draft.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _load(path: str, version: FscVersion) -> ContractContent:
    try:
        raw = sys.stdin.buffer.read(MAX_CONTRACT_JSON_BYTES + 1) if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        content = parse_contract_content_json(raw, version)
    except FscError as first:
        try:
            wrapper: Any = json.loads(raw)
        except ValueError:
            raise _fail(f"{first.code.value}: {first.message}") from None
        inner = None
        if isinstance(wrapper, dict):
            inner = wrapper.get("content", wrapper.get("contract_content"))
        if inner is None:
            raise _fail(f"{first.code.value}: {first.message}") from None
        try:
            content = parse_contract_content(inner, version)
        except FscError as exc:
            raise _fail(f"{exc.code.value}: {exc.message}") from None
    return content


@app.command("hash")
def hash_command(file: FileArg, version: VersionOpt = FscVersion.V1_1) -> None:
    """Print the content hash and every grant hash."""
    content = _load(file, version)
    scheme = scheme_for(version)
    typer.echo(f"content  {scheme.content_hash(content)}")
    for grant, grant_hash in zip(content.grants, scheme.grant_hashes(content), strict=True):
        typer.echo(f"grant    {grant_hash}  {grant.grant_type.value}")


@app.command("explain")
def explain_command(file: FileArg, version: VersionOpt = FscVersion.V1_1) -> None:
    """Print the exact bytes that are hashed, step by step."""
    content = _load(file, version)
    scheme = scheme_for(version)
    if version is FscVersion.V1_1:
        for index, grant in enumerate(content.grants):
            typer.echo(f"grant {index} → {scheme.grant_hash(content, grant)}")
            for label, data in grant_segments(content, grant):
                typer.echo(f"  {label:52} {data.hex()}")
        typer.echo(f"content → {scheme.content_hash(content)}")
        for label, data in content_segments(content):
            typer.echo(f"  {label:52} {data.hex()}")
        return
    typer.echo(f"content → {scheme.content_hash(content)}")
    typer.echo("  JCS " + draft_content_bytes(content).decode("utf-8"))
    content_hash = scheme.content_hash(content)
    for index, grant in enumerate(content.grants):
        typer.echo(f"grant {index} → {scheme.grant_hash(content, grant)}")
        typer.echo(f"  {content_hash} ‖ JCS {jcs(grant_data_json(grant)).decode('utf-8')}")


@app.command("validate")
def validate_command(
    file: FileArg,
    group_id: Annotated[str, typer.Option(help="The Group ID of the validating Manager.")],
    peer_id: Annotated[str, typer.Option(help="Peer ID of the validating Peer.")],
    version: VersionOpt = FscVersion.V1_1,
    submitter: Annotated[str | None, typer.Option(help="Peer ID of the Peer offering the contract.")] = None,
    directory: Annotated[
        list[str] | None, typer.Option(help="Peer ID of a Group Directory (repeatable).")
    ] = None,
    is_directory: Annotated[bool, typer.Option(help="The validating Peer is a Directory.")] = False,
    now: Annotated[int | None, typer.Option(help="Unix time to validate at (default: now).")] = None,
) -> None:
    """Validate per fsc-core §Contract Validation; exit 1 and list the violations if any."""
    content = _load(file, version)
    ctx = ValidationContext(
        own_peer_id=peer_id, group_id=group_id, now=int(time.time()) if now is None else now,
        version=version, directory_peer_ids=frozenset(directory or ()), is_directory=is_directory,
        submitting_peer_id=submitter,
    )
    violations = validate_contract(content, ctx)
    for violation in violations:
        typer.echo(f"{violation.code.value}  [{violation.rule}]  {violation.message}")
    if violations:
        raise typer.Exit(1)
    typer.echo("valid")


def register(parent: typer.Typer) -> None:
    """Mount as ``nds fsc contract``."""
    parent.add_typer(app, name="contract")
