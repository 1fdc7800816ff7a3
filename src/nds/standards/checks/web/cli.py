"""``nds check web HOST``: the website test (HTTPS, TLS, certificates, HSTS, headers, security.txt, DNS)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nds.standards.net import ConnectTo, NetworkConfig
from nds.standards.output import exit_code, render_human, render_json
from nds.standards.policy import DEFAULT_PROFILE, profiles


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _valid_host(host: str) -> str:
    h = host.strip().lower().rstrip(".")
    if "://" in h or "/" in h or not h or " " in h:
        raise ValueError(f"HOST must be a host name such as www.example.nl, got {host!r}")
    try:
        h.encode("idna")
    except UnicodeError as exc:
        raise ValueError(f"HOST {host!r} is not a valid domain name") from exc
    return h


def register(app: typer.Typer) -> None:
    @app.command("web")
    def web(
        host: Annotated[str, typer.Argument(help="Web host name, e.g. www.example.nl.")],
        fmt: Annotated[str, typer.Option("--format", help="Output: text or json.")] = "text",
        profile: Annotated[str, typer.Option(
            "--profile", help=f"NCSC TLS profile: {', '.join(sorted(profiles()))}.")] = DEFAULT_PROFILE,
        connect_to: Annotated[list[str] | None, typer.Option(
            "--connect-to", help="HOST:PORT:ADDR:PORT, as curl (repeatable): connect there, keep SNI/Host/"
                                 "certificate name.")] = None,
        resolver: Annotated[str | None, typer.Option(
            "--resolver", help="Validating DNS resolver ADDR:PORT ([ADDR]:PORT for IPv6).")] = None,
        ca_file: Annotated[Path | None, typer.Option(
            "--ca-file", help="Extra trusted CA certificates (PEM).")] = None,
        timeout: Annotated[float, typer.Option("--timeout", help="Network timeout per connection, seconds.")
                           ] = 10.0,
        no_dns: Annotated[bool, typer.Option(
            "--no-dns", help="Skip the DNS-based subtests (DNSSEC, IPv6, RPKI, CAA).")] = False,
    ) -> None:
        """Test a website as internet.nl does, with a separate legal verdict (Wdo, Stb. 2023, 179)."""
        if fmt not in ("text", "json"):
            raise _fail("--format must be text or json")
        if profile not in profiles():
            raise _fail(f"unknown --profile {profile!r}; choose one of {', '.join(sorted(profiles()))}")
        try:
            name = _valid_host(host)
            routes = tuple(ConnectTo.parse(c) for c in connect_to or [])
            res = NetworkConfig.parse_resolver(resolver) if resolver else None
        except ValueError as exc:
            raise _fail(str(exc)) from None
        if ca_file is not None and not ca_file.is_file():
            raise _fail(f"--ca-file {ca_file} does not exist")
        if timeout <= 0:
            raise _fail("--timeout must be positive")
        net = NetworkConfig(connect_to=routes, resolver=res, ca_file=ca_file, timeout=timeout)
        from nds.standards.checks.web.run import check_web

        report = asyncio.run(check_web(name, net, profile, dns_checks=not no_dns))
        if fmt == "json":
            render_json(report, sys.stdout)
        else:
            render_human(report, Console())
        raise typer.Exit(exit_code(report))
