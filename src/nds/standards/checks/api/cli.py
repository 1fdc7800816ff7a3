"""``nds check api URL``: lint and check one API against a pinned version of the API Design Rules."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nds.standards.checks.api.rules.catalog import DEFAULT_VERSION, parse_version
from nds.standards.model import Report
from nds.standards.net import ConnectTo, NetworkConfig
from nds.standards.output import exit_code, render_human, render_json


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command("api")
    def api(
        url: Annotated[
            str, typer.Argument(help="API base URL (https://api.example.org/v1) or its openapi.json.")
        ],
        fmt: Annotated[str, typer.Option("--format", help="Output: text or json.")] = "text",
        rules_version: Annotated[
            str,
            typer.Option(
                "--rules-version",
                help="ADR version: 2.0.2, 2.1.0 (default) or 2.2.0 (draft: new rules advisory).",
            ),
        ] = DEFAULT_VERSION,
        connect_to: Annotated[
            list[str] | None,
            typer.Option(
                "--connect-to",
                help="HOST:PORT:ADDR:PORT, as curl: connect there, keep SNI/Host/cert name.",
            ),
        ] = None,
        ca_file: Annotated[
            Path | None, typer.Option("--ca-file", help="Extra trusted CA certificates (PEM).")
        ] = None,
        timeout: Annotated[
            float, typer.Option("--timeout", help="Network timeout per connection, seconds.")
        ] = 10.0,
        document: Annotated[
            Path | None,
            typer.Option(
                "--document",
                help="Lint this local OpenAPI JSON file only (no network, no runtime checks).",
            ),
        ] = None,
    ) -> None:
        """Lint openapi.json against the API Design Rules; check the live API (API-Version, headers, TLS)."""
        if fmt not in ("text", "json"):
            raise _fail("--format must be text or json")
        try:
            version = parse_version(rules_version)
            routes = tuple(ConnectTo.parse(c) for c in connect_to or [])
        except ValueError as exc:
            raise _fail(str(exc)) from None
        if ca_file is not None and not ca_file.is_file():
            raise _fail(f"--ca-file {ca_file} does not exist")
        if not url.startswith(("http://", "https://")):
            raise _fail("URL must start with http:// or https://")
        net = NetworkConfig(connect_to=routes, ca_file=ca_file, timeout=timeout)
        if document is not None:
            report = _lint_file(url, document, version)
        else:
            from nds.standards.checks.api.retrieve import TargetRefused
            from nds.standards.checks.api.run import check_api

            try:
                report = asyncio.run(check_api(url, net, version))
            except TargetRefused as exc:
                raise _fail(str(exc)) from None
        if fmt == "json":
            render_json(report, sys.stdout)
        else:
            render_human(report, Console())
        raise typer.Exit(exit_code(report))


def _lint_file(url: str, document: Path, version: str) -> Report:
    from nds.standards.checks.api.lint import evaluate
    from nds.standards.checks.api.retrieve import parse_document

    try:
        body = document.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {document}: {exc.strerror}") from None
    if len(body) > 5 * 1024 * 1024:
        raise _fail(f"{document} is larger than 5 MiB")
    doc, err = parse_document(body)
    if err is not None:
        raise _fail(err)
    return Report(target=url, profile=f"adr-{version}", tests=evaluate(doc, version))
