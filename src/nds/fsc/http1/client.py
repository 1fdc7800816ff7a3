"""HTTP/1.1 client side: a pool of persistent upstream connections, responses parsed by httptools.

- Persistence (RFC 9112 §9.3): a connection goes back to the pool when its response is complete and
  neither side said ``close``; idle ones are closed after ``idle_timeout``. A request on a reused
  connection that the server closed before sending any response byte is retried once on a new
  connection — only for idempotent methods with a body sent in one piece (RFC 9110 §9.2.2,
  RFC 9112 §9.3.1); everything else reports the failure.
- Framing (RFC 9112 §6.3): no body after HEAD, 1xx, 204, 304; else ``chunked`` or Content-Length
  (up to 64 KiB collected, larger streamed), else the body runs until the server closes (and the
  connection is not reused). Interim 1xx responses are skipped; 101 is an error (we never ask).
- Failures before the response header (connect, TLS, reset, timeout, malformed header) raise
  :class:`UpstreamError`; once a streamed body has been handed out, a break shows up as
  :class:`~nds.fsc.http1.body.BodyError` from its stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any

import httptools

from nds.fsc.http1.body import SMALL_BODY, BodyError, BodyStream
from nds.fsc.http1.headers import MAX_HEADER_BYTES, MAX_HEADERS, Header

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_NO_BODY_STATUS = frozenset({204, 304})


class UpstreamError(Exception):
    """No (complete) response header from upstream. ``timeout``: it did not answer in time."""

    def __init__(self, message: str, *, timeout: bool = False, nothing_received: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.nothing_received = nothing_received


class UpstreamResponse:
    """``status``, ``reason``, ``headers`` (lower name, name, value), ``body``: bytes or a stream."""

    __slots__ = ("body", "content_length", "has_connection", "headers", "reason", "status")

    def __init__(self, status: int, reason: bytes, headers: list[Header]) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.has_connection = False
        self.body: bytes | BodyStream = b""
        self.content_length: bytes | None = None  # the field's value as received

    def header(self, lower: bytes) -> bytes | None:
        for n, _, v in self.headers:
            if n == lower:
                return v
        return None


class _Refused(Exception):
    """Raised in a parser callback: the response is unusable (the message says why)."""


class UpstreamConnection(asyncio.Protocol):
    """One connection to an upstream server; carries one exchange at a time."""

    def __init__(self, pool: UpstreamPool, key: tuple[Any, ...]) -> None:
        self.pool = pool
        self.key = key
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self.sending = False  # a request body is still being written (then never back to the pool)
        self._waiter: asyncio.Future[UpstreamResponse] | None = None
        self._resp: UpstreamResponse | None = None
        self._headers: list[Header] = []
        self._size = 0
        self._reason = b""
        self._collect: list[bytes] | None = None
        self._stream: BodyStream | None = None
        self._is_head = False
        self._interim = False
        self._in_body = False
        self._until_close = False
        self._busy = False
        self._got_bytes = False
        self._timer: asyncio.TimerHandle | None = None
        self._timeout = 60.0
        self._last_rx = 0.0
        self._error: UpstreamError | None = None
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._eof_seen = False
        self._tls = bool(key[2])

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TLS transport is duck-typed

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._busy:
            err = self._error or UpstreamError(
                "the upstream server closed the connection", nothing_received=not self._got_bytes
            )
            w = self._waiter
            if w is not None and not w.done():
                w.set_exception(err)
            elif self._stream is not None:
                clean = exc is None and self._error is None and (self._eof_seen or not self._tls)
                if self._until_close and clean:
                    self._stream.feed_eof()  # ended by a clean close (RFC 9112 §6.3 rule 8); a reset is not
                else:
                    self._stream.set_error(BodyError(f"upstream broke off its response: {err}"))
            self._busy = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ConnectionError("upstream connection closed"))

    def eof_received(self) -> bool | None:
        # Over TLS this is the peer's closure alert (close_notify); a bare TCP FIN never gets here, so a
        # close-delimited body counts as complete only with it (RFC 9112 §9.8).
        self._eof_seen = True
        return None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    async def drain(self) -> None:
        if self.closed:
            raise ConnectionError("upstream connection closed")
        if self._write_paused:
            if self._drain is None:
                self._drain = self.loop.create_future()
            await asyncio.shield(self._drain)

    def data_received(self, data: bytes) -> None:
        if not self._busy:  # nothing asked: a server talking out of turn is not reused
            self.close()
            return
        self._got_bytes = True
        parser = self._parser  # kept alive here even if a HEAD response replaces it
        try:
            parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            reason = exc.__context__ if isinstance(exc.__context__, _Refused) else exc
            self._fail(UpstreamError(str(reason)))
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"malformed upstream response: {exc}"))

    def _fail(self, err: UpstreamError) -> None:
        self._error = err
        self.abort()

    # -- an exchange ------------------------------------------------------------------------------
    def begin(self, is_head: bool, timeout: float) -> asyncio.Future[UpstreamResponse]:
        self._busy = True
        self._is_head = is_head
        self._got_bytes = False
        self._error = None
        self._stream = None
        self._resp = None
        self._waiter = fut = self.loop.create_future()
        self._timeout = timeout
        self._timer = self.loop.call_later(timeout, self._on_timeout)
        return fut

    def _on_timeout(self) -> None:
        self._timer = None
        if self._stream is not None or self.sending:  # streaming: only a pause longer than it is one
            idle = self.loop.time() - self._last_rx
            if idle < self._timeout:
                self._timer = self.loop.call_later(self._timeout - idle, self._on_timeout)
                return
        self._fail(UpstreamError("the upstream server did not answer in time", timeout=True))

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise ConnectionError("upstream connection closed")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()
        self.closed = True

    # -- parser callbacks ------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if not self._busy:  # bytes beyond the answer we asked for: never let them meet the next request
            raise _Refused("unsolicited response from upstream")
        self._in_body = False
        self._headers = []
        self._size = 0
        self._reason = b""

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_body:  # a trailer field: not merged into the header section (RFC 9110 §6.5.1)
            return
        self._headers.append((name.lower(), name, value))
        self._size += len(name) + len(value) + 4
        if len(self._headers) > MAX_HEADERS or self._size > MAX_HEADER_BYTES:
            raise _Refused("upstream response header too large")

    def on_headers_complete(self) -> None:
        self._in_body = True
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                raise _Refused("upstream switched protocols (101) unasked")
            self._interim = True  # 1xx: skipped, the final response follows
            return
        resp = UpstreamResponse(status, self._reason, self._headers)
        self._resp = resp
        chunked = False
        length: bytes | None = None
        for lower, _, value in self._headers:
            if lower == b"content-length":
                length = value
            elif lower == b"transfer-encoding":
                if chunked or value.strip().lower() != b"chunked":  # RFC 9112 §6.1: we decode no other
                    raise _Refused("upstream used a transfer coding other than chunked")
                chunked = True
            elif lower == b"connection":
                resp.has_connection = True
        resp.content_length = length
        self._collect = None
        if self._is_head or status in _NO_BODY_STATUS:
            keep = self._parser.should_keep_alive()
            if self._is_head:  # llhttp cannot be told a body will not follow: start a fresh parser
                self._parser = httptools.HttpResponseParser(self)
            self._finish(resp, keep)
            return
        if not chunked and length is not None and int(length) <= SMALL_BODY:
            self._collect = []
            return
        self._until_close = not chunked and length is None
        t = self.transport
        assert t is not None
        stream = BodyStream(
            t.pause_reading, t.resume_reading, None if chunked or length is None else int(length), self.abort
        )
        self._stream = resp.body = stream
        self._last_rx = self.loop.time()  # from now on the timeout is between two reads (F8)
        self._resolve(resp)

    def on_body(self, chunk: bytes) -> None:
        if not self._busy:
            raise _Refused("upstream sent a body where none may be")
        if self._collect is not None:
            self._collect.append(chunk)
        elif self._stream is not None:
            self._last_rx = self.loop.time()
            self._stream.feed(chunk)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        resp = self._resp
        if resp is None or not self._busy:
            return
        if self._collect is not None:
            c = self._collect
            resp.body = c[0] if len(c) == 1 else b"".join(c)
            self._collect = None
        keep = self._parser.should_keep_alive() and not self._until_close
        stream = self._stream
        self._finish(resp, keep)
        if stream is not None:
            stream.feed_eof()

    def _resolve(self, resp: UpstreamResponse) -> None:
        w = self._waiter
        self._waiter = None
        if w is not None and not w.done():
            w.set_result(resp)

    def _finish(self, resp: UpstreamResponse, keep: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._resolve(resp)
        self._busy = False
        self._stream = None
        self._resp = None
        if keep and not self.closed and not self.sending:
            self.pool._release(self)
        else:
            self.close()


class UpstreamPool:
    """Persistent connections per (host, port, TLS server name); ``request`` sends one exchange."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        max_idle_per_host: int = 256,
        idle_timeout: float = 30.0,
        tls_check: Callable[[Any], None] | None = None,
    ) -> None:
        self.ssl_context = ssl_context
        # Called with each new TLS connection's SSLObject; raising refuses it (UpstreamError).
        self.tls_check = tls_check
        self.max_idle_per_host = max_idle_per_host
        self.idle_timeout = idle_timeout
        self.loop = asyncio.get_running_loop()
        self._idle: dict[tuple[Any, ...], list[UpstreamConnection]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.connects = 0  # new connections opened (tests count them)

    async def request(
        self,
        host: str,
        port: int,
        head: bytes,
        body: bytes | BodyStream,
        *,
        tls: bool = False,
        server_hostname: str | None = None,
        method: str = "GET",
        timeout: float = 60.0,
    ) -> UpstreamResponse:
        """Send ``head`` (request line and fields, framing included, ending in an empty line) and
        ``body``; return the response once its header (for small bodies: all of it) is in."""
        key = (host, port, tls, server_hostname)
        is_head = method == "HEAD"
        for attempt in (0, 1):
            conn = self._take(key) if attempt == 0 else None
            if conn is None:
                conn = await self._connect(key, timeout)
            fut = conn.begin(is_head, timeout)
            try:
                if isinstance(body, bytes):
                    conn.write(head + body if body else head)
                else:
                    await self._send_stream(conn, head, body)
            except ConnectionError:
                pass  # the response (or the reason there is none) is in the future
            except BaseException:
                conn.abort()
                fut.cancel()
                raise
            try:
                return await fut
            except UpstreamError as exc:
                retry = (
                    conn.reused and exc.nothing_received and isinstance(body, bytes) and method in IDEMPOTENT
                )
                if attempt == 0 and retry and not exc.timeout:
                    continue
                raise
            except asyncio.CancelledError:
                conn.abort()
                raise
        raise AssertionError("unreachable")

    async def _send_stream(self, conn: UpstreamConnection, head: bytes, body: BodyStream) -> None:
        chunked = body.length is None
        conn.sending = True
        conn._last_rx = self.loop.time()
        try:
            conn.write(head)
            while chunk := await body.read():  # BodyError: the client broke off; the caller aborts
                conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                await conn.drain()
                conn._last_rx = self.loop.time()  # an upload that keeps moving is not a timeout
            if chunked:
                conn.write(b"0\r\n\r\n")
        finally:
            conn.sending = False

    def _take(self, key: tuple[Any, ...]) -> UpstreamConnection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                return conn
        return None

    async def _connect(self, key: tuple[Any, ...], timeout: float) -> UpstreamConnection:
        host, port, tls, server_hostname = key
        try:
            async with asyncio.timeout(timeout):
                _, conn = await self.loop.create_connection(
                    lambda: UpstreamConnection(self, key),
                    host,
                    port,
                    ssl=self.ssl_context if tls else None,
                    server_hostname=server_hostname if tls else None,
                )
        except TimeoutError:
            raise UpstreamError(
                f"connecting to {host}:{port} timed out", timeout=True, nothing_received=True
            ) from None
        except (OSError, ValueError) as exc:  # refused, unreachable, TLS failure (SSLError is an OSError)
            raise UpstreamError(
                f"cannot connect to {host}:{port}: {exc.__class__.__name__}", nothing_received=True
            ) from None
        if tls and self.tls_check is not None:
            try:
                self.tls_check(conn.transport.get_extra_info("ssl_object") if conn.transport else None)
            except Exception as exc:
                conn.abort()
                raise UpstreamError(f"TLS with {host}:{port} refused: {exc}", nothing_received=True) from None
        self.connects += 1
        if self._sweeper is None:
            self._sweeper = self.loop.create_task(self._sweep())
        return conn

    def _release(self, conn: UpstreamConnection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) >= self.max_idle_per_host:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        idle.append(conn)

    def _forget(self, conn: UpstreamConnection) -> None:
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.idle_timeout / 2))
            limit = self.loop.time() - self.idle_timeout
            for idle in self._idle.values():
                for conn in [c for c in idle if c.idle_since < limit]:
                    conn.close()
                    if conn in idle:
                        idle.remove(conn)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
