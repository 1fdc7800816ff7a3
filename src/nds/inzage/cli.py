"""``nds inzage --state DIR --bsn BSN``: exactly what the citizen view shows that person."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import typer
from rich.console import Console
from rich.tree import Tree

from nds.inzage.digilab import DigiLabInzageError, citizen_view
from nds.inzage.view import Use

app = typer.Typer(
    invoke_without_command=True, help="Citizen view: who used my data, for what, on which basis."
)


def _label(u: Use) -> str:
    return (
        f"[bold]{u.organisation}[/bold] — {u.activity} ({u.start})\n"
        f"  doel: {u.purpose}\n  grondslag: {u.legal_basis}; {u.provision}\n"
        f"  gegevens: {', '.join(u.personal_data)}"
    )


@app.callback()
def inzage(
    state: Path = typer.Option(Path(".nds/digilab"), "--state", help="DigiLab state directory."),
    bsn: str = typer.Option(..., "--bsn", help="The test citizen's BSN (DigiLab test data only)."),
    output: str = typer.Option("text", "--format", help="text or json"),
) -> None:
    if not re.fullmatch(r"[0-9]{9}", bsn):
        typer.echo("fout: een BSN bestaat uit 9 cijfers", err=True)
        raise typer.Exit(2)
    if output not in ("text", "json"):
        typer.echo(f"fout: --format is text of json, niet {output!r}", err=True)
        raise typer.Exit(2)
    try:
        view = asyncio.run(citizen_view(state, bsn))
    except DigiLabInzageError as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(2) from exc
    if output == "json":
        typer.echo(json.dumps(view.to_json(), ensure_ascii=False, indent=2))
        return
    console = Console()
    root = Tree("Wie gebruikte uw gegevens?")
    for u in view.uses:
        node = root.add(_label(u))
        stack = [(node, c) for c in u.obtained_from]
        while stack:
            parent, c = stack.pop()
            child = parent.add("verkregen van " + _label(c))
            stack += [(child, g) for g in c.obtained_from]
    if not view.uses:
        root.add("Geen verwerkingen gevonden.")
    console.print(root)
    if view.lookups:
        console.print(f"Eerdere inzageverzoeken: {len(view.lookups)}")
    for name in view.unreachable:
        console.print(
            f"[yellow]Niet bereikbaar:[/yellow] {name} — deze organisatie kon niet worden bevraagd."
        )
