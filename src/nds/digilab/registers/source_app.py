"""The synthetic base registers as real APIs (NL API Design Rules) that log every processing (LDV).

- BRP-like ``personen``: ``POST /personen/_zoek`` with ``{"burgerservicenummers": [...]}`` (a BSN never
  goes in a URL). One LDV record per person asked about, written durably *before* the answer.
- BAG-like ``adressen``: ``GET /adressen/{id}`` and ``POST /adressen/_zoek``. Addresses alone are not
  personal data, so no LDV record.
- HR-like ``ondernemingen``: ``POST /ondernemingen/_zoek`` with ``{"kvkNummer": ...}``; the owner of a
  one-person business is a data subject, so one LDV record for the owner.

Every call arriving through the Inway carries ``Fsc-Authorization`` (the verified access token; the
caller's peer ID is its ``sub``), ``Fsc-Transaction-Id`` and usually a W3C ``traceparent``: the trace is
continued and the caller's operation becomes ``foreign_operation``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from nds.api import Problem, make_api
from nds.digilab.registers.data import Dataset
from nds.fsc.jose import JoseError, peek_payload
from nds.logboek.model import DataSubject, ForeignOperation, Processing, StatusCode, TraceParent, new_trace_id
from nds.logboek.store import Logboek

Bsn = Annotated[str, Field(pattern=r"^[0-9]{9}$")]


class PersonenZoek(BaseModel):
    model_config = ConfigDict(extra="forbid")
    burgerservicenummers: list[Bsn] = Field(min_length=1, max_length=100)


class AdresZoek(BaseModel):
    model_config = ConfigDict(extra="forbid")
    postcode: str = Field(pattern=r"^[1-9][0-9]{3} ?[A-Z]{2}$")
    huisnummer: int = Field(ge=1, le=99999)


class OndernemingZoek(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kvkNummer: str = Field(pattern=r"^[0-9]{8}$")


PEER_ENTITY = "urn:nds:fsc:peer:"


def is_peer_entity(entity: str) -> bool:
    """Whether a foreign operation's entity is another organisation of the federation (a record made
    for it is a chain record, see ``nds.logboek.read_api``), not an application's own client."""
    return entity.startswith(PEER_ENTITY)


def caller_entity(request: Request) -> str:
    """The calling organisation, from the FSC access token the Inway verified (never trusted blindly
    elsewhere: the source is only reachable through its Inway)."""
    token = request.headers.get("fsc-authorization", "")
    try:
        payload = peek_payload(token.removeprefix("Bearer ").strip()) if token else {}
    except JoseError:
        payload = {}
    act = payload.get("act") if isinstance(payload.get("act"), dict) else None
    sub = str(payload.get("sub", "onbekend"))
    return f"{PEER_ENTITY}{sub}" + (f":namens:{act['sub']}" if act and act.get("sub") else "")


async def log_processing(
    request: Request,
    logboek: Logboek,
    name: str,
    activity_uri: str,
    bsns: list[str],
    status: StatusCode = StatusCode.UNSET,
) -> None:
    tp = TraceParent.parse(request.headers.get("traceparent"))
    await logboek.awrite(
        Processing(
            name,
            activity_uri,
            tuple(DataSubject(b) for b in bsns),
            tp.trace_id if tp else new_trace_id(),
            status=status,
            foreign_operation=ForeignOperation(tp.trace_id, tp.parent_id, caller_entity(request))
            if tp
            else None,
            fsc_transaction_id=request.headers.get("fsc-transaction-id"),
            resource={"service": request.url.path.split("/")[1] if "/" in request.url.path else ""},
        )
    )


def create_source_api(kind: str, data: Dataset, logboek: Logboek, activity_uri: str | None) -> FastAPI:
    if kind == "brp":
        api = make_api("Personen (BRP-achtig, DigiLab)", "1.0.0", "Synthetische basisregistratie personen.")
        assert activity_uri is not None

        @api.post("/personen/_zoek")
        async def personen(body: PersonenZoek, request: Request) -> dict[str, Any]:
            found = [data.persons[b].to_json() for b in body.burgerservicenummers if b in data.persons]
            await log_processing(
                request, logboek, "personen verstrekken", activity_uri, body.burgerservicenummers
            )
            return {"personen": found}

        return api
    if kind == "bag":
        api = make_api("Adressen (BAG-achtig, DigiLab)", "1.0.0", "Synthetische basisregistratie adressen.")

        @api.get("/adressen/{identificatie}")
        async def adres(identificatie: str) -> dict[str, Any]:
            a = data.addresses.get(identificatie)
            if a is None:
                raise Problem(404, "Niet gevonden", "Dit adres bestaat niet.")
            return a.to_json()

        @api.post("/adressen/_zoek")
        async def adres_zoek(body: AdresZoek) -> dict[str, Any]:
            pc = body.postcode.replace(" ", "")
            hits = [
                a.to_json()
                for a in data.addresses.values()
                if a.postcode.replace(" ", "") == pc and a.number == body.huisnummer
            ]
            return {"adressen": hits}

        return api
    if kind == "hr":
        api = make_api("Ondernemingen (HR-achtig, DigiLab)", "1.0.0", "Synthetisch handelsregister.")
        assert activity_uri is not None

        @api.post("/ondernemingen/_zoek")
        async def onderneming(body: OndernemingZoek, request: Request) -> dict[str, Any]:
            c = data.companies.get(body.kvkNummer)
            if c is None:
                raise Problem(404, "Niet gevonden", "Deze onderneming bestaat niet.")
            await log_processing(request, logboek, "onderneming verstrekken", activity_uri, [c.owner_bsn])
            return c.to_json()

        return api
    raise ValueError(f"unknown register kind {kind!r}")
