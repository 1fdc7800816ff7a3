"""A configurable website (HTTPS + HTTP) on a loopback address, served by aiohttp with Python ``ssl``."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from nds_tls_helpers import Issued, free_port

from nds.standards.net import ConnectTo, NetworkConfig

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
}


def security_txt(host: str, days: int = 180) -> str:
    exp = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"Contact: mailto:security@{host}\nExpires: {exp}\n"


@dataclass
class Site:
    host: str
    cert: Issued
    headers: dict[str, str] = field(default_factory=lambda: dict(GOOD_HEADERS))
    http: str = "redirect"  # redirect | redirect-other | plain | closed
    sectxt: str | None = None  # body at /.well-known/security.txt (None: a valid one)
    sectxt_type: str = "text/plain; charset=utf-8"
    sectxt_redirect: str | None = None  # redirect /.well-known/security.txt there (e.g. a central one)
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20"
    curve: str = "prime256v1"


def _tls(site: Site) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(site.cert.cert, site.cert.key)
    ctx.set_ciphers(site.ciphers + (":@SECLEVEL=0" if site.min_version < ssl.TLSVersion.TLSv1_2 else ""))
    ctx.minimum_version = site.min_version
    ctx.maximum_version = site.max_version
    ctx.set_ecdh_curve(site.curve)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return ctx


@asynccontextmanager
async def serve(site: Site, addr: str, ports: tuple[int, int] | None = None) -> AsyncIterator[NetworkConfig]:
    """Serve ``site`` on ``addr`` (on ``ports`` = (https, http) if given); yields a NetworkConfig
    pinning the host to it."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>Gemeente Voorbeeld</body></html>",
            content_type="text/html",
            headers=site.headers,
        )

    async def sectxt(request: web.Request) -> web.Response:
        if site.sectxt_redirect:
            raise web.HTTPMovedPermanently(site.sectxt_redirect)
        body = site.sectxt if site.sectxt is not None else security_txt(site.host)
        return web.Response(body=body.encode(), headers={"Content-Type": site.sectxt_type})

    async def plain(request: web.Request) -> web.StreamResponse:
        if site.http == "redirect":
            raise web.HTTPMovedPermanently(f"https://{site.host}{request.path_qs}")
        if site.http == "redirect-other":
            raise web.HTTPMovedPermanently(f"https://www.elders.test{request.path_qs}")
        return web.Response(text="plain http")

    tls_app = web.Application()
    tls_app.router.add_get("/", page)
    tls_app.router.add_get("/.well-known/security.txt", sectxt)
    http_app = web.Application()
    http_app.router.add_get("/{tail:.*}", plain)
    https_port, http_port = ports or (free_port(addr), free_port(addr))
    runners = [web.AppRunner(tls_app, access_log=None)]
    if site.http != "closed":
        runners.append(web.AppRunner(http_app, access_log=None))
    try:
        await runners[0].setup()
        await web.TCPSite(runners[0], addr, https_port, ssl_context=_tls(site)).start()
        if len(runners) > 1:
            await runners[1].setup()
            await web.TCPSite(runners[1], addr, http_port).start()
        yield NetworkConfig(
            connect_to=(
                ConnectTo(site.host, 443, addr, https_port),
                ConnectTo(site.host, 80, addr, http_port),
            ),
            ca_file=site.cert.cert.parent / "ca.pem",
            timeout=5.0,
        )
    finally:
        for r in runners:
            await r.cleanup()
