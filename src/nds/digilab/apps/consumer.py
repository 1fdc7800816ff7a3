"""Consumer applications of the DigiLab organisations (municipality, benefits agency, SaaS processor).

Each does real work through its organisation's Outway and logs per LDV. Order, for every call:
1. continue or start the trace; make a span id for the outgoing call and send it as ``traceparent``;
2. call the provider through the Outway (``Fsc-Grant-Hash`` selects the contract);
3. write this organisation's LDV record — activity from its own register, one record per person,
   ``dpl.read.externalReadAPI_id`` = the provider's read API, the FSC transaction ID — durably;
4. only then use the data and answer. If the record cannot be written, the data is not returned (500).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from nds.api import Problem, make_api
from nds.logboek.model import (
    DataSubject,
    ForeignOperation,
    Processing,
    StatusCode,
    TraceParent,
    new_span_id,
    new_trace_id,
)
from nds.logboek.store import Logboek, LogboekWriteError

BSN = r"^[0-9]{9}$"


@dataclass(frozen=True)
class Upstream:
    """A service this application may call: through which grant, and where its provider's read API is."""

    grant_hash: str
    read_api: str


@dataclass
class ConsumerConfig:
    kind: str  # gemeente | uitkering | saas
    outway_url: str  # http://host:port of this organisation's Outway
    upstreams: dict[str, Upstream] = field(default_factory=dict)  # service name -> Upstream

    @classmethod
    def load(cls, path: Path) -> ConsumerConfig:
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(d["kind"], d["outway_url"], {k: Upstream(**v) for k, v in d.get("upstreams", {}).items()})

    def dump(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "kind": self.kind,
                    "outway_url": self.outway_url,
                    "upstreams": {k: v.__dict__ for k, v in self.upstreams.items()},
                },
                indent=2,
            )
        )


class BsnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    burgerservicenummer: str = Field(pattern=BSN)


class HuishoudenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    burgerservicenummers: list[Annotated[str, Field(pattern=BSN)]] = Field(min_length=1, max_length=10)


class VerhuizingIn(BsnIn):
    postcode: str = Field(pattern=r"^[1-9][0-9]{3} ?[A-Z]{2}$")
    huisnummer: int = Field(ge=1, le=99999)


class Caller:
    """Calls a provider through the Outway, carrying the trace."""

    def __init__(self, cfg: ConsumerConfig, client: httpx.AsyncClient) -> None:
        self.cfg = cfg
        self.client = client

    async def call(
        self, upstream: str, method: str, path: str, trace_id: str, body: Any = None
    ) -> tuple[httpx.Response, str, str | None]:
        """(response, span id sent in traceparent, FSC transaction id)."""
        up = self.cfg.upstreams.get(upstream)
        if up is None:
            raise Problem(503, "Dienst niet beschikbaar", f"Geen contract voor {upstream}.")
        span = new_span_id()
        headers = {"Fsc-Grant-Hash": up.grant_hash, "traceparent": f"00-{trace_id}-{span}-01"}
        try:
            r = await self.client.request(
                method, self.cfg.outway_url + path, json=body, headers=headers, timeout=15
            )
        except httpx.HTTPError as exc:
            raise Problem(502, "Bron niet bereikbaar", f"{upstream} is niet bereikbaar.") from exc
        return r, span, r.headers.get("fsc-transaction-id")


async def _log(
    logboek: Logboek,
    name: str,
    activity: str,
    bsns: list[str],
    trace: str,
    upstream: Upstream | None,
    txid: str | None,
    incoming: TraceParent | None,
    status: StatusCode = StatusCode.UNSET,
) -> None:
    try:
        await logboek.awrite(
            Processing(
                name,
                activity,
                tuple(DataSubject(b) for b in bsns),
                trace,
                status=status,
                external_read_api=upstream.read_api if upstream else None,
                fsc_transaction_id=txid,
                foreign_operation=ForeignOperation(incoming.trace_id, incoming.parent_id, "urn:nds:client")
                if incoming
                else None,
            )
        )
    except LogboekWriteError as exc:  # no record, no data
        raise Problem(
            500, "Interne fout", "De verwerking kon niet worden gelogd; er worden geen gegevens getoond."
        ) from exc


def _trace(request: Request) -> tuple[str, TraceParent | None]:
    tp = TraceParent.parse(request.headers.get("traceparent"))
    trace = tp.trace_id if tp else new_trace_id()
    request.state.trace_id = trace
    return trace, tp


def _upstream_error(r: httpx.Response, what: str) -> Problem:
    if r.status_code == 404:
        return Problem(404, "Niet gevonden", f"{what} niet gevonden.")
    return Problem(502, "Bron gaf een fout", f"{what}: HTTP {r.status_code}.")


def create_consumer_api(
    cfg: ConsumerConfig, logboek: Logboek, activities: dict[str, str], client: httpx.AsyncClient
) -> FastAPI:
    caller = Caller(cfg, client)

    def with_traceresponse(api: FastAPI) -> FastAPI:
        """Tell the client which trace its call was logged under (W3C Trace Context ``traceresponse``)
        and the FSC transaction ID of the call to the BRP (``Fsc-Transaction-Id``), which links both
        organisations' transaction logs and LDV records."""

        @api.middleware("http")
        async def traceresponse(request: Request, call_next: Any) -> Any:
            response = await call_next(request)
            trace = getattr(request.state, "trace_id", None)
            if trace:
                response.headers["traceresponse"] = f"00-{trace}-{new_span_id()}-01"
            txid = getattr(request.state, "fsc_transaction_id", None)
            if txid:
                response.headers["Fsc-Transaction-Id"] = txid
            return response

        return api

    async def persoon(bsn: str, request: Request) -> tuple[dict[str, Any], Upstream, str | None]:
        r, _span, txid = await caller.call(
            "personen",
            "POST",
            "/v1/personen/_zoek",
            request.state.trace_id,
            {"burgerservicenummers": [bsn]},
        )
        request.state.fsc_transaction_id = txid
        if r.status_code != 200:
            raise _upstream_error(r, "Persoon")
        people = r.json().get("personen", [])
        return (people[0] if people else {}), cfg.upstreams["personen"], txid

    async def persoon_logged(request: Request, bsn: str, name: str, activity: str) -> dict[str, Any]:
        """Fetch one person from the BRP, then log this organisation's processing durably: the data
        (``{}`` when the BRP does not know the person) is only used after the record is written."""
        trace, incoming = _trace(request)
        p, up, txid = await persoon(bsn, request)
        await _log(logboek, name, activities[activity], [bsn], trace, up, txid, incoming)
        return p

    if cfg.kind == "gemeente":
        api = with_traceresponse(
            make_api("Verhuizingen (gemeente, DigiLab)", "1.0.0", "Adreswijzigingen verwerken.")
        )

        @api.post("/verhuizingen")
        async def verhuizing(body: VerhuizingIn, request: Request) -> dict[str, Any]:
            trace, incoming = _trace(request)
            p, up, txid = await persoon(body.burgerservicenummer, request)

            async def log(status: StatusCode) -> None:
                await _log(
                    logboek,
                    "adres wijzigen",
                    activities["verhuizing"],
                    [body.burgerservicenummer],
                    trace,
                    up,
                    txid,
                    incoming,
                    status,
                )

            try:
                r, _, _ = await caller.call(
                    "adressen",
                    "POST",
                    "/v1/adressen/_zoek",
                    trace,
                    {"postcode": body.postcode, "huisnummer": body.huisnummer},
                )
            except Problem:
                # the person's data was obtained: the processing is logged (as failed) all the same,
                # else the BRP's provision would have no visible record to be reached through
                await log(StatusCode.ERROR)
                raise
            adressen = r.json().get("adressen", []) if r.status_code == 200 else []
            await log(StatusCode.OK if p and adressen else StatusCode.UNSET)
            if not p:
                raise Problem(404, "Niet gevonden", "Deze persoon staat niet in de BRP.")
            if not adressen:
                raise Problem(400, "Ongeldige invoer", "Het nieuwe adres bestaat niet in de BAG.")
            return {
                "status": "verwerkt",
                "geslachtsnaam": p.get("geslachtsnaam"),
                "nieuwAdres": adressen[0],
                "testgegevens": True,
            }

        return api

    if cfg.kind == "uitkering":
        api = with_traceresponse(make_api("Uitkeringen (DigiLab)", "1.0.0", "Aanvragen beoordelen."))

        @api.post("/aanvragen")
        async def aanvraag(body: BsnIn, request: Request) -> dict[str, Any]:
            p = await persoon_logged(request, body.burgerservicenummer, "aanvraag beoordelen", "uitkering")
            if not p:
                raise Problem(404, "Niet gevonden", "Deze persoon staat niet in de BRP.")
            return {"status": "in behandeling", "geboortedatum": p.get("geboortedatum"), "testgegevens": True}

        @api.post("/huishoudens")
        async def huishouden(body: HuishoudenIn, request: Request) -> dict[str, Any]:
            """A household's application: one BRP call about several people, one record per person."""
            trace, incoming = _trace(request)
            r, _span, txid = await caller.call(
                "personen",
                "POST",
                "/v1/personen/_zoek",
                trace,
                {"burgerservicenummers": body.burgerservicenummers},
            )
            request.state.fsc_transaction_id = txid
            if r.status_code != 200:
                raise _upstream_error(r, "Personen")
            await _log(
                logboek,
                "aanvraag beoordelen",
                activities["uitkering"],
                body.burgerservicenummers,
                trace,
                cfg.upstreams["personen"],
                txid,
                incoming,
            )
            return {
                "status": "in behandeling",
                "gevonden": len(r.json().get("personen", [])),
                "testgegevens": True,
            }

        @api.post("/fraudeonderzoeken")
        async def fraude(body: BsnIn, request: Request) -> dict[str, Any]:
            p = await persoon_logged(request, body.burgerservicenummer, "onderzoek", "fraudeonderzoek")
            return {"status": "onderzoek gestart" if p else "persoon onbekend", "testgegevens": True}

        return api

    if cfg.kind == "saas":
        api = with_traceresponse(
            make_api("Parkeervergunningen (SaaS namens gemeente, DigiLab)", "1.0.0", "Vergunningen verlenen.")
        )

        @api.post("/parkeervergunningen")
        async def vergunning(body: BsnIn, request: Request) -> dict[str, Any]:
            p = await persoon_logged(
                request, body.burgerservicenummer, "vergunning verlenen", "parkeervergunning"
            )
            if not p:
                raise Problem(404, "Niet gevonden", "Deze persoon staat niet in de BRP.")
            return {"status": "verleend", "adres": p.get("verblijfplaats"), "testgegevens": True}

        return api
    raise ValueError(f"unknown consumer kind {cfg.kind!r}")
