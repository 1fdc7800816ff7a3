"""The one web app: server-rendered Dutch pages plus each component's ``/v1`` API."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape

from nds import __version__
from nds.components import COMPONENTS, optional_module
from nds.settings import Settings

HERE = Path(__file__).parent


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_templates() -> Jinja2Templates:
    loaders: list[Any] = [FileSystemLoader(str(HERE / "templates"))]
    for comp in COMPONENTS:
        if optional_module(comp.package, "web") is not None:
            pkg_templates = HERE.parent / comp.package / "templates"
            if pkg_templates.is_dir():
                loaders.append(PackageLoader(f"nds.{comp.package}", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True, default_for_string=True)
    )
    return Jinja2Templates(env=env)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.demo_mode and not _is_loopback(settings.web_host):
        raise ValueError("demo mode (simulated DigiD) is only allowed on a loopback address")
    app = FastAPI(title="nds", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.nav = []
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        return response

    for comp in COMPONENTS:
        mod = optional_module(comp.package, "web")
        if mod is not None:
            mod.register(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> HTMLResponse:
        return render(request, "home.html", {})

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page with the shared layout context (navigation, demo banner)."""
    app = request.app
    ctx = {
        "request": request,
        "nav": app.state.nav,
        "demo_mode": app.state.settings.demo_mode,
        "version": __version__,
        **context,
    }
    return app.state.templates.TemplateResponse(request, template, ctx, status_code=status_code)


def add_nav(app: FastAPI, href: str, label: str) -> None:
    """Components call this from ``register`` to appear in the main navigation."""
    app.state.nav.append({"href": href, "label": label})
