"""Loopback web servers and a small real web check for round tests (the round engine is under test)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from api_servers import serve_aiohttp  # noqa: F401  (re-exported for the tests)

from nds.standards.model import SUBTESTS, Report, Status, Subtest, TestResult
from nds.standards.net import NetworkConfig

SUBTESTS.declare(Subtest("roundtest.http", "HTTP (rondetest)", Status.FAILED, "HTTP", "test"))
SUBTESTS.declare(Subtest("roundtest.hsts", "HSTS (rondetest)", Status.FAILED, "HSTS", "test"))
SUBTESTS.declare(Subtest("roundtest.mail", "Mail (rondetest)", Status.FAILED, "Mail", "test"))


def site(hsts: bool, delay: float = 0.0) -> web.Application:
    async def index(_r: web.Request) -> web.Response:
        if delay:
            await asyncio.sleep(delay)
        return web.Response(
            text="ok", headers={"Strict-Transport-Security": "max-age=31536000"} if hsts else {}
        )

    app = web.Application()
    app.router.add_get("/", index)
    return app


class WebCheck:
    """A real (small) web check: GET http://host/ through the round's connect-to routes."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: set[str] = set()

    async def __call__(self, host: str, net: NetworkConfig, profile: str, counter: Any = None) -> Report:
        self.calls.append(host)
        if host in self.fail:
            raise ConnectionError("simulated outage")
        addr, port = net.route(host, 80) or (host, 80)
        async with aiohttp.ClientSession() as s, s.get(f"http://{addr}:{port}/", headers={"Host": host}) as r:
            hsts = "strict-transport-security" in r.headers
            ok = r.status == 200
        tests = [
            TestResult("roundtest.http", Status.PASSED if ok else Status.FAILED, f"HTTP {r.status}", "test"),
            TestResult("roundtest.hsts", Status.PASSED if hsts else Status.FAILED, "HSTS", "test"),
        ]
        legal = Status.PASSED if ok and hsts else Status.FAILED
        tests.append(TestResult("legal.https_hsts", legal, "Besluit beveiligde verbinding", "Stb. 2023, 179"))
        return Report(host, profile, tests)


async def mail_check(domain: str, net: NetworkConfig, profile: str) -> Report:
    status = Status.NOT_APPLICABLE if domain.startswith("nomail") else Status.PASSED
    return Report(domain, profile, [TestResult("roundtest.mail", status, "mail", "test")])


SUBTESTS.declare(
    Subtest("legal.https_hsts", "Wettelijk (rondetest)", Status.INFO, "Wettelijk", "Stb. 2023, 179")
)
