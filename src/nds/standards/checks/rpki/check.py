"""RPKI subtests: ``rpki.<role>_exists`` (a ROA covers every announced route) and
``rpki.<role>_valid`` (every announced route is RPKI-valid), for role web, ns, mx, mx_ns.

As internet.nl (documentation/rpki.md): invalid fails; not-found (no ROA) fails "exists" and is a
warning for "valid"; an address without any announced route is not_tested; without a data source
everything is not_tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nds.standards.checks.rpki.origin import Validity
from nds.standards.checks.rpki.sources import RpkiSource, SourceError
from nds.standards.model import SUBTESTS, Status, Subtest, TestResult, worst
from nds.standards.net import NetworkConfig

STANDARD = "rpki"
CLAUSE_EXISTS = "RFC 6482 (ROA) / RFC 6811 §2 (covering VRP)"
CLAUSE_VALID = "RFC 6811 §2 (route origin validation state)"
ROLES = {
    "web": "web server",
    "ns": "name server",
    "mx": "mail server (MX)",
    "mx_ns": "name server of an MX domain",
}

for _role, _what in ROLES.items():
    SUBTESTS.declare(
        Subtest(
            f"rpki.{_role}_exists",
            STANDARD,
            Status.FAILED,
            f"ROA exists for every {_what} address",
            CLAUSE_EXISTS,
        )
    )
    SUBTESTS.declare(
        Subtest(
            f"rpki.{_role}_valid",
            STANDARD,
            Status.FAILED,
            f"Every route of a {_what} address is RPKI-valid",
            CLAUSE_VALID,
        )
    )


@dataclass(frozen=True)
class RouteFact:
    prefix: str
    origin: int
    validity: Validity

    def to_json(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "origin": f"AS{self.origin}", "validity": self.validity.value}


@dataclass(frozen=True)
class AddressFacts:
    host: str
    address: str
    routes: tuple[RouteFact, ...]


def _pairs(addresses: Mapping[str, Sequence[str]] | Iterable[str]) -> list[tuple[str, str]]:
    if isinstance(addresses, Mapping):
        return [(h, a) for h, addrs in addresses.items() for a in addrs]
    return [("", a) for a in addresses]


async def retrieve(
    addresses: Mapping[str, Sequence[str]] | Iterable[str], source: RpkiSource
) -> list[AddressFacts]:
    out: list[AddressFacts] = []
    for host, addr in _pairs(addresses):
        routes = await source.routes_for(addr)
        facts = [RouteFact(str(r.prefix), r.origin, await source.validity(r)) for r in routes]
        out.append(AddressFacts(host, addr, tuple(facts)))
    return out


def evaluate(facts: list[AddressFacts], role: str, source_name: str | None) -> list[TestResult]:
    ex, va = f"rpki.{role}_exists", f"rpki.{role}_valid"
    if source_name is None:
        d = "no RPKI data source configured (--rpki-vrps/--rpki-routes)"
        return [
            TestResult(ex, Status.NOT_TESTED, d, CLAUSE_EXISTS),
            TestResult(va, Status.NOT_TESTED, d, CLAUSE_VALID),
        ]
    if not facts:
        d = f"no {ROLES[role]} addresses to test"
        return [
            TestResult(ex, Status.NOT_APPLICABLE, d, CLAUSE_EXISTS),
            TestResult(va, Status.NOT_APPLICABLE, d, CLAUSE_VALID),
        ]
    out: list[TestResult] = []
    for f in facts:
        target = f"{f.host} {f.address}".strip()
        info = {"routes": [r.to_json() for r in f.routes], "source": source_name}
        if not f.routes:
            d = f"{f.address} is not announced in BGP according to {source_name}"
            out += [
                TestResult(ex, Status.NOT_TESTED, d, CLAUSE_EXISTS, target=target, facts=info),
                TestResult(va, Status.NOT_TESTED, d, CLAUSE_VALID, target=target, facts=info),
            ]
            continue
        states = [r.validity for r in f.routes]
        uncovered = [r for r in f.routes if r.validity is Validity.NOT_FOUND]
        if uncovered:
            missing = ", ".join(r.prefix for r in uncovered)
            out.append(
                TestResult(
                    ex,
                    Status.FAILED,
                    f"no ROA covers {missing}",
                    CLAUSE_EXISTS,
                    fix="Ask your network provider (the AS announcing the prefix) to publish a ROA for it.",
                    target=target,
                    facts=info,
                )
            )
        else:
            out.append(
                TestResult(
                    ex,
                    Status.PASSED,
                    "a ROA covers every announced route",
                    CLAUSE_EXISTS,
                    target=target,
                    facts=info,
                )
            )
        per = [
            Status.FAILED
            if s is Validity.INVALID
            else Status.WARNING
            if s is Validity.NOT_FOUND
            else Status.PASSED
            for s in states
        ]
        status = worst(per)
        bad = [
            f"{r.prefix} from AS{r.origin}: {r.validity.value}"
            for r in f.routes
            if r.validity is not Validity.VALID
        ]
        detail = "every announced route is RPKI-valid" if status is Status.PASSED else "; ".join(bad)
        fix = (
            "An invalid route is dropped by validating networks: correct the ROA (origin AS, maxLength) "
            "or the announcement."
            if status is Status.FAILED
            else ""
        )
        out.append(TestResult(va, status, detail, CLAUSE_VALID, fix=fix, target=target, facts=info))
    return out


async def rpki_subtests(
    addresses: Mapping[str, Sequence[str]] | Iterable[str],
    net: NetworkConfig,
    source: RpkiSource | None,
    *,
    role: str = "web",
) -> list[TestResult]:
    """RPKI subtests for ``addresses`` (a list of IPs, or host -> IPs). ``net`` is unused by
    file sources and kept so HTTP sources (e.g. a Routinator API) honour the overrides."""
    if role not in ROLES:
        raise ValueError(f"unknown RPKI role {role!r}")
    if source is None:
        return evaluate([], role, None)
    try:
        facts = await retrieve(addresses, source)
    except SourceError as exc:
        return [
            TestResult(f"rpki.{role}_exists", Status.ERROR, str(exc), CLAUSE_EXISTS),
            TestResult(f"rpki.{role}_valid", Status.ERROR, str(exc), CLAUSE_VALID),
        ]
    return evaluate(facts, role, source.name)
