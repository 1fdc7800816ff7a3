"""``nds digilab traffic``: realistic federated calls through the DigiLab's applications.

Each call goes to an organisation's own application, which fetches data through its Outway, logs per
LDV and answers. The mix (deterministic with ``--seed``):

| share | consumer | operation | provider/service | purpose (activity) |
|---|---|---|---|---|
| 35% | gemeente | change of address | brp/personen + kadaster/adressen | Verhuizing verwerken |
| 25% | uitkering | benefit application | brp/personen | Uitkering toekennen |
| 10% | uitkering | household application (3 persons, one call) | brp/personen | Uitkering toekennen |
| 20% | saas (for the gemeente) | parking permit | brp/personen (delegated) | Parkeervergunning verlenen |
| 10% | uitkering | fraud inquiry (confidential) | brp/personen | Fraudeonderzoek |
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from nds.digilab.registers.data import generate


@dataclass
class Call:
    consumer: str
    provider: str
    service: str
    purpose: str
    data_subjects: list[str]
    result: int
    transaction_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan(n: int, seed: int, persons: int) -> list[tuple[str, str, dict[str, Any], Call]]:
    """(app slug, path, body, call description) for ``n`` calls."""
    rnd = random.Random(seed)
    data = generate(persons)
    bsns = list(data.persons)
    addrs = list(data.addresses.values())
    out = []
    for _ in range(n):
        x = rnd.random()
        bsn = rnd.choice(bsns)
        if x < 0.35:
            a = rnd.choice(addrs)
            out.append(
                (
                    "gemeente",
                    "/v1/verhuizingen",
                    {"burgerservicenummer": bsn, "postcode": a.postcode, "huisnummer": a.number},
                    Call("gemeente", "brp", "personen", "Verhuizing verwerken", [bsn], 0),
                )
            )
        elif x < 0.60:
            out.append(
                (
                    "uitkering",
                    "/v1/aanvragen",
                    {"burgerservicenummer": bsn},
                    Call("uitkering", "brp", "personen", "Uitkering toekennen", [bsn], 0),
                )
            )
        elif x < 0.70:
            group = rnd.sample(bsns, 3)
            out.append(
                (
                    "uitkering",
                    "/v1/huishoudens",
                    {"burgerservicenummers": group},
                    Call("uitkering", "brp", "personen", "Uitkering toekennen", group, 0),
                )
            )
        elif x < 0.90:
            out.append(
                (
                    "saas",
                    "/v1/parkeervergunningen",
                    {"burgerservicenummer": bsn},
                    Call(
                        "saas", "brp", "personen", "Parkeervergunning verlenen (namens de gemeente)", [bsn], 0
                    ),
                )
            )
        else:
            out.append(
                (
                    "uitkering",
                    "/v1/fraudeonderzoeken",
                    {"burgerservicenummer": bsn},
                    Call("uitkering", "brp", "personen", "Fraudeonderzoek", [bsn], 0),
                )
            )
    return out


async def run(
    state_data: dict[str, Any], n: int, seed: int = 1, persons: int = 5000, concurrency: int = 8
) -> list[Call]:
    apps = {o["slug"]: o.get("app_address") for o in state_data["organisations"]}
    todo = plan(n, seed, persons)
    sem = asyncio.Semaphore(concurrency)

    async with httpx.AsyncClient(timeout=30) as client:

        async def one(slug: str, path: str, body: dict[str, Any], call: Call) -> Call:
            base = apps.get(slug)
            if not base:
                call.result = 0
                return call
            async with sem:
                try:
                    r = await client.post(base + path, json=body)
                    call.result = r.status_code
                    call.transaction_id = r.headers.get("fsc-transaction-id")
                except httpx.HTTPError:
                    call.result = 0  # not reachable
            return call

        return list(await asyncio.gather(*(one(*t) for t in todo)))


SHOWCASE_BSN = "999993653"  # the test citizen the README and the demo tell newcomers to log in as


async def showcase(state_data: dict[str, Any], bsn: str = SHOWCASE_BSN) -> list[Call]:
    """Calls about one test citizen so the citizen view has something to show: a change of address, a
    benefit application, a parking permit (delegated) and a confidential fraud inquiry (never shown)."""
    data = generate(int(state_data.get("persons", 5000)))
    if bsn not in data.persons:
        return []
    a = data.addresses[data.persons[bsn].address_id]
    apps = {o["slug"]: o.get("app_address") for o in state_data["organisations"]}
    todo = [
        (
            "gemeente",
            "/v1/verhuizingen",
            {"burgerservicenummer": bsn, "postcode": a.postcode, "huisnummer": a.number},
            Call("gemeente", "brp", "personen", "Verhuizing verwerken", [bsn], 0),
        ),
        (
            "uitkering",
            "/v1/aanvragen",
            {"burgerservicenummer": bsn},
            Call("uitkering", "brp", "personen", "Uitkering toekennen", [bsn], 0),
        ),
        (
            "saas",
            "/v1/parkeervergunningen",
            {"burgerservicenummer": bsn},
            Call("saas", "brp", "personen", "Parkeervergunning verlenen (namens de gemeente)", [bsn], 0),
        ),
        (
            "uitkering",
            "/v1/fraudeonderzoeken",
            {"burgerservicenummer": bsn},
            Call("uitkering", "brp", "personen", "Fraudeonderzoek", [bsn], 0),
        ),
    ]
    out = []
    async with httpx.AsyncClient(timeout=30) as client:
        for slug, path, body, call in todo:
            base = apps.get(slug)
            if base:
                try:
                    r = await client.post(base + path, json=body)
                    call.result = r.status_code
                    call.transaction_id = r.headers.get("fsc-transaction-id")
                except httpx.HTTPError:
                    call.result = 0
            out.append(call)
    return out
