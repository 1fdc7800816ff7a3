"""``/standards/v1``: the rounds and reports as a JSON API that follows the API Design Rules.

Built with ``nds.api.make_api`` and completed where that plumbing stops short of ADR 2.2.0 (checked by
our own ``nds check api``, see tests/standards/web_ui/test_standards_api_v1.py): the document lists the
server, declares the ``API-Version`` header and the problem responses, and every response carries the
API security headers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

from nds.api import Problem, make_api

VERSION = "1.0.0"
BASE = "/standards/v1"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Access-Control-Allow-Origin": "*",
    "Strict-Transport-Security": "max-age=31536000",
}


class Ronde(BaseModel):
    id: int
    naam: str
    tlsProfiel: str
    gestart: str
    klaar: str | None


class Aandeel(BaseModel):
    voldoet: int
    voldoetNiet: int
    uitgelegd: int
    nietGemeten: int
    nietVanToepassing: int
    percentage: float | None


class Rapport(BaseModel):
    ronde: Ronde
    vorigeRonde: int | None
    totaal: dict[str, Aandeel]
    perType: dict[str, dict[str, Aandeel]]
    perOrganisatie: dict[str, dict[str, Aandeel]]
    trend: dict[str, float | None]


def _ronde(r: Any) -> Ronde:
    return Ronde(
        id=r.id,
        naam=r.name,
        tlsProfiel=r.profile,
        gestart=r.started_at.isoformat(),
        klaar=r.finished_at.isoformat() if r.finished_at else None,
    )


def _aandeel(s: Any) -> Aandeel:
    return Aandeel(
        voldoet=s.passed,
        voldoetNiet=s.failed,
        uitgelegd=s.explained,
        nietGemeten=s.not_measured,
        nietVanToepassing=s.excluded,
        percentage=None if s.pct is None else round(s.pct, 1),
    )


def make_standards_api(engine_of: Any) -> FastAPI:
    """``engine_of(request)`` gives the store's engine (opened lazily by the web app)."""
    from nds.standards import report, store

    api = make_api("Standaarden", VERSION, "Meetrondes en rapportages van de verplichte open standaarden.")

    @api.get("/rondes", operation_id="listRondes", tags=["rondes"], response_model=list[Ronde])
    async def rondes(request: Request) -> list[Ronde]:
        return [_ronde(r) for r in store.list_rounds(engine_of(request))]

    @api.get("/rondes/{rondeId}", operation_id="getRapport", tags=["rondes"], response_model=Rapport)
    async def rapport(request: Request, rondeId: int) -> Rapport:
        engine = engine_of(request)
        rnd = store.get_round(engine, rondeId)
        if rnd is None:
            raise Problem(404, "Niet gevonden", f"Ronde {rondeId} bestaat niet.")
        s = report.summarise(engine, rondeId)
        prev = report.previous_round_id(engine, rondeId)
        trend = report.trend(s, report.summarise(engine, prev) if prev is not None else None)
        return Rapport(
            ronde=_ronde(rnd),
            vorigeRonde=prev,
            trend=trend,
            totaal={k: _aandeel(v) for k, v in s.overall.items()},
            perType={t: {k: _aandeel(v) for k, v in g.items()} for t, g in s.by_type.items()},
            perOrganisatie={o: {k: _aandeel(v) for k, v in g.items()} for o, g in s.by_org.items()},
        )

    @api.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        api.openapi_schema = complete_for_adr(generate(), BASE)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


_PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}


def complete_for_adr(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """Add what the ADR asks of the document beyond FastAPI's output (pure)."""
    version_header = {
        "API-Version": {"description": "De volledige versie van de API.", "schema": {"type": "string"}}
    }
    doc["servers"] = [{"url": base}]
    doc["tags"] = [{"name": "rondes", "description": "Meetrondes en hun rapportage."}]
    for item in doc.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's default; nds.api answers invalid input with 400
            for code, resp in responses.items():
                if code.startswith(("2", "3")):
                    resp.setdefault("headers", {}).update(version_header)
            problem = {"application/problem+json": {"schema": _PROBLEM}}
            responses["400"] = {
                "description": "Ongeldige invoer",
                "headers": version_header,
                "content": problem,
            }
            if any(p.get("in") == "path" for p in op.get("parameters", [])):
                responses["404"] = {
                    "description": "Niet gevonden",
                    "headers": version_header,
                    "content": problem,
                }
    doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
    return doc
