"""Access tokens for the Outway: fetched from the providing peer's Manager, cached per grant.

The Outway asks ``POST {manager}/v1/token`` (OAuth 2.0 client credentials, RFC 6749 §4.4) over mTLS
with its own certificate, ``scope`` = grant hash, ``client_id`` = its peer ID (fsc-core §Obtaining
access tokens). The token is cached; from ``token_refresh_seconds`` (at most a quarter of its
lifetime) before it expires a new one is fetched in the background while the cached one is still
used, so a Manager hiccup does not interrupt traffic. Concurrent requests share one fetch. A token
the Inway calls invalid or expired is dropped.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from nds.fsc.jose import JoseError, peek_payload


class TokenUnavailable(Exception):
    """No usable token: ``status``/``code`` are the Outway's answer to its client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CachedToken:
    token: str
    claims: dict[str, Any]
    exp: int
    aud: str


class TokenCache:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        peer_id: str,
        group_id: str,
        refresh_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self.peer_id = peer_id
        self.group_id = group_id
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._tokens: dict[str, CachedToken] = {}
        self._inflight: dict[str, asyncio.Task[CachedToken]] = {}
        self.fetches = 0

    def drop(self, grant_hash: str, token: str) -> None:
        cur = self._tokens.get(grant_hash)
        if cur is not None and cur.token == token:
            del self._tokens[grant_hash]

    async def get(self, grant_hash: str, manager_address: str) -> CachedToken:
        cur = self._tokens.get(grant_hash)
        now = self._clock()
        if cur is not None and now < cur.exp - 1:
            lifetime = max(1, cur.exp - int(cur.claims.get("nbf", cur.exp)))
            margin = min(self.refresh_seconds, lifetime // 4)
            if now >= cur.exp - margin:
                self._fetch_task(grant_hash, manager_address)  # refresh in the background
            return cur
        return await asyncio.shield(self._fetch_task(grant_hash, manager_address))

    def _fetch_task(self, grant_hash: str, manager_address: str) -> asyncio.Task[CachedToken]:
        """The one fetch in flight for a grant. It runs as its own task: a client that goes away does
        not cancel it for the others, and a background refresh that fails leaves the cached token."""
        task = self._inflight.get(grant_hash)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch_and_store(grant_hash, manager_address))
            self._inflight[grant_hash] = task
            task.add_done_callback(lambda t: self._done(grant_hash, t))
        return task

    def _done(self, grant_hash: str, task: asyncio.Task[CachedToken]) -> None:
        if self._inflight.get(grant_hash) is task:
            del self._inflight[grant_hash]
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not reported as lost

    async def _fetch_and_store(self, grant_hash: str, manager_address: str) -> CachedToken:
        tok = await self._fetch(grant_hash, manager_address)
        self._tokens[grant_hash] = tok
        return tok

    async def _fetch(self, grant_hash: str, manager_address: str) -> CachedToken:
        self.fetches += 1
        form = {"grant_type": "client_credentials", "scope": grant_hash, "client_id": self.peer_id}
        url = f"{manager_address}/v1/token"
        try:
            async with self._session.post(
                url,
                data=urlencode(form).encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TokenUnavailable(
                502,
                "ERROR_CODE_MANAGER_UNREACHABLE",
                f"cannot reach the providing peer's Manager ({manager_address}): {exc.__class__.__name__}",
            ) from None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if status != 200:
            err = data.get("error") if isinstance(data, dict) else None
            desc = data.get("error_description") if isinstance(data, dict) else None
            if isinstance(err, str):
                detail = f"{err}: {desc}" if isinstance(desc, str) and desc else err
                raise TokenUnavailable(
                    403,
                    "ERROR_CODE_ACCESS_TOKEN_REFUSED",
                    f"the providing peer's Manager refused an access token ({detail[:300]})",
                )
            raise TokenUnavailable(
                502, "ERROR_CODE_MANAGER_UNREACHABLE", f"the providing peer's Manager answered HTTP {status}"
            )
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenUnavailable(502, "ERROR_CODE_INVALID_ACCESS_TOKEN", "the Manager sent no access token")
        try:
            claims = peek_payload(token)
        except JoseError:
            raise TokenUnavailable(
                502, "ERROR_CODE_INVALID_ACCESS_TOKEN", "the Manager sent an undecodable access token"
            ) from None
        return self.check(token, claims, grant_hash)

    def check(self, token: str, claims: dict[str, Any], grant_hash: str) -> CachedToken:
        """The Outway's own checks of a fresh token (fsc-core §Outway Routing)."""
        if claims.get("gid") != self.group_id:
            raise TokenUnavailable(
                502,
                "ERROR_CODE_WRONG_GROUP_ID_IN_TOKEN",
                "the access token's Group ID (gid) does not match this Outway's Group",
            )
        if claims.get("gth") != grant_hash:
            raise TokenUnavailable(
                502, "ERROR_CODE_INVALID_ACCESS_TOKEN", "the access token is for another grant"
            )
        aud = claims.get("aud")
        parts = urlsplit(aud) if isinstance(aud, str) else None
        if parts is None or parts.scheme != "https" or not parts.hostname:
            raise TokenUnavailable(
                502, "ERROR_CODE_INVALID_ACCESS_TOKEN", "the access token's aud is not an https Inway URL"
            )
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= self._clock():
            raise TokenUnavailable(
                502, "ERROR_CODE_INVALID_ACCESS_TOKEN", "the access token is already expired"
            )
        return CachedToken(token=token, claims=claims, exp=exp, aud=str(aud).rstrip("/"))
