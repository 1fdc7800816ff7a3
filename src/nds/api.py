"""NL API Design Rules plumbing for the platform's own FastAPI APIs.

- ``/core/error-handling-problem-details``: every 4xx/5xx is ``application/problem+json``
  (RFC 9457) with ``type``, ``title``, ``status``, ``detail`` (and ``invalidParams`` for input errors).
- ``/core/error-handling-invalid-input``: invalid input is 400, never FastAPI's default 422,
  and all errors are reported together.
- ``/core/version-header``: every response carries ``API-Version``.
- ``/core/publish-openapi``: the OpenAPI document is at ``<base>/openapi.json``, unauthenticated,
  with ``Access-Control-Allow-Origin: *``.
- ``/core/no-trailing-slash``: paths are declared without trailing slash; FastAPI's redirect is off.

FSC endpoints do not use this module: FSC prescribes its own error format and codes.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """Raise to answer with a problem+json document."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int, title: str, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


_TITLES = {
    400: "Ongeldige invoer",
    401: "Niet geauthenticeerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegestaan",
    406: "Niet acceptabel",
    409: "Conflict",
    413: "Verzoek te groot",
    415: "Mediatype niet ondersteund",
    429: "Te veel verzoeken",
    500: "Interne fout",
    502: "Bron niet bereikbaar",
    503: "Dienst niet beschikbaar",
}


SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"strict-transport-security", b"max-age=31536000"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)


class ApiVersionMiddleware:
    """Adds ``API-Version`` and the API security headers to every response (pure ASGI, streaming-safe)."""

    def __init__(self, app: ASGIApp, version: str) -> None:
        self.app = app
        self.version = version.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.append((b"api-version", self.version))
                # /core/transport/security-headers: the headers every API response should carry
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_header)


def install_api_rules(app: FastAPI, version: str) -> None:
    """Make a FastAPI (sub)application follow the NL API Design Rules."""

    @app.exception_handler(Problem)
    async def _problem(_req: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        params = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            params.append(
                {
                    "name": ".".join(loc) or "body",
                    "code": err.get("type", "invalid"),
                    "reason": err.get("msg", "ongeldig"),
                }
            )
        return problem_response(
            400, _TITLES[400], "De invoer voldoet niet aan het schema.", invalidParams=params
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 422:
            status = 400
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            status, _TITLES.get(status, "Fout"), detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__)  # never the message: it may hold input
        return problem_response(500, _TITLES[500], "Er ging iets mis aan onze kant.")

    app.add_middleware(ApiVersionMiddleware, version=version)


def make_api(
    title: str,
    version: str,
    description: str = "",
    contact_email: str = "nds@example.org",
    base_path: str | None = None,
) -> FastAPI:
    """A FastAPI app for mounting under ``base_path`` (default ``/v{major}``): its OpenAPI 3.0 document is
    at ``<base_path>/openapi.json`` with CORS ``*`` and passes the API Design Rules (see ``openapi30``)."""
    from nds.openapi30 import to_oas30

    api = FastAPI(
        title=title,
        version=version,
        description=description or title,
        contact={"name": "nds", "email": contact_email, "url": "https://github.com/nds"},
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    install_api_rules(api, version)
    servers_base = base_path or f"/v{version.split('.', 1)[0]}"
    cached: dict[str, Any] = {}

    def openapi_doc() -> dict[str, Any]:
        if "doc" not in cached:
            cached["doc"] = to_oas30(FastAPI.openapi(api), servers_base)
        return cached["doc"]

    api.openapi = openapi_doc  # type: ignore[method-assign]

    @api.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(openapi_doc(), headers={"Access-Control-Allow-Origin": "*"})

    return api


def api_router(**kwargs: Any) -> APIRouter:
    return APIRouter(**kwargs)
