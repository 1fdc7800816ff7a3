"""``nds fsc manager``: run a Manager (``--config FILE``) and its officers' admin commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from nds.fsc.manager.config import ConfigError, ManagerConfig, load_config

manager_app = typer.Typer(
    help="FSC Manager (a Directory is a Manager with directory = true). Without a subcommand: run it.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _load(config: Path) -> ManagerConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@manager_app.callback()
def main(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", help="Manager configuration (TOML)."),
) -> None:
    """Run the Manager, or with a subcommand talk to its admin API."""
    cfg = _load(config)
    ctx.obj = cfg
    if ctx.invoked_subcommand is not None:
        return
    from nds.fsc.grouprules import GroupRulesError
    from nds.fsc.manager.server import run
    from nds.pki import PkiError

    try:
        run(cfg)
    except (GroupRulesError, PkiError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _admin(ctx: typer.Context, method: str, path: str, body: Any = None) -> Any:
    import httpx

    from nds.fsc.manager.admin import ensure_admin_token

    cfg: ManagerConfig = ctx.obj
    if not cfg.admin_port:
        typer.echo("error: admin_port is not set in the configuration", err=True)
        raise typer.Exit(2)
    token = ensure_admin_token(cfg)
    host = f"[{cfg.admin_host}]" if ":" in cfg.admin_host else cfg.admin_host
    try:
        r = httpx.request(
            method,
            f"http://{host}:{cfg.admin_port}/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: admin API not reachable: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    data = r.json() if r.content else {}
    if r.status_code >= 400:
        typer.echo(f"error: {data.get('detail') or data.get('title') or r.status_code}", err=True)
        raise typer.Exit(1)
    return data


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@manager_app.command("contracts")
def contracts(ctx: typer.Context) -> None:
    """List all contracts with their derived state."""
    _print(_admin(ctx, "GET", "/contracts"))


@manager_app.command("propose")
def propose(
    ctx: typer.Context, file: Path = typer.Argument(..., help="JSON file with contractContent.")
) -> None:
    """Propose a contract (our accept signature is added and sent to the other Peers)."""
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    _print(_admin(ctx, "POST", "/contracts", {"contract_content": content}))


@manager_app.command("sign")
def sign(
    ctx: typer.Context,
    content_hash: str = typer.Argument(..., help="Content hash of the contract."),
    sig_type: str = typer.Option("accept", "--type", help="accept, reject or revoke."),
) -> None:
    """Accept, reject or revoke a contract."""
    if sig_type not in ("accept", "reject", "revoke"):
        typer.echo("error: --type must be accept, reject or revoke", err=True)
        raise typer.Exit(2)
    _print(_admin(ctx, "POST", f"/contracts/{content_hash}/{sig_type}"))


@manager_app.command("inway")
def inway(ctx: typer.Context, name: str, address: str = typer.Option(..., help="https://host:port")) -> None:
    """Register an Inway of this Peer."""
    _print(_admin(ctx, "PUT", f"/inways/{name}", {"address": address}))


@manager_app.command("service")
def service(
    ctx: typer.Context,
    name: str,
    inway_name: str = typer.Option(..., "--inway", help="Name of the Inway offering it."),
    endpoint_url: str = typer.Option(..., "--endpoint", help="Where the Inway forwards requests."),
) -> None:
    """Register a Service of this Peer."""
    _print(_admin(ctx, "PUT", f"/services/{name}", {"inway": inway_name, "endpoint_url": endpoint_url}))


@manager_app.command("outbox")
def outbox(ctx: typer.Context) -> None:
    """Show outgoing deliveries and their state."""
    _print(_admin(ctx, "GET", "/outbox"))


def register(app: typer.Typer) -> None:
    app.add_typer(manager_app, name="manager")
