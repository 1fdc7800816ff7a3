"""A compliant API (built with nds.api.make_api) and a hand-built non-compliant one (aiohttp)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request

from nds.api import Problem, make_api

VERSION = "1.2.3"
SECURITY = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Access-Control-Allow-Origin": "*",
}


def compliant_app() -> FastAPI:
    """make_api (OpenAPI 3.0.3, API-Version, problem details) plus the API security headers it lacks."""
    api = make_api("Gebouwen", VERSION, "Gebouwen-API voor tests", contact_email="beheer@example.org")

    @api.get("/gebouwen", operation_id="listGebouwen", tags=["gebouwen"])
    async def gebouwen(naamFilter: str | None = None) -> list[dict[str, str]]:
        return [{"naam": "Stadhuis"}]

    @api.get("/gebouwen/{id}", operation_id="getGebouw", tags=["gebouwen"])
    async def gebouw(id: int) -> dict[str, Any]:
        if id != 1:
            raise Problem(404, "Niet gevonden", f"Geen gebouw {id}.")
        return {"naam": "Stadhuis", "bouwjaarDatum": "1900-01-01"}

    @api.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        return {"naam": "Gebouwen"}

    @api.middleware("http")
    async def security(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for k, v in SECURITY.items():
            response.headers.setdefault(k, v)
        return response

    outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    outer.mount("/v1", api)
    return outer


BAD_DOC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Slecht", "version": "1.0"},
    "servers": [{"url": "http://api.test/api"}],
    "paths": {
        "/Gebouwen/": {"get": {"operationId": "a", "responses": {"200": {"description": "OK"}}}},
        "/gebouwen": {"options": {"operationId": "b", "responses": {"200": {"description": "OK"}}}},
    },
}


def bad_app() -> Any:
    """Hand-built: no CORS on openapi.json, wrong API-Version, different openapi.yaml, no security headers."""
    from aiohttp import web

    async def document(_r: web.Request) -> web.Response:
        return web.Response(
            body=json.dumps(BAD_DOC), content_type="application/json", headers={"API-Version": "0.9.0"}
        )

    async def yaml_doc(_r: web.Request) -> web.Response:
        return web.Response(
            text="openapi: 3.0.3\ninfo: {title: Anders, version: '2.0.0'}\npaths: {}\n",
            content_type="application/yaml",
        )

    async def root(_r: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/api/openapi.json", document)
    app.router.add_get("/api/openapi.yaml", yaml_doc)
    app.router.add_get("/api", root)
    return app


def huge_app(size: int) -> Any:
    from aiohttp import web

    async def document(_r: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(_r)
        chunk = b" " * 65536
        sent = 0
        while sent < size:
            await resp.write(chunk)
            sent += len(chunk)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/v1/openapi.json", document)
    return app


def auth_app() -> Any:
    from aiohttp import web

    async def document(_r: web.Request) -> web.Response:
        return web.json_response({"title": "Niet geauthenticeerd", "status": 401}, status=401)

    app = web.Application()
    app.router.add_get("/v1/openapi.json", document)
    return app


def rate_limited_app(limited: int) -> Any:
    """openapi.json answers 429 (Retry-After: 0) to the first ``limited`` requests, then the document."""
    from aiohttp import web

    seen = {"n": 0}

    async def document(_r: web.Request) -> web.Response:
        seen["n"] += 1
        if seen["n"] <= limited:
            return web.Response(status=429, headers={"Retry-After": "0"})
        return web.Response(
            body=json.dumps(BAD_DOC),
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*", "API-Version": "1.0"},
        )

    app = web.Application()
    app.router.add_get("/api/openapi.json", document)
    return app
