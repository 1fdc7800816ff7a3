"""HTTP transport for the citizen view: each organisation's read API and register over httpx.

The read API is spoken as the read extension defines it (``POST …/processing-activities`` with a
``ProcessingActivityRequest`` body, answer ``{"processingActivities": [...]}``); pagination is the
platform's own (``pageSize``/``cursor`` in the body, ``next`` in the answer), which the extension
does not define yet. An answer of another shape counts as an unreachable organisation.

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
            page = data.get("processingActivities") if isinstance(data, dict) else None
            if not isinstance(page, list) or not all(isinstance(p, dict) for p in page):
                raise ValueError(f"{source.name}: the read API's answer has no list processingActivities")
            out += page
            cursor = data.get("next")
            if not cursor:
                break
            if not isinstance(cursor, str):
                raise ValueError(f"{source.name}: the read API's next cursor is not a string")
        return out

    async def activity(self, uri: str) -> dict[str, Any] | None:
        url, headers = self.route(uri)
        r = await self.client.get(url, headers=headers)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data
