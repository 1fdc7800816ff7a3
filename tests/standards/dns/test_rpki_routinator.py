"""RoutinatorSource against a Routinator-style validity API served on loopback."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from aiohttp import web

from nds.standards.checks.rpki import RoutinatorSource, rpki_subtests
from nds.standards.checks.rpki.origin import Route
from nds.standards.model import Status
from nds.standards.net import NetworkConfig

pytestmark = pytest.mark.integration

STATES = {("64500", "192.0.2.0/24"): "valid", ("64501", "198.51.100.0/24"): "invalid"}


async def _run(routes: list[Route], *, broken: bool = False) -> dict[tuple[str, str], Status]:
    seen: list[str] = []

    async def validity(request: web.Request) -> web.Response:
        asn = request.match_info["asn"].removeprefix("AS")
        prefix = f"{request.match_info['addr']}/{request.match_info['len']}"
        seen.append(f"AS{asn} {prefix}")
        if broken:
            return web.Response(status=503)
        state = STATES.get((asn, prefix), "not-found")
        return web.json_response(
            {
                "validated_route": {
                    "route": {"origin_asn": f"AS{asn}", "prefix": prefix},
                    "validity": {"state": state, "VRPs": {}},
                }
            }
        )

    app = web.Application()
    app.router.add_get("/api/v1/validity/{asn}/{addr}/{len}", validity)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        src = RoutinatorSource(f"http://127.0.0.1:{port}", routes, timeout=5)
        res = await rpki_subtests(
            {"mx": ["192.0.2.25", "198.51.100.25", "203.0.113.25"]}, NetworkConfig(), src, role="mx"
        )
    finally:
        await runner.cleanup()
    assert broken or len(seen) == len(routes)
    return {(r.id, r.target): r.status for r in res}


def test_routinator_states() -> None:
    routes = [
        Route(ipaddress.ip_network("192.0.2.0/24"), 64500),
        Route(ipaddress.ip_network("198.51.100.0/24"), 64501),
        Route(ipaddress.ip_network("203.0.113.0/24"), 64502),
    ]
    got = asyncio.run(_run(routes))
    assert got[("rpki.mx_valid", "mx 192.0.2.25")] is Status.PASSED
    assert got[("rpki.mx_valid", "mx 198.51.100.25")] is Status.FAILED
    assert got[("rpki.mx_exists", "mx 203.0.113.25")] is Status.FAILED
    assert got[("rpki.mx_valid", "mx 203.0.113.25")] is Status.WARNING


def test_routinator_down_is_error_not_failure() -> None:
    got = asyncio.run(_run([Route(ipaddress.ip_network("192.0.2.0/24"), 64500)], broken=True))
    assert set(got.values()) == {Status.ERROR}
