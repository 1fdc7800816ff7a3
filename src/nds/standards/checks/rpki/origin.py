"""RFC 6811 route origin validation, pure: VRPs + announced routes -> valid / invalid / not-found."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Validity(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Vrp:
    """Validated ROA Payload (RFC 6811 §2): prefix, maxLength, origin AS."""

    asn: int
    prefix: Network
    max_length: int


@dataclass(frozen=True)
class Route:
    """A BGP announcement as seen in a route collector: prefix and origin AS."""

    prefix: Network
    origin: int


def parse_asn(value: str | int) -> int:
    text = str(value).strip().upper()
    return int(text[2:] if text.startswith("AS") else text)


def covers(vrp: Vrp, prefix: Network) -> bool:
    return vrp.prefix.version == prefix.version and prefix.subnet_of(vrp.prefix)  # type: ignore[arg-type]


def validate(route: Route, vrps: Iterable[Vrp]) -> Validity:
    """RFC 6811 §2: Valid if a covering VRP matches origin and length; Invalid if covered but none
    matches; NotFound if no VRP covers the route. AS 0 never matches (RFC 6483 §4)."""
    covered = False
    for v in vrps:
        if not covers(v, route.prefix):
            continue
        covered = True
        if v.asn != 0 and v.asn == route.origin and route.prefix.prefixlen <= v.max_length:
            return Validity.VALID
    return Validity.INVALID if covered else Validity.NOT_FOUND
