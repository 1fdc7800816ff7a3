"""``nds check mail DOMAIN``: the mail test (SPF, DMARC, DKIM, MX, STARTTLS, DANE, DNSSEC, IPv6, RPKI)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nds.standards.checks.rpki.sources import RpkiSource
from nds.standards.net import ConnectTo, NetworkConfig
from nds.standards.output import exit_code, render_human, render_json

_DOMAIN = re.compile(
    r"^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9\-_]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z0-9\-]{2,63}\.?$"
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command("mail")
    def mail(
        domain: Annotated[str, typer.Argument(help="Mail domain, e.g. example.nl (the part after the @).")],
        fmt: Annotated[str, typer.Option("--format", help="Output: text or json.")] = "text",
        profile: Annotated[
            str | None,
            typer.Option("--profile", help="TLS profile: ncsc-2025-05 (default) or ncsc-2.1.1."),
        ] = None,
        connect_to: Annotated[
            list[str] | None,
            typer.Option(
                "--connect-to",
                help="HOST:PORT:ADDR:PORT as curl; HOST may be an MX name or an address literal "
                "([::1] for IPv6), e.g. mx.example.nl:25:127.0.0.1:2525.",
            ),
        ] = None,
        resolver: Annotated[
            str | None,
            typer.Option("--resolver", help="Validating resolver ADDR:PORT (IPv6 as [ADDR]:PORT)."),
        ] = None,
        ca_file: Annotated[
            Path | None, typer.Option("--ca-file", help="Extra trusted CA certificates (PEM).")
        ] = None,
        timeout: Annotated[float, typer.Option("--timeout", help="Network timeout, seconds.")] = 10.0,
        retry_delay: Annotated[
            float,
            typer.Option(
                "--retry-delay", help="Seconds before retrying a greylisted/rate-limited SMTP session."
            ),
        ] = 5.0,
        ehlo: Annotated[
            str | None,
            typer.Option("--ehlo-name", help="Host name sent in EHLO (default: this machine's host name)."),
        ] = None,
        rpki_vrps: Annotated[
            Path | None,
            typer.Option("--rpki-vrps", help="RPKI VRPs as JSON (Routinator/rpki-client 'roas' export)."),
        ] = None,
        rpki_routinator: Annotated[
            str | None,
            typer.Option(
                "--rpki-routinator",
                help="Routinator base URL for validity (with --rpki-routes), e.g. http://127.0.0.1:8323.",
            ),
        ] = None,
        rpki_routes: Annotated[
            Path | None,
            typer.Option(
                "--rpki-routes", help="Announced routes, one 'PREFIX ASN' per line (RISwhois dump)."
            ),
        ] = None,
    ) -> None:
        """Test a mail domain like internet.nl's mail test, offline-capable through the overrides."""
        from nds.standards.policy import get_profile

        if fmt not in ("text", "json"):
            raise _fail("--format must be text or json")
        if not _DOMAIN.match(domain.strip()):
            raise _fail(f"{domain!r} is not a domain name")
        try:
            routes = tuple(ConnectTo.parse(c) for c in connect_to or [])
            res = NetworkConfig.parse_resolver(resolver) if resolver else None
            if profile:
                get_profile(profile)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        if ca_file is not None and not ca_file.is_file():
            raise _fail(f"--ca-file {ca_file} does not exist")
        if ehlo is not None and not _DOMAIN.match(ehlo):
            raise _fail(f"--ehlo-name {ehlo!r} is not a host name")
        if timeout <= 0 or retry_delay < 0:
            raise _fail("--timeout must be positive and --retry-delay not negative")
        source: RpkiSource | None = None
        if rpki_vrps or rpki_routes or rpki_routinator:
            from nds.standards.checks.rpki.sources import FileSource, RoutinatorSource, SourceError

            if not rpki_routes or bool(rpki_vrps) == bool(rpki_routinator):
                raise _fail("RPKI needs --rpki-routes with either --rpki-vrps or --rpki-routinator")
            try:
                if rpki_routinator:
                    if not rpki_routinator.startswith(("http://", "https://")):
                        raise SourceError("--rpki-routinator must be an http(s) URL")
                    source = RoutinatorSource(rpki_routinator, FileSource.load_routes(rpki_routes), timeout)
                else:
                    assert rpki_vrps is not None
                    source = FileSource.load(rpki_vrps, rpki_routes)
            except SourceError as exc:
                raise _fail(str(exc)) from None
        net = NetworkConfig(
            connect_to=routes,
            resolver=res,
            ca_file=ca_file,
            timeout=timeout,
            dns_timeout=min(5.0, timeout),
            extra={"smtp_retry_delay": str(retry_delay), **({"ehlo_name": ehlo} if ehlo else {})},
        )
        if net.resolver is None:
            from nds.standards.checks.dns.resolver import default_servers

            if not default_servers():
                raise _fail("no DNS resolver configured: pass --resolver ADDR:PORT (a validating resolver)")
        from nds.standards.checks.mail.run import check_mail

        report = asyncio.run(check_mail(domain, net, profile, rpki_source=source))
        if fmt == "json":
            render_json(report, sys.stdout)
        else:
            render_human(report, Console())
        raise typer.Exit(exit_code(report))
