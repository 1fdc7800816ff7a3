"""HTTP/1.1 server side: an asyncio Protocol per connection, requests parsed by httptools (llhttp).

The rules come from RFC 9112 (HTTP/1.1 message syntax) and RFC 9110 (semantics):

- Message framing (RFC 9112 §6.3): a request with both Content-Length and Transfer-Encoding, several
  or invalid Content-Length values, or a Transfer-Encoding whose final coding is not ``chunked`` is
  refused with 400 and the connection closed (llhttp enforces it; a request-smuggling defence,
  RFC 9112 §11.2). Bodies with a Content-Length up to 64 KiB are collected and the request is handed
  on in one piece; larger or chunked bodies are handed on at once as a :class:`BodyStream` with
  backpressure.
- Limits: request-target 8 KiB (414, RFC 9112 §3), 100 field lines / 32 KiB (431, RFC 6585 §5); a
  method llhttp does not know → 501 (RFC 9110 §9.1); other syntax errors → 400; all close the connection.
- Persistence (RFC 9112 §9.3): keep-alive unless the client said ``close`` or speaks HTTP/1.0 without
  ``keep-alive``. Pipelined requests (RFC 9112 §9.3.2) are answered one at a time, in order; reading
  stops while more than 16 are waiting.
- ``CONNECT`` and upgrades (RFC 9110 §9.3.6, §7.8): llhttp stops parsing after such a request; the
  request is handed to the handler like any other (the proxies answer CONNECT with 405) and the
  connection is closed after the response, since what follows is not HTTP/1.1.
- ``Expect: 100-continue`` (RFC 9110 §10.1.1): answered with an interim 100 when the body is awaited.
- Timeouts (RFC 9112 §9.5, §9.8): an idle keep-alive connection is closed; a client that does not
  finish its request header in time gets 408; a body that stalls, or a client that stops reading a
  response, has its connection closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import httptools

from nds.fsc.http1.body import SMALL_BODY, BodyError, BodyStream
from nds.fsc.http1.headers import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_TARGET,
    Header,
    simple_response,
)
from nds.fsc.http1.request import Request

if TYPE_CHECKING:
    from nds.fsc.http1.listener import Http1Server

log = logging.getLogger("nds.fsc.http1")

Handler = Callable[[Request], Awaitable[None]]
MAX_PIPELINE = 16
LINGER_SECONDS = 5.0
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_PAUSE_PIPELINE = 1
_PAUSE_BODY = 2
_PAUSE_STOP = 4


class _Refuse(Exception):
    """Raised inside a parser callback: answer ``status`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ServerConnection(asyncio.Protocol):
    """One client connection: parses requests, runs the handler for each in order, writes responses."""

    def __init__(self, server: Http1Server) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._queue: deque[Request] = deque()
        self._busy = False  # a handler task is running for this connection
        self._cur: Request | None = None  # the request being parsed
        self._last: Request | None = None  # the request handed on last
        self._cur_headers: list[Header] = []
        self._cur_target: list[bytes] = []
        self._cur_size = 0
        self._cur_body: list[bytes] | None = None  # small body being collected
        self._in_body = False  # past the header section of the current request (trailers follow)
        self._paused = 0  # reasons reading is paused (bit set)
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._stop_parsing = False  # after an upgrade/CONNECT or a parse error
        self._lingering = False  # answered, half-closed, dropping the rest of an unread body
        self._error_reply: bytes | None = None  # sent (and the connection closed) after the queue
        self.closing = False
        self.closed = False
        self.deadline: float | None = None
        self.write_deadline: float | None = None
        self._peer_der: bytes | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        check = self.server.tls_check
        if check is not None:
            tls = transport.get_extra_info("ssl_object")
            if tls is not None:
                try:
                    check(tls)
                except Exception as exc:
                    peer = transport.get_extra_info("peername")
                    log.warning("TLS connection from %s refused: %s", peer, exc)
                    self.closed = True
                    cast(asyncio.Transport, transport).abort()
                    return
        self.transport = transport  # type: ignore[assignment]  # uvloop's TLS transport is duck-typed
        self.server.connections.add(self)
        self.deadline = self.loop.time() + self.server.keepalive_timeout

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        body = self._cur.body if self._cur is not None else None
        if isinstance(body, BodyStream):
            body.set_error(ConnectionError("the client closed the connection"))
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ConnectionError("the client closed the connection"))
        self._drain = None

    def pause_writing(self) -> None:
        self._write_paused = True
        self.write_deadline = self.loop.time() + self.server.write_timeout

    def resume_writing(self) -> None:
        self._write_paused = False
        self.write_deadline = None
        d = self._drain
        if d is not None:
            self._drain = None
            if not d.done():
                d.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._stop_parsing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # CONNECT or Upgrade: the request is complete and queued; nothing after it is HTTP/1.1.
            self._stop_parsing = True
            self._pause(_PAUSE_STOP)
            if self._last is not None:
                self._last.keep_alive = False
            if not self._busy:
                self.close()
        except httptools.HttpParserCallbackError as exc:
            err = exc.__context__
            if isinstance(err, _Refuse):
                self._refuse(err.status, str(err))
            else:
                log.exception("HTTP/1.1 parser callback failed", exc_info=err)
                self._refuse(500, "internal error")
        except httptools.HttpParserInvalidMethodError:
            self._refuse(501, "request method not implemented")
        except httptools.HttpParserError as exc:
            self._refuse(400, f"malformed request: {exc}")

    def eof_received(self) -> bool | None:
        # A half-closed client may still read the answers to what it sent; a body cut short is an error.
        body = self._cur.body if self._cur is not None else None
        if isinstance(body, BodyStream):
            body.set_error(ConnectionError("the client closed the connection mid-body"))
        if not self._busy:
            self.close()
            return None
        self._stop_parsing = True
        # keep the half-open connection to send the answers (TLS cannot: it closes either way)
        return None if self.transport is None or self.transport.get_extra_info("sslcontext") else True

    # -- parser callbacks (httptools) ------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_body = False
        self._cur = Request(self)
        self._cur_headers = []
        self._cur_target = []
        self._cur_size = 0
        self._cur_body = None
        if not self._busy:
            self.deadline = self.loop.time() + self.server.header_timeout

    def on_url(self, part: bytes) -> None:
        self._cur_target.append(part)
        if sum(map(len, self._cur_target)) > MAX_TARGET:
            raise _Refuse(414, "request-target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_body:
            return  # a trailer field: not merged into the header section (RFC 9110 §6.5.1)
        headers = self._cur_headers
        headers.append((name.lower(), name, value))
        self._cur_size += len(name) + len(value) + 4
        if len(headers) > MAX_HEADERS or self._cur_size > MAX_HEADER_BYTES:
            raise _Refuse(431, "request header fields too large")

    def on_headers_complete(self) -> None:
        req = self._cur
        assert req is not None
        self._in_body = True
        p = self._parser
        req.method = p.get_method().decode("ascii")
        req.http11 = p.get_http_version() == "1.1"
        req.keep_alive = p.should_keep_alive() and not self.closing
        target = self._cur_target
        req.target = target[0] if len(target) == 1 else b"".join(target)
        headers = self._cur_headers
        req.headers = headers
        length: int | None = None
        chunked = False
        expect = False
        hosts = 0
        for lower, _, value in headers:
            if lower == b"host":
                hosts += 1
            elif lower == b"content-length":
                length = int(value)  # llhttp has checked it: digits only, one value
            elif lower == b"transfer-encoding":
                codings = [c.strip().lower() for c in value.split(b",")]
                if chunked or codings[-1] != b"chunked":  # RFC 9112 §6.3 rule 4: length unknowable
                    raise _Refuse(400, "chunked must be the final transfer coding, once")
                if len(codings) > 1:  # RFC 9112 §6.1: a coding this server does not implement
                    raise _Refuse(501, "only the chunked transfer coding is implemented")
                chunked = True
            elif lower == b"connection":
                req.has_connection = True
            elif lower == b"expect" and value.lower() == b"100-continue":
                expect = True
        if chunked and not req.http11:  # RFC 9112 §6.1: close after a 1.0 message with Transfer-Encoding
            req.keep_alive = False
        if hosts > 1 or (hosts == 0 and req.http11):  # RFC 9112 §3.2: exactly one Host in HTTP/1.1
            raise _Refuse(400, "an HTTP/1.1 request needs exactly one Host field")
        if not chunked and not length:
            self._cur_body = None
            req.body = b""
            self.deadline = None
            return
        self.deadline = self.loop.time() + self.server.body_timeout
        if expect and req.http11 and not self._busy and not self._queue and self.transport is not None:
            self.transport.write(_CONTINUE)
        if not chunked and length is not None and length <= SMALL_BODY:
            self._cur_body = []
            return
        req.body = BodyStream(self._pause_body, self._resume_body, length, self.abort)
        self._cur_body = None
        self._dispatch(req)

    def on_body(self, chunk: bytes) -> None:
        self.deadline = self.loop.time() + self.server.body_timeout
        if self._cur_body is not None:
            self._cur_body.append(chunk)
            return
        body = self._cur.body if self._cur is not None else None
        if isinstance(body, BodyStream):
            body.feed(chunk)

    def on_message_complete(self) -> None:
        req = self._cur
        self._cur = None
        if req is None:
            return
        body = req.body
        if isinstance(body, BodyStream):
            body.feed_eof()
            self.deadline = None
            return  # dispatched at the end of the header
        if self._cur_body is not None:
            req.body = self._cur_body[0] if len(self._cur_body) == 1 else b"".join(self._cur_body)
            self._cur_body = None
        self.deadline = None
        self._dispatch(req)

    # -- request handling ------------------------------------------------------------------------
    def _dispatch(self, req: Request) -> None:
        self._last = req
        if self._busy:
            self._queue.append(req)
            if len(self._queue) >= MAX_PIPELINE:
                self._pause(_PAUSE_PIPELINE)
            return
        self._busy = True
        self.loop.create_task(self._run(req))

    async def _run(self, req: Request) -> None:
        server = self.server
        handler = server.handler
        while True:
            server.handling += 1
            try:
                await handler(req)
            except BodyError as exc:
                if req.responded or self.closed:
                    self.abort()  # a response is under way: only an incomplete message is honest now
                else:  # the client's body was malformed, cut short or too slow
                    self._send_and_close(simple_response(exc.status, f"{exc}\n".encode(), close=True))
                return
            except ConnectionError:
                self.abort()
                return
            except Exception:
                log.exception("request handler failed")
                if req.responded:
                    self.abort()
                    return
            finally:
                server.handling -= 1
            if self.closed:
                return
            if not req.responded:
                req.keep_alive = False
                req.respond(500, b"", b"internal error\n", content_type=b"text/plain; charset=utf-8")
            body = req.body
            if isinstance(body, BodyStream) and not body.at_eof:
                self._busy = False
                self._linger(body)  # the rest of an unread body: give up the connection, gently
                return
            if not req.keep_alive:
                self.close()
                return
            if not self._queue:
                break
            if self._write_paused:  # a pipelining client that does not read: wait before answering more
                try:
                    await self.drain()
                except ConnectionError:
                    return
            req = self._queue.popleft()
            if self._paused & _PAUSE_PIPELINE and len(self._queue) < MAX_PIPELINE // 2:
                self._resume(_PAUSE_PIPELINE)
        self._busy = False
        if self._error_reply is not None:
            self._send_and_close(self._error_reply)
        elif self._stop_parsing or self.closing:
            self.close()
        elif self._cur is None:
            self.deadline = self.loop.time() + self.server.keepalive_timeout
        elif self.deadline is None:  # a pipelined request is still arriving
            self.deadline = self.loop.time() + self.server.header_timeout

    def _refuse(self, status: int, message: str) -> None:
        """A malformed request: answer ``status`` (after the queued answers) and close."""
        self._stop_parsing = True
        self._pause(_PAUSE_STOP)
        cur = self._cur
        if cur is not None and isinstance(cur.body, BodyStream):
            cur.body.set_error(BodyError(message, status))  # its handler is running: it gets a broken body
            return
        reply = simple_response(status, (message + "\n").encode("utf-8", "replace"), close=True)
        if self._busy:
            self._error_reply = reply
        else:
            self._send_and_close(reply)

    def _linger(self, body: BodyStream) -> None:
        """Close after answering before the request body was read (RFC 9112 §9.6): half-close, then
        read and drop what the client still sends for a few seconds, so its TCP stack does not reset
        the connection — and lose our answer — because unread data arrived after we closed."""
        self._stop_parsing = True
        body.set_error(BodyError("request body not read"))
        t = self.transport
        if t is None or self.closed or not t.can_write_eof():  # TLS: the close itself waits for the peer
            self.close()
            return
        self._lingering = True
        self._paused = 0
        t.resume_reading()
        t.write_eof()
        self.deadline = self.loop.time() + LINGER_SECONDS

    def _send_and_close(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)
        self.close()

    # -- flow control ----------------------------------------------------------------------------
    def _pause(self, why: int) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._paused |= why

    def _resume(self, why: int) -> None:
        if not self._paused & why:
            return
        self._paused &= ~why
        if not self._paused and self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def _pause_body(self) -> None:
        self._pause(_PAUSE_BODY)

    def _resume_body(self) -> None:
        self._resume(_PAUSE_BODY)

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        if self.closed:
            raise ConnectionError("the client closed the connection")
        if not self._write_paused:
            return
        if self._drain is None:
            self._drain = self.loop.create_future()
        await asyncio.shield(self._drain)

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise ConnectionError("the client closed the connection")
        self.transport.write(data)

    @property
    def peer_certificate(self) -> bytes | None:
        """The DER client certificate of this (TLS) connection, if any."""
        if self._peer_der is None and self.transport is not None:
            obj = self.transport.get_extra_info("ssl_object")
            if obj is not None:
                self._peer_der = obj.getpeercert(binary_form=True)
        return self._peer_der

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()
        self.closed = True

    def on_timeout(self, now: float) -> None:
        if self.write_deadline is not None and now > self.write_deadline:
            self.abort()  # the client stopped reading our response
            return
        if self.deadline is None or now <= self.deadline:
            return
        self.deadline = None
        if self._lingering:
            self.close()
            return
        cur = self._cur
        if cur is not None and isinstance(cur.body, BodyStream):
            cur.body.set_error(BodyError("request body timed out", 408))
            return
        if cur is not None and not self._busy:
            self._refuse(408, "request timed out")
            return
        if not self._busy:
            self.close()  # idle keep-alive connection
