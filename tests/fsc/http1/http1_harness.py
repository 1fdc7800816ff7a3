"""Helpers for the nds.fsc.http1 tests: a scriptable origin server, a raw client, a tiny reverse proxy.

Everything runs in one uvloop event loop on real loopback sockets (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvloop

from nds.fsc.http1 import (
    Http1Server,
    Request,
    Upstream,
    UpstreamError,
    UpstreamPool,
    relay_response,
    upstream_head,
)

T = TypeVar("T")
HOST = "127.0.0.1"


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run ``coro`` on a fresh uvloop loop (as the proxies do), bounded by ``timeout`` seconds."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(bounded())


# -- raw client ------------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    complete: bool = True  # False: the connection ended before the body did

    def get(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


async def read_response(reader: asyncio.StreamReader, *, head: bool = False) -> Response:
    """One response from ``reader`` (interim 1xx responses included as their own)."""
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    version, status, *reason = lines[0].split(" ", 2)
    assert version.startswith("HTTP/1."), lines[0]
    headers = [tuple(x.split(": ", 1)) for x in lines[1:] if x]
    resp = Response(int(status), reason[0] if reason else "", headers, b"")  # type: ignore[arg-type]
    if head or resp.status < 200 or resp.status in (204, 304):
        return resp
    cl = resp.get("Content-Length")
    try:
        if cl is not None:
            resp.body = await reader.readexactly(int(cl))
        elif (resp.get("Transfer-Encoding") or "").lower() == "chunked":
            resp.body = await read_chunked(reader)
        else:
            resp.body = await reader.read()
    except asyncio.IncompleteReadError as exc:
        resp.body = exc.partial
        resp.complete = False
    return resp


async def at_eof(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    """True if the peer closes the connection (nothing more to read) within ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            rest = await reader.read()
    except (TimeoutError, ConnectionError):
        return False
    return rest == b""


@contextlib.asynccontextmanager
async def connect(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


# -- a scriptable origin ----------------------------------------------------------------------------
OriginHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Origin"], Awaitable[None]]


@dataclass
class Origin:
    """An origin server on loopback; ``handler`` gets each accepted connection."""

    handler: OriginHandler
    connections: int = 0
    requests: list[tuple[str, list[tuple[str, str]], bytes]] = field(default_factory=list)
    sent: int = 0  # body bytes written (and drained) by streaming handlers
    server: asyncio.Server | None = None

    async def start(self) -> int:
        async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(r, w, self)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                w.close()

        self.server = await asyncio.start_server(on_conn, HOST, 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """One request (Content-Length or chunked body) from a raw connection; None at EOF."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = raw.decode("latin-1").split("\r\n")
    headers = [tuple(x.split(": ", 1)) for x in lines[1:] if x]
    hd = {k.lower(): v for k, v in headers}
    body = b""
    if "content-length" in hd:
        body = await reader.readexactly(int(hd["content-length"]))
    elif hd.get("transfer-encoding", "").lower() == "chunked":
        body = await read_chunked(reader)
    return lines[0], headers, body  # type: ignore[return-value]


def keepalive_origin(body: bytes = b"hello", extra: bytes = b"") -> Origin:
    """Answers every request on a connection with 200 and ``body`` (Content-Length), keep-alive."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        while (req := await read_request(r)) is not None:
            o.requests.append(req)
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n" % (len(body), extra))
            if not req[0].startswith("HEAD "):
                w.write(body)
            await w.drain()

    return Origin(handler)


# -- a tiny reverse proxy on the layer under test ---------------------------------------------------
@dataclass
class Proxy:
    server: Http1Server
    pool: UpstreamPool
    port: int


@contextlib.asynccontextmanager
async def proxy_to(
    origin_port: int,
    *,
    timeout: float = 10.0,
    extra: bytes = b"Via: 1.1 test\r\n",
    drop: frozenset[bytes] = frozenset(),
    **server_kw: Any,
) -> AsyncIterator[Proxy]:
    up = Upstream.from_url(f"http://{HOST}:{origin_port}")
    pool = UpstreamPool()

    async def handle(req: Request) -> None:
        head = upstream_head(req, up, req.origin_form, req.forward_fields())
        try:
            resp = await pool.request(up.host, up.port, head, req.body, method=req.method, timeout=timeout)
        except UpstreamError as exc:
            req.respond(504 if exc.timeout else 502, b"", str(exc).encode(), content_type=b"text/plain")
            return
        await relay_response(req, resp, extra, drop)

    server = Http1Server(handle, **server_kw)
    await server.listen(HOST, 0)
    try:
        yield Proxy(server, pool, server.ports[0])
    finally:
        await server.close(grace=1.0)
        await pool.close()


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked message body (RFC 9112 §7.1), chunk extensions ignored, trailer section skipped."""
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
