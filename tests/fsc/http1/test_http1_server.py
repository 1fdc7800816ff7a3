"""nds.fsc.http1 server side: framing, limits, pipelining, timeouts — raw bytes over loopback sockets."""

from __future__ import annotations

import asyncio

import pytest
from http1_harness import at_eof, connect, read_response, run

from nds.fsc.http1 import BodyStream, Http1Server, Request

pytestmark = pytest.mark.integration


class Recorder:
    """A handler that answers with what it saw; ``delays`` (by path) make some requests slow."""

    def __init__(self, delays: dict[bytes, float] | None = None) -> None:
        self.seen: list[tuple[str, bytes, int]] = []
        self.delays = delays or {}

    async def __call__(self, req: Request) -> None:
        body = req.body
        if isinstance(body, BodyStream):
            body = await body.read_all(16 * 1024 * 1024)
        self.seen.append((req.method, req.target, len(body)))
        await asyncio.sleep(self.delays.get(req.target, 0))
        text = f"{req.method} {req.target.decode()} {len(body)}".encode()
        req.respond(200, b"X-Seen: 1\r\n", text, content_type=b"text/plain")


async def serve(handler: Recorder, **kw: float) -> Http1Server:
    server = Http1Server(handler, **kw)
    await server.listen("127.0.0.1", 0)
    return server


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", 400),  # no colon
        (b"GET / HTTP/1.1\r\nHost: a\r\n X: folded\r\n\r\n", 400),  # line folding / bad whitespace
        (b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # control character in the target
        (b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),  # a method llhttp does not know
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\nab", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nab", 400),  # not chunked last
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", 400),
    ],
    ids=[
        "no-colon",
        "obs-fold",
        "ctl-in-target",
        "bad-version",
        "no-host",
        "two-hosts",
        "unknown-method",
        "cl-then-te",
        "te-then-cl",
        "two-lengths",
        "negative-length",
        "junk-length",
        "te-not-chunked",
        "te-gzip-chunked",
        "bad-chunk-size",
    ],
)
def test_malformed_requests_get_an_error_and_the_connection_is_closed(raw: bytes, status: int) -> None:
    async def main() -> None:
        handler = Recorder()
        server = await serve(handler)
        async with connect(server.ports[0]) as (r, w):
            w.write(raw + b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            assert resp.status == status, resp
            assert resp.get("Connection") == "close"
            assert await at_eof(r)  # the request after it is never answered: no smuggling
        # a malformed body is refused before the handler sees a complete request
        assert all(t != b"/after" for _, t, _ in handler.seen)
        await server.close()

    run(main())


def test_oversize_header_fields_431_and_long_target_414() -> None:
    async def main() -> None:
        server = await serve(Recorder())
        many = b"".join(b"X-%d: v\r\n" % i for i in range(150))
        big = b"X-Big: " + b"a" * 40_000 + b"\r\n"
        for raw, status in (
            (b"GET / HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n", 431),
            (b"GET / HTTP/1.1\r\nHost: a\r\n" + big + b"\r\n", 431),
            (b"GET /" + b"p" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        ):
            async with connect(server.ports[0]) as (r, w):
                w.write(raw)
                resp = await read_response(r)
                assert resp.status == status
                assert await at_eof(r)
        await server.close()

    run(main())


def test_pipelined_requests_are_answered_in_order() -> None:
    async def main() -> None:
        handler = Recorder(delays={b"/1": 0.3, b"/2": 0.0, b"/3": 0.1})
        server = await serve(handler)
        async with connect(server.ports[0]) as (r, w):
            w.write(
                b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
            )
            bodies = [(await read_response(r)).body for _ in range(3)]
            assert bodies == [b"GET /1 0", b"POST /2 5", b"GET /3 0"]
            assert not await at_eof(r, timeout=0.3)  # still open: keep-alive
        await server.close()

    run(main())


def test_connect_goes_to_the_handler_and_the_connection_closes_after() -> None:
    async def main() -> None:
        async def handler(req: Request) -> None:
            req.respond(405 if req.method == "CONNECT" else 200, b"", b"no tunnels")

        server = Http1Server(handler)
        await server.listen("127.0.0.1", 0)
        async with connect(server.ports[0]) as (r, w):
            w.write(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n\x16\x03\x01garbage")
            resp = await read_response(r)
            assert resp.status == 405 and resp.get("Connection") == "close"
            assert await at_eof(r)
        await server.close()

    run(main())


def test_http10_and_connection_close_end_the_connection() -> None:
    async def main() -> None:
        server = await serve(Recorder())
        for raw in (
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ):
            async with connect(server.ports[0]) as (r, w):
                w.write(raw)
                assert (await read_response(r)).status == 200
                assert await at_eof(r)
        async with connect(server.ports[0]) as (r, w):  # HTTP/1.0 asking for keep-alive keeps it
            w.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n")
            assert (await read_response(r)).body == b"GET / 0"
            assert (await read_response(r)).body == b"GET /x 0"
            assert await at_eof(r)
        await server.close()

    run(main())


def test_expect_100_continue_gets_an_interim_response() -> None:
    async def main() -> None:
        server = await serve(Recorder())
        async with connect(server.ports[0]) as (r, w):
            w.write(b"PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            interim = await read_response(r)
            assert interim.status == 100
            w.write(b"data")
            assert (await read_response(r)).body == b"PUT /u 4"
        await server.close()

    run(main())


def test_large_and_chunked_request_bodies_stream_to_the_handler() -> None:
    async def main() -> None:
        handler = Recorder()
        server = await serve(handler)
        async with connect(server.ports[0]) as (r, w):
            big = b"x" * (1024 * 1024)
            w.write(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
            assert (await read_response(r)).body == b"POST /big 1048576"
            w.write(b"POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(10):
                w.write(b"400\r\n" + b"y" * 1024 + b"\r\n")
                await asyncio.sleep(0.01)
            w.write(b"0\r\n\r\n")
            assert (await read_response(r)).body == b"POST /ch 10240"
        await server.close()

    run(main())


def test_idle_connections_are_closed_and_slow_headers_get_408() -> None:
    async def main() -> None:
        server = await serve(Recorder(), keepalive_timeout=0.5, header_timeout=0.5)
        async with connect(server.ports[0]) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert (await read_response(r)).status == 200
            assert await at_eof(r, timeout=3.0)  # idle keep-alive connection closed
        async with connect(server.ports[0]) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n")  # never finishes its header
            resp = await read_response(r)
            assert resp.status == 408
            assert await at_eof(r, timeout=3.0)
        assert not server.connections
        await server.close()

    run(main())


def test_a_failing_handler_gives_500_and_a_silent_one_too() -> None:
    async def main() -> None:
        async def handler(req: Request) -> None:
            if req.target == b"/boom":
                raise RuntimeError("bug")

        server = Http1Server(handler)
        await server.listen("127.0.0.1", 0)
        for target in (b"/boom", b"/silent"):
            async with connect(server.ports[0]) as (r, w):
                w.write(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                assert (await read_response(r)).status == 500
                assert await at_eof(r)
        await server.close()

    run(main())
