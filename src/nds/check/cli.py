"""``nds check``: each check family registers its own command here."""

from __future__ import annotations

import importlib
import importlib.util

import typer

app = typer.Typer(
    no_args_is_help=True, help="Self-check a web host, mail domain or API against the standards."
)

# Each module has ``register(app: typer.Typer) -> None`` adding its command (web, mail, api).
_FAMILIES = ("nds.standards.checks.web.cli", "nds.standards.checks.mail.cli", "nds.standards.checks.api.cli")

for _name in _FAMILIES:
    try:
        _found = importlib.util.find_spec(_name) is not None
    except ModuleNotFoundError:
        _found = False
    if _found:
        importlib.import_module(_name).register(app)
