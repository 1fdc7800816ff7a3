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


def _rpki(vrps: Path | None, routes: Path | None, routinator: str | None, timeout: float) -> object | None:
    """An RPKI data source from the options (not_tested without one)."""
    if not (vrps or routes or routinator):
        return None
    from nds.standards.checks.rpki.sources import FileSource, RoutinatorSource, SourceError

    if not routes or bool(vrps) == bool(routinator):
        raise _fail("RPKI needs --rpki-routes with either --rpki-vrps or --rpki-routinator")
    try:
        if routinator:
            if not routinator.startswith(("http://", "https://")):
                raise SourceError("--rpki-routinator must be an http(s) URL")
            return RoutinatorSource(routinator, FileSource.load_routes(routes), timeout)
        assert vrps is not None
        return FileSource.load(vrps, routes)
    except SourceError as exc:
        raise _fail(str(exc)) from None


def register(app: typer.Typer) -> None:
    @app.command("web")
    def web(
        host: Annotated[str, typer.Argument(help="Web host name, e.g. www.example.nl.")],
        fmt: Annotated[str, typer.Option("--format", help="Output: text or json.")] = "text",
        profile: Annotated[
            str, typer.Option("--profile", help=f"NCSC TLS profile: {', '.join(sorted(profiles()))}.")
        ] = DEFAULT_PROFILE,
        connect_to: Annotated[
            list[str] | None,
            typer.Option(
                "--connect-to",
                help="HOST:PORT:ADDR:PORT, as curl (repeatable): connect there, keep SNI/Host/"
                "certificate name.",
            ),
        ] = None,
        resolver: Annotated[
            str | None,
            typer.Option(
                "--resolver",
                help="Validating DNS resolver ADDR:PORT ([ADDR]:PORT for IPv6). Without it the system's "
                "resolvers are used; DNSSEC verdicts are then only right if they validate.",
            ),
        ] = None,
        ca_file: Annotated[
            Path | None, typer.Option("--ca-file", help="Extra trusted CA certificates (PEM).")
        ] = None,
        timeout: Annotated[
            float, typer.Option("--timeout", help="Network timeout per connection, seconds.")
        ] = 10.0,
        no_dns: Annotated[
            bool, typer.Option("--no-dns", help="Skip the DNS-based subtests (DNSSEC, IPv6, RPKI, CAA).")
        ] = False,
        rpki_vrps: Annotated[
            Path | None,
            typer.Option("--rpki-vrps", help="RPKI VRPs as JSON (Routinator/rpki-client 'roas' export)."),
        ] = None,
        rpki_routinator: Annotated[
            str | None,
            typer.Option(
                "--rpki-routinator",
                help="Routinator base URL (with --rpki-routes), e.g. http://127.0.0.1:8323.",
            ),
        ] = None,
        rpki_routes: Annotated[
            Path | None,
            typer.Option(
                "--rpki-routes", help="Announced routes, one 'PREFIX ASN' per line (RISwhois dump)."
            ),
        ] = None,
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
        source = _rpki(rpki_vrps, rpki_routes, rpki_routinator, timeout)
        net = NetworkConfig(connect_to=routes, resolver=res, ca_file=ca_file, timeout=timeout)
        from nds.standards.checks.web.run import check_web

        report = asyncio.run(check_web(name, net, profile, dns_checks=not no_dns, rpki_source=source))
        if fmt == "json":
            render_json(report, sys.stdout)
        else:
            render_human(report, Console())
        raise typer.Exit(exit_code(report))
