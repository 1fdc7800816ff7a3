"""``/standards/v1``: the rounds and reports as a JSON API that follows the API Design Rules.

Built with ``nds.api.make_api`` (OpenAPI 3.0.3 document, API-Version, problem details) plus the API
security headers on every response; checked with our own ``nds check api`` under ADR 2.1.0 and 2.2.0
(tests/standards/web_ui/test_standards_api_v1.py).
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

    api = make_api(
        "Standaarden",
        VERSION,
        "Meetrondes en rapportages van de verplichte open standaarden.",
        base_path=BASE,
    )

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

    return api
