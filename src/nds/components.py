"""The registry of components.

Every component is a subpackage with the same shape:

- ``models.py`` / domain modules: its domain model (pure code, no I/O where possible);
- ``store.py`` + ``migrations/``: its own tables (own MetaData) and Alembic scripts;
- ``cli.py``: a ``typer.Typer`` named ``app``, mounted as ``nds <cli_name>``;
- ``web.py``: ``register(app: fastapi.FastAPI) -> None`` adding its pages and ``/v1`` API;
- ``templates/<package>/``: its Jinja templates, extending ``base.html``;
- ``tests/<package>/``: its tests.

Components are found through this table, never by scanning: adding one is one line here.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Component:
    package: str  # nds.<package>
    cli_name: str | None  # nds <cli_name> ...
    title: str  # Dutch title for navigation
    help: str


COMPONENTS: tuple[Component, ...] = (
    Component("pki", "pki", "PKI", "Group CA, peer certificates and CRLs."),
    Component("fsc", "fsc", "FSC", "FSC Manager/Directory, Inway and Outway processes and contracts."),
    Component("logboek", "logboek", "Logboek", "Logboek Dataverwerkingen: records, register, verification."),
    Component("inzage", "inzage", "Inzage", "Citizen view: which organisation used my data, and why."),
    Component("digilab", "digilab", "DigiLab", "A demo federation with synthetic base registers."),
    Component("standards", "standards", "Standaarden", "Measure the mandatory open standards in rounds."),
    Component("check", "check", "Zelftest", "Developer self-check of a web host, mail domain or API."),
    Component("programme", "programme", "Programma", "Parliamentary documents to commitments and progress."),
)


def optional_module(package: str, module: str) -> ModuleType | None:
    """Import ``nds.<package>.<module>`` if it exists; real import errors inside it propagate."""
    name = f"nds.{package}.{module}"
    try:
        if importlib.util.find_spec(f"nds.{package}") is None or importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)
