"""What the DigiLab federation consists of: organisations, their services and connections.

Kept as data so later work (synthetic base registers, consumer applications) can add sources and
organisations without touching the orchestrator: a :class:`SourceSpec` names the command that runs
a service; :data:`SOURCES` maps a source kind to how to start it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # FSC service name
    source: str = "sample"  # key in SOURCES


@dataclass(frozen=True)
class OrgSpec:
    key: str  # short stable key used in file names and digilab.json
    name: str  # peer name (certificate subject O)
    peer_id: str  # OIN-like, 20 digits
    services: tuple[ServiceSpec, ...] = ()
    outway: bool = False


@dataclass(frozen=True)
class ConnectionSpec:
    """A connection contract: ``consumer``'s Outway may call ``provider``'s ``service``;
    with ``on_behalf_of`` it is a DelegatedServiceConnectionGrant (that org is the delegator)."""

    consumer: str
    provider: str
    service: str
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class FederationSpec:
    group_id: str
    organisations: tuple[OrgSpec, ...]
    connections: tuple[ConnectionSpec, ...]
    directory_name: str = "Stelselcatalogus (Directory)"
    directory_peer_id: str = "00000099000000000001"


# Source kind → (service name, host, port, record file) → argv of the process that serves it.
SourceCommand = Callable[[str, str, int, Path], list[str]]


def _sample(name: str, host: str, port: int, record: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "nds.digilab.sample_service",
        "--listen",
        f"{host}:{port}",
        "--name",
        name,
        "--record",
        str(record),
    ]


SOURCES: dict[str, SourceCommand] = {"sample": _sample}


def default_federation() -> FederationSpec:
    """Two providers with a service each, three consumers, one consuming on behalf of another."""
    return FederationSpec(
        group_id="digilab",
        organisations=(
            OrgSpec(
                "brp",
                "Basisregistratie Personen",
                "00000001001000000001",
                services=(ServiceSpec("personen"),),
            ),
            OrgSpec(
                "kadaster", "Kadaster Adressen", "00000001001000000002", services=(ServiceSpec("adressen"),)
            ),
            OrgSpec("gemeente", "Gemeente Voorbeeldstad", "00000001001000000003", outway=True),
            OrgSpec("uitkering", "Uitkeringsinstantie", "00000001001000000004", outway=True),
            OrgSpec("saas", "SaaS Leverancier (verwerker)", "00000001001000000005", outway=True),
        ),
        connections=(
            ConnectionSpec("gemeente", "brp", "personen"),
            ConnectionSpec("gemeente", "kadaster", "adressen"),
            ConnectionSpec("uitkering", "brp", "personen"),
            ConnectionSpec("saas", "brp", "personen", on_behalf_of="gemeente"),
        ),
    )


@dataclass
class Ports:
    inway: int = 443
    outway: int = 8080
    inway_health: int = 9444
    outway_health: int = 9080
    service: int = 9001
    extra: dict[str, int] = field(default_factory=dict)
