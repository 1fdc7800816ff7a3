"""The ``nds`` command line: one root app, each component mounts its own sub-app."""

from __future__ import annotations

import typer

from nds import __version__
from nds.components import COMPONENTS, optional_module

app = typer.Typer(
    name="nds",
    help="nds: building blocks of the Dutch Digitalisation Strategy (NDS) as working software.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the nds version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default: NDS_WEB_HOST)."),
    port: int = typer.Option(None, help="Port (default: NDS_WEB_PORT)."),
    demo: bool = typer.Option(False, "--demo", help="Enable demo mode (simulated DigiD; loopback only)."),
) -> None:
    """Run the web app (all components' pages and APIs)."""
    import uvicorn

    from nds.settings import Settings
    from nds.web.app import create_app

    base = Settings()
    settings = base.model_copy(
        update={
            "web_host": host if host is not None else base.web_host,
            "web_port": port if port is not None else base.web_port,
            "demo_mode": demo or base.demo_mode,
        }
    )
    uvicorn.run(create_app(settings), host=settings.web_host, port=settings.web_port, log_level="warning")


@app.command("settings-doc")
def settings_doc() -> None:
    """Print the settings reference (docs/settings.md) generated from the declarations."""
    from nds.settings_doc import settings_markdown

    typer.echo(settings_markdown(), nl=False)


def _mount_components() -> None:
    for comp in COMPONENTS:
        if comp.cli_name is None:
            continue
        mod = optional_module(comp.package, "cli")
        if mod is not None and hasattr(mod, "app"):
            app.add_typer(mod.app, name=comp.cli_name, help=comp.help)


_mount_components()


def main() -> None:
    app()
