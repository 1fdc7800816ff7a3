"""HTTP transport for the citizen view: each organisation's read API and register over httpx.

``route`` decides how a URL is reached: directly, or — in a federation — through the citizen-view
organisation's own Outway with the grant for that organisation's read-API service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from nds.inzage.view import Source

MAX_PAGES = 50

Route = Callable[[str], tuple[str, dict[str, str]]]


def direct(url: str) -> tuple[str, dict[str, str]]:
    return url, {}


class HttpTransport:
    def __init__(
        self,
        client: httpx.AsyncClient,
        assertion_for: Callable[[Source], Awaitable[str]],
        route: Route = direct,
    ) -> None:
        self.client = client
        self.assertion_for = assertion_for
        self.route = route

    async def read(self, source: Source, body: dict[str, Any]) -> list[dict[str, Any]]:
        url, headers = self.route(source.read_api.rstrip("/") + "/processing-activities")
        headers = {**headers, "Authorization": "Bearer " + await self.assertion_for(source)}
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page_body = {**body, "pageSize": 1000, **({"cursor": cursor} if cursor else {})}
            r = await self.client.post(url, json=page_body, headers=headers)
            r.raise_for_status()
            data = r.json()
            out += data.get("processingActivities", [])
            cursor = data.get("next")
            if not cursor:
                break
        return out

    async def activity(self, uri: str) -> dict[str, Any] | None:
        url, headers = self.route(uri)
        r = await self.client.get(url, headers=headers)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data
