"""``nds fsc``: each FSC part registers its own commands (manager, inway, outway, contracts)."""

from __future__ import annotations

import importlib
import importlib.util

import typer

app = typer.Typer(no_args_is_help=True, help="FSC components and contracts.")

# Each module has ``register(app: typer.Typer) -> None``.
_PARTS = ("nds.fsc.manager.cli", "nds.fsc.inway.cli", "nds.fsc.outway.cli", "nds.fsc.contracts.cli")

for _name in _PARTS:
    try:
        _found = importlib.util.find_spec(_name) is not None
    except ModuleNotFoundError:
        _found = False
    if _found:
        importlib.import_module(_name).register(app)
