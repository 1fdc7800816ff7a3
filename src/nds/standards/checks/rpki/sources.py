"""Pluggable RPKI data sources. Without a source every RPKI subtest is ``not_tested``.

``FileSource`` reads what an operator already has offline (and validates locally, RFC 6811):
- VRPs as the JSON that Routinator (``--format json``) and rpki-client (``-j``) write:
  ``{"roas": [{"asn": "AS64500" | 64500, "prefix": "192.0.2.0/24", "maxLength": 24}, ...]}``;
- announced routes as text, one per line, ``PREFIX ASN`` or ``ASN PREFIX`` (a RISwhois dump has
  ``ASN<TAB>PREFIX<TAB>peers``), ``#`` comments allowed.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nds.standards.checks.rpki.origin import Network, Route, Validity, Vrp, parse_asn, validate


class RpkiSource(Protocol):
    name: str

    async def routes_for(self, address: str) -> list[Route]:
        """Announced routes whose prefix covers ``address``."""
        ...

    async def validity(self, route: Route) -> Validity:
        """RFC 6811 origin validation state of ``route``."""
        ...


class SourceError(ValueError):
    pass


@dataclass
class FileSource:
    vrps: list[Vrp] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    name: str = "files"

    @classmethod
    def load(cls, vrps_file: Path, routes_file: Path) -> FileSource:
        try:
            doc = json.loads(vrps_file.read_text(encoding="utf-8"))
            items = doc["roas"] if isinstance(doc, dict) else doc
            vrps = [
                Vrp(
                    parse_asn(r["asn"]),
                    ipaddress.ip_network(r["prefix"], strict=False),
                    int(
                        r.get("maxLength", r.get("max_length", 0))
                        or ipaddress.ip_network(r["prefix"], strict=False).prefixlen
                    ),
                )
                for r in items
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"cannot read VRPs from {vrps_file}: {exc}") from exc
        routes = cls.load_routes(routes_file)
        return cls(vrps, routes, name=f"files ({vrps_file.name}, {routes_file.name})")

    @staticmethod
    def load_routes(routes_file: Path) -> list[Route]:
        routes: list[Route] = []
        try:
            lines = routes_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SourceError(f"cannot read routes from {routes_file}: {exc}") from exc
        for n, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            try:
                if "/" in parts[0]:
                    routes.append(Route(ipaddress.ip_network(parts[0], strict=False), parse_asn(parts[1])))
                else:
                    routes.append(Route(ipaddress.ip_network(parts[1], strict=False), parse_asn(parts[0])))
            except (IndexError, ValueError) as exc:
                raise SourceError(f"{routes_file}:{n}: expected 'PREFIX ASN', got {line!r}") from exc
        return routes

    async def routes_for(self, address: str) -> list[Route]:
        ip = ipaddress.ip_address(address)
        return [r for r in self.routes if r.prefix.version == ip.version and ip in r.prefix]

    async def validity(self, route: Route) -> Validity:
        return validate(route, await self.vrps_covering(route.prefix))

    async def vrps_covering(self, prefix: Network) -> list[Vrp]:
        return [v for v in self.vrps if v.prefix.version == prefix.version and prefix.subnet_of(v.prefix)]  # type: ignore[arg-type]


@dataclass
class RoutinatorSource:
    """Validity from a Routinator HTTP API (``GET /api/v1/validity/AS<asn>/<prefix>``, as internet.nl
    uses it), announcements from a routes file (a RISwhois dump). Failures raise ``SourceError``."""

    base_url: str
    routes: list[Route]
    timeout: float = 10.0
    name: str = "routinator"

    async def routes_for(self, address: str) -> list[Route]:
        ip = ipaddress.ip_address(address)
        return [r for r in self.routes if r.prefix.version == ip.version and ip in r.prefix]

    async def validity(self, route: Route) -> Validity:
        import httpx

        url = f"{self.base_url.rstrip('/')}/api/v1/validity/AS{route.origin}/{route.prefix}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
                resp = await client.get(url, headers={"Accept": "application/json"})
                resp.raise_for_status()
                state = resp.json()["validated_route"]["validity"]["state"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"Routinator at {self.base_url}: {exc}") from exc
        mapping = {"valid": Validity.VALID, "invalid": Validity.INVALID, "not-found": Validity.NOT_FOUND}
        if state not in mapping:
            raise SourceError(f"Routinator at {self.base_url}: unknown state {state!r}")
        return mapping[state]
