"""The grants an Outway may use, and where it learns them.

:class:`GrantBook` answers "may this Outway use grant hash X, and whose Manager issues its tokens?"
from three sources, in this order: ``[grants."<hash>"]`` in the config, the optional ``grants_file``
(JSON, re-read on change; the DigiLab writes one), and optionally the organisation's own Manager
(:class:`ManagerGrants`, ``GET /v1/internal/outway/grants``, an nds extension — see docs/fsc/dataplane.md
and docs/fsc/manager.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from pathlib import Path

import httpx

from nds.fsc.grouprules import GroupRules
from nds.fsc.outway.config import GrantConfig
from nds.pki import PeerIdentityError, peer_certificate_from_ssl_object, peer_identity

log = logging.getLogger("nds.fsc.outway")
MISS_WAIT_SECONDS = 1.0  # how long a request with an unknown grant hash waits for the Manager
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # ~50k grants; a larger answer is refused, the last view kept


class ManagerGrants:
    """The grants the organisation's own Manager lists for this Outway's key (nds extension).

    ``GET {manager}/v1/internal/outway/grants`` over mTLS with the Outway certificate; the Manager's
    certificate must carry this Outway's own Peer ID. Refreshed every ``interval`` seconds and, at most
    once per ``miss_interval``, at once when a client names a grant hash nobody knows (single flight:
    one request in flight at a time). Each good answer replaces the view (grants the Manager no longer
    lists are dropped); while the Manager cannot be reached or answers badly the last good view stays,
    and the failure is logged once when it starts and once when it ends, never per request.
    """

    PATH = "/v1/internal/outway/grants"

    def __init__(
        self,
        address: str,
        ssl_ctx: ssl.SSLContext,
        rules: GroupRules,
        own_peer_id: str,
        *,
        interval: float = 5.0,
        miss_interval: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        self.address = address
        self.url = address + self.PATH
        self._ssl = ssl_ctx
        self._rules = rules
        self._peer_id = own_peer_id
        self.interval = interval
        self.miss_interval = miss_interval
        self.timeout = timeout
        self.grants: dict[str, GrantConfig] = {}
        self.fetches = 0  # requests sent to the Manager (for tests and diagnostics)
        self.last_ok: float | None = None  # monotonic time of the last good answer
        self._failing: str | None = None  # the current failure, logged once
        self._etag: str | None = None
        self._last_miss = -1e18
        self._inflight: asyncio.Task[bool] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self, first_fetch_timeout: float = 5.0) -> None:
        """Fetch once (bounded: an unreachable Manager does not keep the Outway from starting), then
        keep refreshing in the background."""
        self._client = httpx.AsyncClient(
            verify=self._ssl,
            timeout=self.timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=1, keepalive_expiry=60),
            headers={"User-Agent": "nds-fsc-outway"},
        )
        with contextlib.suppress(Exception):  # including TimeoutError: logged by _fetch, retried
            await asyncio.wait_for(asyncio.shield(self.refresh()), first_fetch_timeout)
        self._loop_task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        for task in (self._loop_task, self._inflight):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.shield(self.refresh())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not end the refreshing for good
                self._failed(f"refresh failed ({type(exc).__name__}: {str(exc)[:200]})")

    def refresh(self) -> asyncio.Task[bool]:
        """The fetch in flight, or a new one (True when it brought a good answer)."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._fetch())
        return self._inflight

    def on_miss(self) -> asyncio.Task[bool] | None:
        """A client named an unknown grant: fetch now unless that was done less than miss_interval ago."""
        if self._client is None:  # not started (or stopped): nothing to fetch with
            return None
        if self._inflight is not None and not self._inflight.done():
            return self._inflight
        now = time.monotonic()
        if now - self._last_miss < self.miss_interval:
            return None
        self._last_miss = now
        return self.refresh()

    def _failed(self, why: str) -> bool:
        if self._failing is None:
            kept = len(self.grants)
            log.warning(
                "own Manager %s: %s; serving the last known %d grant(s) from it until it answers",
                self.address,
                why,
                kept,
            )
        self._failing = why
        return False

    def _manager_peer_ok(self, resp: httpx.Response) -> bool:
        stream = resp.extensions.get("network_stream")
        cert = peer_certificate_from_ssl_object(stream.get_extra_info("ssl_object") if stream else None)
        if cert is None:
            return False
        try:
            return peer_identity(cert, self._rules).peer_id == self._peer_id
        except PeerIdentityError:
            return False

    async def _fetch(self) -> bool:
        assert self._client is not None
        self.fetches += 1
        headers = {"Accept": "application/json"}
        if self._etag:
            headers["If-None-Match"] = self._etag
        try:
            async with self._client.stream("GET", self.url, headers=headers) as resp:
                # Checked while the connection is open: only our own organisation's Manager is believed.
                if not self._manager_peer_ok(resp):
                    return self._failed("its certificate does not carry this Outway's peer ID")
                if resp.status_code == 304:
                    return self._succeeded(None, self._etag)
                if resp.status_code != 200:
                    code = resp.headers.get("Fsc-Error-Code", "")
                    return self._failed(f"answered HTTP {resp.status_code} {code}".rstrip())
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        return self._failed(f"sent more than {MAX_ANSWER_BYTES} bytes")
                    chunks.append(chunk)
                etag = resp.headers.get("ETag")
        except (httpx.HTTPError, OSError) as exc:
            return self._failed(f"unreachable ({type(exc).__name__}: {str(exc)[:200]})")
        try:
            grants = self._parse(b"".join(chunks))
        except ValueError as exc:
            return self._failed(f"sent an unusable answer ({str(exc)[:200]})")
        return self._succeeded(grants, etag)

    def _succeeded(self, grants: dict[str, GrantConfig] | None, etag: str | None) -> bool:
        if grants is not None:
            self.grants = grants
            self._etag = etag
        self.last_ok = time.monotonic()
        if self._failing is not None:
            log.warning("own Manager %s answers again (%d grants)", self.address, len(self.grants))
            self._failing = None
        return True

    @staticmethod
    def _parse(raw: bytes) -> dict[str, GrantConfig]:
        body = json.loads(raw)
        if not isinstance(body, dict) or not isinstance(body.get("grants"), list):
            raise ValueError("no 'grants' list")
        out: dict[str, GrantConfig] = {}
        for item in body["grants"]:
            try:
                svc = item["service"]
                gh = item["grant_hash"]
                if not isinstance(gh, str) or not gh:
                    raise TypeError
                out[gh] = GrantConfig(manager_address=svc["manager_address"], service_name=svc.get("name"))
            except (KeyError, TypeError, AttributeError, ValueError):
                continue  # one malformed entry does not cost the others
        return out


class GrantBook:
    """The grants this Outway may use: from the config, an optional JSON file re-read on change, and
    optionally the organisation's own Manager (:class:`ManagerGrants`). A hash is looked up in that
    order; each source keeps its own view, so a grant the Manager stops listing is dropped from the
    Manager's view only (a grant pinned in the config or the file stays)."""

    def __init__(
        self, static: dict[str, GrantConfig], path: Path | None, manager: ManagerGrants | None = None
    ) -> None:
        self._static = dict(static)
        self._path = path
        self._mtime: float | None = None
        self._from_file: dict[str, GrantConfig] = {}
        self._checked = -1.0
        self.manager = manager

    async def start(self) -> None:
        if self.manager is not None:
            await self.manager.start()

    async def stop(self) -> None:
        if self.manager is not None:
            await self.manager.stop()

    def _reload(self, *, force: bool = False) -> None:
        if self._path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < 0.5:  # at most two stat() calls a second
            return
        self._checked = now
        try:
            mtime = self._path.stat().st_mtime
        except OSError:
            self._from_file = {}
            return
        if mtime == self._mtime:
            return
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            self._from_file = {h: GrantConfig.model_validate(v) for h, v in raw.items()}
            self._mtime = mtime
        except (OSError, ValueError, AttributeError):
            pass  # keep the previous view; a half-written file is retried on the next lookup

    def _known(self, grant_hash: str) -> GrantConfig | None:
        """The sources' current views, in order (the file re-read at most twice a second)."""
        found = self._static.get(grant_hash)
        if found is None and self._path is not None:
            self._reload()  # changed or withdrawn grants are seen within half a second
            found = self._from_file.get(grant_hash)
        if found is None and self.manager is not None:
            found = self.manager.grants.get(grant_hash)
        return found

    def _missed(self, grant_hash: str) -> GrantConfig | None:
        """Nobody knows the hash: look at the file again at once (a grant added just now; one stat()
        per miss, never for a grant some source knows)."""
        if self._path is not None:
            self._reload(force=True)
            return self._from_file.get(grant_hash)
        return None

    def get(self, grant_hash: str) -> GrantConfig | None:
        """Synchronous lookup. A miss starts a (rate-limited) fetch from the own Manager in the
        background; the request that missed is not held for it (see :meth:`lookup`)."""
        found = self._known(grant_hash)
        if found is None:
            found = self._missed(grant_hash)
        if found is None and self.manager is not None:
            self.manager.on_miss()
        return found

    async def lookup(self, grant_hash: str, wait: float = MISS_WAIT_SECONDS) -> GrantConfig | None:
        """Like :meth:`get`, but a miss waits (at most ``wait`` seconds) for the immediate
        (rate-limited) fetch from the own Manager, so a grant accepted a moment ago is found on the
        first request, and a Manager that does not answer holds a request up only briefly."""
        found = self._known(grant_hash)
        if found is None:
            found = self._missed(grant_hash)
        if found is None and self.manager is not None:
            pending = self.manager.on_miss()
            if pending is not None:
                with contextlib.suppress(Exception):  # including TimeoutError: the fetch goes on
                    await asyncio.wait_for(asyncio.shield(pending), wait)
            found = self.manager.grants.get(grant_hash)
        return found
