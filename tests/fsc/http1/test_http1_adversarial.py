"""An adversarial review of nds.fsc.http1 (and its use in the Inway), as a hostile client, a hostile
upstream and a careless deployment would exercise it. Raw bytes over real loopback sockets.

Every finding of the review (F1–F16, docs/fsc/http1-review.md) was first recorded here as a failing
test (``xfail(strict=True)``) and is now a regression test, its fix named in a comment. The other tests
are regression tests for attacks the layer withstood from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from http1_harness import (
    Origin,
    at_eof,
    connect,
    keepalive_origin,
    proxy_to,
    read_request,
    read_response,
    run,
)

from nds.fsc.http1 import (
    Http1Server,
    Request,
    Upstream,
    UpstreamError,
    UpstreamPool,
    relay_response,
    upstream_head,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dataplane"))
from fscdp_harness import MiniGroup

from nds.fsc.txlog import new_transaction_id

pytestmark = pytest.mark.integration


async def exchange(port: int, raw: bytes, *, head: bool = False) -> tuple[int | None, bool]:
    """Send ``raw``; the status of the first response (None if none) and whether the connection closed."""
    async with connect(port) as (r, w):
        w.write(raw)
        try:
            async with asyncio.timeout(5):
                resp = await read_response(r, head=head)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            return None, True
        return resp.status, await at_eof(r, 3.0)


def rst_close(w: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()


# == 1. Request framing and smuggling (client → proxy → origin) =====================================


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: one\rX-B: two\r\n\r\n",  # bare CR inside a value
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: nul\x00byte\r\n\r\n",  # NUL inside a value
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A : spaced\r\n\r\n",  # whitespace before the colon
        b"GET / HTTP/1.1\r\nHost: a\r\n\tX-A: tab-fold\r\n\r\n",  # obs-fold with a tab
        b"GET / HTTP/1.1\r\nHost: a\r\nX(A): paren\r\n\r\n",  # not a token character in the name
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffff\r\nab\r\n0\r\n\r\n",  # chunk size overflowing 64 bits
        # a chunk longer than its size
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n",  # negative
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",  # chunked twice
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",  # same twice
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\nhello",  # overflow
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",  # 1.0 CL+TE
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0c\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a="\x01"\r\nhello\r\n0\r\n\r\n',
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x7f\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHOST: a\r\nhost: b\r\n\r\n",
    ],
    ids=[
        "bare-cr-in-value",
        "nul-in-value",
        "space-before-colon",
        "obs-fold-tab",
        "paren-in-name",
        "chunk-size-overflow",
        "chunk-longer-than-size",
        "negative-chunk-size",
        "chunked-twice",
        "xchunked",
        "same-length-twice",
        "length-overflow",
        "cl-and-te-identity",
        "http10-cl-and-te",
        "plus-length",
        "vt-before-chunked",
        "ff-after-chunked",
        "space-after-chunk-size",
        "bare-lf-in-chunked-body",
        "chunk-overrun",
        "ctl-in-chunk-ext",
        "del-in-value",
        "space-in-target",
        "two-hosts-any-case",
    ],
)
def test_ambiguous_requests_never_reach_the_origin(raw: bytes) -> None:
    """Every framing or field-syntax ambiguity is refused with 4xx and the connection closed; the
    origin never sees a request (so no front-end/back-end disagreement can be built on it)."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy:
            status, closed = await exchange(proxy.port, raw)
            assert (status is not None and 400 <= status < 500) or status == 501, status
            assert closed
        assert origin.requests == []
        await origin.close()

    run(main())


def test_chunk_extensions_are_accepted_and_not_forwarded() -> None:
    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'5;name="va;l"\r\nhello\r\n6;e\r\n world\r\n0;last\r\n\r\n'
            )
            resp = await read_response(r)
            assert resp.status == 200
        assert len(origin.requests) == 1
        assert origin.requests[0][2] == b"hello world"
        await origin.close()

    run(main())


def test_bare_lf_never_reaches_the_origin_as_part_of_a_field() -> None:
    """A bare LF may be accepted as a line end (RFC 9112 §2.2), but what goes upstream is re-serialized
    with CRLF: no field value carries CR or LF, and no field is hidden in another."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy:
            await exchange(proxy.port, b"GET / HTTP/1.1\nHost: a\nX-A: 1\nX-B: 2\n\n")
            await exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\nX-B: 2\r\n\r\n")
        for _, headers, _ in origin.requests:
            for k, v in headers:
                assert "\r" not in k + v and "\n" not in k + v
            names = [k.lower() for k, _ in headers]
            # if X-B was seen at all, it was seen as a field of its own
            assert "x-a" not in names or dict((k.lower(), v) for k, v in headers)["x-a"] == "1"
        await origin.close()

    run(main())


# Review finding F5: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_request_trailers_are_not_promoted_to_header_fields() -> None:
    """RFC 9110 §6.5.1: a recipient must not merge trailer fields into the header section. The server
    appends trailer lines to ``req.headers`` (the same list), so a chunked request that arrives in one
    segment has its trailers forwarded upstream as ordinary header fields."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"2\r\nhi\r\n0\r\nX-Smuggled: yes\r\nFsc-Authorization: forged\r\n\r\n"
            )
            assert (await read_response(r)).status == 200
        names = [k.lower() for k, _ in origin.requests[0][1]]
        assert "x-smuggled" not in names and "fsc-authorization" not in names, origin.requests[0][1]
        await origin.close()

    run(main())


# Review finding F9: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_http10_with_transfer_encoding_closes_after_the_response() -> None:
    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"2\r\nhi\r\n0\r\n\r\n"
            )
            resp = await read_response(r)
            assert resp.status == 200
            assert await at_eof(r, 3.0)
        await origin.close()

    run(main())


def test_pipelined_requests_with_bodies_keep_their_order_and_framing() -> None:
    """Mixed small, chunked and empty requests in one write: the origin sees each exactly once, in
    order, with its own body; the client gets the answers in the same order."""

    async def main() -> None:
        async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
            while (req := await read_request(r)) is not None:
                o.requests.append(req)
                body = req[0].encode() + b"|" + req[2]
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body))
                await w.drain()

        origin = Origin(echo)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                b"POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ndef\r\n0\r\n\r\n"
                b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"POST /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
                b"DELETE /5 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nGE"
            )
            bodies = [(await read_response(r)).body for _ in range(5)]
        assert bodies == [
            b"POST /1 HTTP/1.1|abc",
            b"POST /2 HTTP/1.1|def",
            b"GET /3 HTTP/1.1|",
            b"POST /4 HTTP/1.1|",
            b"DELETE /5 HTTP/1.1|GE",
        ]
        await origin.close()

    run(main())


# Review finding F10: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_a_malformed_request_in_a_pipeline_is_answered_after_the_good_ones() -> None:
    """The requests before a malformed one are answered in order, then 400, then the connection closes;
    nothing after the malformed one is read (no resynchronisation on attacker-chosen bytes)."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"GET /3 HTTP/1.1\r\nHost: a\r\nBad\x00Field: x\r\n\r\n"
                b"GET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
            )
            statuses = [(await read_response(r)).status for _ in range(3)]
            assert statuses == [200, 200, 400]
            assert await at_eof(r, 3.0)
        assert [q[0] for q in origin.requests] == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"]
        await origin.close()

    run(main())


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (b"http://outway.example/p/q?x=1", "GET /p/q?x=1 HTTP/1.1"),
        (b"http://outway.example?x=1", "GET /?x=1 HTTP/1.1"),
        (b"HTTP://outway.example/p", "GET /p HTTP/1.1"),
    ],
    ids=["absolute-form", "absolute-form-no-path-with-query", "absolute-form-uppercase-scheme"],
)
def test_absolute_form_targets_are_reduced_to_origin_form(target: bytes, expected: str) -> None:
    """RFC 9112 §3.2.2: a proxy accepts absolute-form; what goes upstream is path and query, intact."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET " + target + b" HTTP/1.1\r\nHost: outway.example\r\n\r\n")
            assert (await read_response(r)).status == 200
        assert origin.requests[0][0] == expected
        await origin.close()

    run(main())


# F16: found in the review, fixed in 2418694; now a regression test
def test_http10_keep_alive_is_announced_in_the_response() -> None:
    """RFC 9112 Appendix C.2.2 / RFC 7230 §A.1.2: persistence with an HTTP/1.0 client is signalled by
    ``Connection: keep-alive`` in the response; without it the server should close."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            resp = await read_response(r)
            assert resp.status == 200
            announced = "keep-alive" in (resp.get("Connection") or "").lower()
            assert announced or await at_eof(r, 2.0)
        await origin.close()

    run(main())


# == 2. A hostile or broken upstream (origin → proxy → client) ======================================


def scripted_origin(*answers: bytes, delay_after: float = 0.0) -> Origin:
    """An origin that answers its n-th request (over all connections) with ``answers[n]`` (raw bytes,
    one write), then the rest with a normal 200 whose body names the request path."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        while (req := await read_request(r)) is not None:
            n = len(o.requests)
            o.requests.append(req)
            if n < len(answers):
                w.write(answers[n])
            else:
                path = req[0].split(" ")[1].encode()
                if path.startswith(b"/slow"):
                    await asyncio.sleep(0.5)
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(path), path))
            await w.drain()

    return Origin(handler)


# Review finding F1: failed on 29ae164, fixed in ac0811c; kept as a regression test.
@pytest.mark.parametrize(
    ("method", "answer"),
    [
        (b"GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n"),
        (b"GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 304 Not Modified\r\n\r\n"),
    ],
    ids=["unsolicited-204", "unsolicited-304"],
)
def test_extra_no_body_response_does_not_desync_two_clients(method: bytes, answer: bytes) -> None:
    """The origin answers the first request with its response plus an unsolicited second one in the
    same segment. Afterwards two clients make concurrent requests: each must get its own answer, in time.
    (Seen: the client of /fast gets the answer to /slow; the client of /slow never gets an answer.)"""

    async def main() -> None:
        origin = scripted_origin(answer)
        port = await origin.start()
        async with proxy_to(port, timeout=3.0) as proxy:
            async with connect(proxy.port) as (r, w):
                w.write(method + b" /first HTTP/1.1\r\nHost: a\r\n\r\n")
                assert (await read_response(r, head=method == b"HEAD")).status == 200
            await asyncio.sleep(0.1)

            async def get(path: bytes) -> bytes:
                async with connect(proxy.port) as (r, w):
                    w.write(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                    try:
                        async with asyncio.timeout(8):
                            resp = await read_response(r)
                    except TimeoutError:
                        return b"no answer within 8 s (upstream timeout 3 s)"
                    return b"%d " % resp.status + resp.body

            slow = asyncio.create_task(get(b"/slow"))
            await asyncio.sleep(0.05)
            fast = await get(b"/fast")
            assert (await slow, fast) == (b"200 /slow", b"200 /fast")
        await origin.close()

    run(main())


def test_extra_response_bytes_after_a_complete_response_never_reach_the_next_client() -> None:
    """A response longer than its Content-Length (the excess forms a whole fake response): the excess
    is never delivered as the answer to the next request."""

    async def main() -> None:
        origin = scripted_origin(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Evil: 1\r\n\r\nEVIL"
        )
        port = await origin.start()
        async with proxy_to(port) as proxy:
            for path, want in ((b"/1", b"ok"), (b"/2", b"/2"), (b"/3", b"/3")):
                async with connect(proxy.port) as (r, w):
                    w.write(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                    resp = await read_response(r)
                    assert resp.body == want and resp.get("X-Evil") is None
                await asyncio.sleep(0.05)
        await origin.close()

    run(main())


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        (b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        (b"GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"),
        (b"GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello"),
        (
            b"GET",
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
        ),
    ],
    ids=["head-with-body", "204-with-body", "304-with-body", "interim-1xx"],
)
def test_bodies_where_none_may_be_and_interim_responses(method: bytes, answer: bytes) -> None:
    """A body sent where none may follow (HEAD, 204, 304) is not passed on and never becomes the next
    response; interim 1xx responses are skipped and the final one relayed."""

    async def main() -> None:
        origin = scripted_origin(answer)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(method + b" /1 HTTP/1.1\r\nHost: a\r\n\r\n")
            first = await read_response(r, head=method == b"HEAD")
            if b"final" in answer:
                assert first.status == 200 and first.body == b"final"
            else:
                assert first.body == b""
            for n in (2, 3):
                w.write(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % n)
                nxt = await read_response(r)
                assert (nxt.status, nxt.body) == (200, b"/%d" % n), nxt
        await origin.close()

    run(main())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: one\rSet-Cookie: evil=1\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nX-A: nul\x00\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",  # control: a good answer
    ],
    ids=[
        "two-lengths",
        "cl-and-te",
        "bare-cr-in-value",
        "nul-in-value",
        "obs-fold",
        "unasked-101",
        "space-in-name",
        "control",
    ],
)
def test_ambiguous_responses_become_502(answer: bytes) -> None:
    """A response whose framing or fields are ambiguous is never relayed (header injection towards the
    client or a desync): the client gets a gateway error instead."""

    async def main() -> None:
        origin = scripted_origin(answer)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            if answer == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                assert resp.status == 200 and resp.body == b"ok"
            else:
                assert resp.status == 502, resp
                assert resp.get("Set-Cookie") is None
        await origin.close()

    run(main())


# Review finding F3: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_close_delimited_body_reset_by_upstream_is_not_passed_as_complete() -> None:
    """RFC 9112 §6.3 rule 8 / §8: a body delimited by the close of the connection is only complete when
    the connection closes cleanly; a reset (or a TLS close without close_notify) is an incomplete body."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + b"x" * 1000)
        await w.drain()
        await asyncio.sleep(0.2)
        rst_close(w)

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            assert resp.status == 200
            assert not resp.complete, "a truncated body arrived framed as complete"
        await origin.close()

    run(main())


def test_close_delimited_body_ended_cleanly_is_relayed_chunked() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"y" * 100_000)
        await w.drain()
        w.close()

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            assert resp.complete and resp.body == b"y" * 100_000
            assert resp.get("Transfer-Encoding") == "chunked"
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # the client connection stays usable
            assert (await read_response(r)).body == b"y" * 100_000
        await origin.close()

    run(main())


# Review finding F4: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_response_transfer_codings_other_than_chunked_are_not_silently_dropped() -> None:
    """RFC 9112 §6.1: the proxy either decodes the coding, or refuses the response (nginx: 502
    "unknown transfer encoding"). Relaying the coded bytes as if uncoded corrupts the message."""
    import gzip

    payload = gzip.compress(b"plain text")

    async def main() -> None:
        origin = scripted_origin(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n%x\r\n%b\r\n0\r\n\r\n"
            % (len(payload), payload)
        )
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            coded = "gzip" in (resp.get("Transfer-Encoding") or "") + (resp.get("Content-Encoding") or "")
            assert resp.status == 502 or resp.body == b"plain text" or coded, resp
        await origin.close()

    run(main())


# Review finding F6: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_response_trailers_are_not_promoted_to_header_fields() -> None:
    async def main() -> None:
        origin = scripted_origin(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
            b"Set-Cookie: from-trailer=1\r\n\r\n"
        )
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            assert resp.body == b"ok"
            assert resp.get("Set-Cookie") is None, resp.headers
        await origin.close()

    run(main())


# Review finding F8: failed on 29ae164, fixed in ac0811c; kept as a regression test.
def test_a_steady_stream_longer_than_the_upstream_timeout_is_not_cut_off() -> None:
    """The response header arrives at once and the body keeps flowing (a chunk every 0.1 s for 3 s);
    the 1.5 s upstream timeout must bound waiting, not the length of a healthy transfer (aiohttp:
    ``sock_read``; nginx: ``proxy_read_timeout`` is between two reads)."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(30):
            w.write(b"a\r\n0123456789\r\n")
            await w.drain()
            await asyncio.sleep(0.1)
        w.write(b"0\r\n\r\n")
        await w.drain()

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port, timeout=1.5) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = await read_response(r)
            assert resp.complete and len(resp.body) == 300
        await origin.close()

    run(main())


def test_a_client_leaving_mid_response_never_leaves_bytes_for_the_next_client() -> None:
    """Client A reads 100 KB of a 4 MB response and goes away; the upstream connection that carried it
    must not go back to the pool with the rest in flight. Client B then gets exactly its own answer."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        while (req := await read_request(r)) is not None:
            o.requests.append(req)
            path = req[0].split(" ")[1].encode()
            body = b"A" * (4 * 1024 * 1024) if path == b"/big" else path
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            w.write(body)
            await w.drain()

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy:
            async with connect(proxy.port) as (r, w):
                w.write(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
                await r.readexactly(100_000)
            await asyncio.sleep(0.2)
            for path in (b"/b", b"/c"):
                async with connect(proxy.port) as (r, w):
                    w.write(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                    async with asyncio.timeout(5):
                        resp = await read_response(r)
                    assert (resp.status, resp.body) == (200, path)
        await origin.close()

    run(main())


# == 3. Resources: slow readers, pipelining, slow clients, timeouts ==================================


# Review finding F2: failed on 29ae164 and ac0811c, fixed in fd97817; kept as a regression test.
def test_pipelining_client_that_never_reads_cannot_grow_server_memory() -> None:
    """1000 pipelined 27-byte requests, each answered with 60 KiB, from a client that reads nothing:
    the server must stop taking requests once its write buffer is full (nginx and aiohttp do), not
    queue ~60 MB of answers in the transport for the next minute."""
    body = b"z" * (60 * 1024)

    async def handler(req: Request) -> None:
        req.respond(200, b"", body, content_type=b"application/octet-stream")

    async def main() -> None:
        server = Http1Server(handler)
        await server.listen("127.0.0.1", 0)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_connect(sock, ("127.0.0.1", server.ports[0]))
            await loop.sock_sendall(sock, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 1000)
            await asyncio.sleep(2.0)
            buffered = sum(
                c.transport.get_write_buffer_size() for c in server.connections if c.transport is not None
            )
            assert buffered < 4 * 1024 * 1024, f"{buffered / 2**20:.1f} MiB buffered for one client"
        finally:
            sock.close()
            await server.close(grace=0.5)

    run(main())


def test_slowloris_header_is_cut_off_by_the_header_timeout() -> None:
    """A client that sends its header a byte every 50 ms (each well within any per-read timeout) is
    answered 408 and closed once the header took longer than ``header_timeout`` in total."""

    async def handler(req: Request) -> None:
        req.respond(200, b"", b"ok")

    async def main() -> None:
        server = Http1Server(handler, header_timeout=1.0)
        await server.listen("127.0.0.1", 0)
        try:
            async with connect(server.ports[0]) as (r, w):

                async def trickle() -> None:
                    with contextlib.suppress(ConnectionError):
                        for b in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 200:
                            w.write(bytes([b]))
                            await w.drain()
                            await asyncio.sleep(0.05)

                task = asyncio.create_task(trickle())
                started = asyncio.get_running_loop().time()
                async with asyncio.timeout(5):
                    resp = await read_response(r)
                elapsed = asyncio.get_running_loop().time() - started
                task.cancel()
                assert resp.status == 408 and elapsed < 4.0
                assert await at_eof(r, 2.0)
        finally:
            await server.close(grace=0.5)

    run(main())


def test_slow_request_body_gets_408_and_the_connection_closes() -> None:
    async def handler(req: Request) -> None:
        body = req.body
        data = body if isinstance(body, bytes) else await body.read_all(1 << 20)
        req.respond(200, b"", b"%d" % len(data))

    async def main() -> None:
        server = Http1Server(handler, body_timeout=1.0)
        await server.listen("127.0.0.1", 0)
        try:
            async with connect(server.ports[0]) as (r, w):
                w.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"a" * 10)
                async with asyncio.timeout(5):
                    resp = await read_response(r)
                assert resp.status == 408
                assert await at_eof(r, 2.0)
        finally:
            await server.close(grace=0.5)

    run(main())


# == 4. The real Inway process (mTLS) in front of a recording service ================================


class _Recorder(socketserver.StreamRequestHandler):
    """A keep-alive origin that records each request head and answers 200 "ok"."""

    def handle(self) -> None:
        seen: list[bytes] = self.server.seen  # type: ignore[attr-defined]
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = self.rfile.readline(65536)
                if not line:
                    return
                head += line
            fields = head.lower()
            if b"\r\ncontent-length:" in fields:
                n = int(fields.split(b"\r\ncontent-length:")[1].split(b"\r\n")[0])
                self.rfile.read(n)
            elif b"\r\ntransfer-encoding: chunked" in fields:
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    self.rfile.read(size + 2)
                    if size == 0:
                        break
            seen.append(head)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            self.wfile.flush()


class InwayEnv:
    def __init__(self, root: Path) -> None:
        self.origin = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder)
        self.origin.daemon_threads = True
        self.origin.seen = []  # type: ignore[attr-defined]
        threading.Thread(target=self.origin.serve_forever, daemon=True).start()
        port = self.origin.server_address[1]
        self.g = MiniGroup(root)
        self.url, self.proc, self.txlog_url = self.g.start_inway(
            {"rec": f"http://127.0.0.1:{port}", "based": f"http://127.0.0.1:{port}/base"}
        )
        self.host = self.g.provider.host
        self.ctx = self.g.client_ctx(self.g.consumer)

    @property
    def seen(self) -> list[bytes]:
        return self.origin.seen  # type: ignore[attr-defined,no-any-return]

    def token(self, svc: str = "rec") -> str:
        return self.g.mint(svc=svc, aud=self.url)

    def request(
        self, path: str = "/x", extra: str = "", *, svc: str = "rec", body: bytes = b"", creds: bool = True
    ) -> bytes:
        """A request with a fresh token and transaction ID (unless ``creds`` is False) and ``extra``."""
        head = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if creds:
            head += f"Fsc-Authorization: {self.token(svc)}\r\nFsc-Transaction-Id: {new_transaction_id()}\r\n"
        if body:
            head = "POST" + head[3:] + f"Content-Length: {len(body)}\r\n"
        return (head + extra + "\r\n").encode() + body

    def send(self, raw: bytes, answers: int = 1) -> list[tuple[int, bytes, bytes]]:
        """Send ``raw`` over one mTLS connection; ``answers`` responses as (status, head, body)."""
        out = []
        with (
            socket.create_connection((self.host, 443), timeout=10) as s0,
            self.ctx.wrap_socket(s0, server_hostname=self.host) as s,
        ):
            s.sendall(raw)
            f = s.makefile("rb")
            while len(out) < answers:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = f.readline()
                    if not line:
                        return out
                    head += line
                status = int(head.split(b" ", 2)[1])
                if status == 100:  # interim
                    continue
                n = int(head.lower().split(b"\r\ncontent-length:")[1].split(b"\r\n")[0])
                out.append((status, head, f.read(n)))
        return out

    def last_seen(self, before: int) -> list[bytes]:
        deadline = time.monotonic() + 5
        while len(self.seen) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.seen[before:]


@pytest.fixture(scope="module")
def inway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InwayEnv]:
    env = InwayEnv(tmp_path_factory.mktemp("adv-inway"))
    try:
        yield env
    finally:
        env.g.procs.stop_all()
        env.origin.shutdown()
        env.origin.server_close()


def field_values(head: bytes, name: bytes) -> list[bytes]:
    return [
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")[1:]
        if line.split(b":", 1)[0].strip().lower() == name
    ]


def test_inway_forwards_the_verified_credentials_and_strips_hop_by_hop(inway: InwayEnv) -> None:
    before = len(inway.seen)
    txid = new_transaction_id()
    token = inway.token()
    [(status, _, body)] = inway.send(
        inway.request(
            "/x?q=1",
            f"Fsc-Authorization: {token}\r\nFsc-Transaction-Id: {txid}\r\nConnection: keep-alive, X-Hop\r\n"
            "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\n"
            "Expect: 100-continue\r\nX-End: kept\r\n",
            body=b"0123456789",
            creds=False,
        )
    )
    assert (status, body) == (200, b"ok")
    [head] = inway.last_seen(before)
    assert head.startswith(b"POST /x?q=1 HTTP/1.1\r\n")
    assert field_values(head, b"fsc-authorization") == [token.encode()]
    assert field_values(head, b"fsc-transaction-id") == [txid.encode()]
    assert field_values(head, b"x-end") == [b"kept"]
    for hop in (b"x-hop", b"keep-alive", b"proxy-authorization", b"te", b"expect", b"connection"):
        assert field_values(head, hop) == [], hop


# Review finding F7: failed on 29ae164 and ac0811c, fixed in fd97817; kept as a regression test.
@pytest.mark.parametrize("name", ["Fsc-Authorization", "Fsc-Transaction-Id"])
def test_inway_never_forwards_a_second_unverified_credential(inway: InwayEnv, name: str) -> None:
    """A singleton field sent twice: refused (400), or only the value the Inway checked and logged
    reaches the service. Never both: services and frameworks differ in which copy they read."""
    before = len(inway.seen)
    token, txid = inway.token(), new_transaction_id()
    forged = (
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJldmlsIn0." if name == "Fsc-Authorization" else new_transaction_id()
    )
    answers = inway.send(
        inway.request(
            "/dup",
            f"Fsc-Authorization: {token}\r\nFsc-Transaction-Id: {txid}\r\n{name}: {forged}\r\n",
            creds=False,
        )
    )
    assert answers
    if answers[0][0] != 200:
        assert 400 <= answers[0][0] < 500
        return
    [head] = inway.last_seen(before)
    assert forged.encode() not in head, head


# Review finding F7: failed on 29ae164 and ac0811c, fixed in fd97817; kept as a regression test.
def test_inway_forwards_the_credentials_even_if_the_client_lists_them_in_connection(inway: InwayEnv) -> None:
    before = len(inway.seen)
    [(status, _, _)] = inway.send(
        inway.request("/conn", "Connection: Fsc-Authorization, Fsc-Transaction-Id\r\n")
    )
    assert status == 200
    [head] = inway.last_seen(before)
    assert field_values(head, b"fsc-authorization") and field_values(head, b"fsc-transaction-id"), head


# Review finding F11: failed on 29ae164 and ac0811c, fixed in fd97817; kept as a regression test.
@pytest.mark.parametrize("path", ["/../secret", "/%2e%2e/secret"])
def test_inway_keeps_requests_inside_the_service_base_path(inway: InwayEnv, path: str) -> None:
    """Service ``based`` is ``http://origin/base``. A target that climbs out of it is refused (nginx
    answers 400 for a path that climbs above the root) or never leaves ``/base/``."""
    before = len(inway.seen)
    [(status, _, _)] = inway.send(inway.request(path, svc="based"))
    if status == 200:
        [head] = inway.last_seen(before)
        target = head.split(b" ")[1].decode()
        from urllib.parse import unquote

        parts: list[str] = []
        for seg in unquote(target.split("?")[0]).split("/")[1:]:
            if seg == "..":
                if parts:
                    parts.pop()
            elif seg != ".":
                parts.append(seg)
        assert parts[:1] == ["base"], target
    else:
        assert status == 400


def test_inway_refused_path_leaves_no_transaction_record(inway: InwayEnv) -> None:
    """A dot-segment path is refused before the TransactionLog record is written: no record claims a
    transaction that never reached the service."""
    import sqlalchemy as sa

    engine = sa.create_engine(inway.txlog_url)
    try:

        def count() -> int:
            with engine.connect() as conn:
                return int(conn.exec_driver_sql("SELECT count(*) FROM fsc_txlog_records").scalar_one())

        before_records, before_seen = count(), len(inway.seen)
        [(status, body, _)] = inway.send(inway.request("/../secret", svc="based"))
        assert status == 400 and b"ERROR_CODE_INVALID_PATH" in body
        assert count() == before_records and len(inway.seen) == before_seen
        [(status, _, _)] = inway.send(inway.request("/ok", svc="based"))
        assert status == 200 and count() == before_records + 1  # the control: an accepted call is logged
    finally:
        engine.dispose()


def test_inway_pipeline_with_a_failing_log_answers_each_request_in_order(inway: InwayEnv) -> None:
    """The TransactionLog fails while three pipelined requests (one with a body) arrive on one
    connection: three 500 TRANSACTION_LOG_WRITE_ERROR in order, the service sees none; after the
    repair the same kind of pipeline goes through."""
    import sqlalchemy as sa

    engine = sa.create_engine(inway.txlog_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER adv_broken BEFORE INSERT ON fsc_txlog_records "
            "BEGIN SELECT RAISE(ABORT, 'disk'); END"
        )
    before = len(inway.seen)
    try:
        raw = inway.request("/p1") + inway.request("/p2", body=b"x" * 1000) + inway.request("/p3")
        answers = inway.send(raw, 3)
        assert [a[0] for a in answers] == [500, 500, 500]
        assert all(b"TRANSACTION_LOG_WRITE_ERROR" in a[1] for a in answers)
        time.sleep(0.2)
        assert len(inway.seen) == before
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER adv_broken")
        engine.dispose()
    answers = inway.send(inway.request("/p4") + inway.request("/p5"), 2)
    assert [a[0] for a in answers] == [200, 200]


def test_inway_http10_client_and_expect_continue(inway: InwayEnv) -> None:
    """An HTTP/1.0 client (no Host) is served and the connection closed after; a 100-continue POST
    gets the interim answer and then the service's."""
    raw = (
        f"GET /ten HTTP/1.0\r\nFsc-Authorization: {inway.token()}\r\n"
        f"Fsc-Transaction-Id: {new_transaction_id()}\r\n\r\n"
    ).encode()
    [(status, _, _)] = inway.send(raw)
    assert status == 200
    answers = inway.send(inway.request("/cont", "Expect: 100-continue\r\n", body=b"abc"))
    assert [a[0] for a in answers] == [200]


def test_an_unread_body_is_never_parsed_as_the_next_request() -> None:
    """The handler refuses a large POST without reading its body (as the proxies do for a missing token);
    a request hidden in that body must not be taken for the next pipelined request."""
    seen: list[bytes] = []

    async def handler(req: Request) -> None:
        seen.append(req.target)
        req.respond(401, b"", b"no")

    async def main() -> None:
        server = Http1Server(handler)
        await server.listen("127.0.0.1", 0)
        try:
            hidden = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
            body = hidden * 4000  # > 64 KiB: streamed to the handler, which ignores it
            async with connect(server.ports[0]) as (r, w):
                w.write(b"POST /deny HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body))
                w.write(body)
                assert (await read_response(r)).status == 401
                await at_eof(r, 3.0)
            async with connect(server.ports[0]) as (r, w):  # and the same with a chunked body
                w.write(b"POST /deny HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
                w.write(b"%x\r\n%b\r\n" % (len(body), body))  # the last chunk never comes
                assert (await read_response(r)).status == 401
                await at_eof(r, 3.0)
            assert seen == [b"/deny", b"/deny"]
        finally:
            await server.close(grace=0.5)

    run(main())


# F12: found in the review, fixed in 2418694; now a regression test
def test_a_slow_steady_upload_longer_than_the_upstream_timeout_is_not_cut_off() -> None:
    """The client uploads a chunked body steadily (a chunk every 0.1 s for 3 s) through a proxy whose
    upstream timeout is 1.5 s; the origin reads it all and answers. The timeout must bound a wait for
    the upstream, not the length of a healthy upload."""

    async def main() -> None:
        origin = keepalive_origin(b"got it")
        port = await origin.start()
        async with proxy_to(port, timeout=1.5) as proxy, connect(proxy.port) as (r, w):
            w.write(b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                for _ in range(30):
                    w.write(b"a\r\n0123456789\r\n")
                    await w.drain()
                    await asyncio.sleep(0.1)
                w.write(b"0\r\n\r\n")
            try:
                resp = await read_response(r)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                raise AssertionError(f"no response, the proxy dropped the upload: {exc!r}") from None
            assert (resp.status, resp.body) == (200, b"got it"), resp
        assert origin.requests[0][2] == b"0123456789" * 30
        await origin.close()

    run(main())


def test_connection_close_ends_the_pipeline() -> None:
    """Requests pipelined after one that says ``Connection: close`` are not processed (RFC 9112 §9.6)."""

    async def main() -> None:
        origin = keepalive_origin()
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
            )
            assert (await read_response(r)).status == 200
            assert await at_eof(r, 3.0)
        assert [q[0] for q in origin.requests] == ["GET /1 HTTP/1.1"]
        await origin.close()

    run(main())


def test_http10_client_gets_a_close_delimited_copy_of_a_chunked_response() -> None:
    """An HTTP/1.0 client cannot read chunked: the streamed body is delimited by closing instead."""

    async def main() -> None:
        origin = scripted_origin(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.0\r\n\r\n")
            resp = await read_response(r)
            assert resp.status == 200 and resp.body == b"hello world"
            assert resp.get("Transfer-Encoding") is None and resp.get("Content-Length") is None
        await origin.close()

    run(main())


# F13: found in the review, fixed in 2418694; now a regression test
def test_inway_refuses_dot_dot_semicolon_segments(inway: InwayEnv) -> None:
    before = len(inway.seen)
    [(status, _, _)] = inway.send(inway.request("/..;/secret", svc="based"))
    if status == 200:
        [head] = inway.last_seen(before)
        target = head.split(b" ")[1].decode()
        assert ";" not in target.split("?")[0] or "..;" not in target, target
    else:
        assert status == 400


# F14: found in the review, fixed in 2418694; now a regression test
def test_an_early_error_answer_to_a_large_upload_reaches_the_client() -> None:
    """The proxies refuse many requests before reading the body (no token, no grant hash, log failure).
    With a body over 64 KiB the connection is closed at once; data still arriving then triggers a
    reset. Whether the answer survives depends on the client and its TCP stack (here: an asyncio-streams
    client loses it 3/3). nginx (``lingering_close``) and aiohttp's server (``lingering_time``) keep
    reading and discarding for a while so that no client loses the answer."""

    async def handler(req: Request) -> None:
        req.respond(401, b"", b"no token\n")

    async def main() -> None:
        server = Http1Server(handler)
        await server.listen("127.0.0.1", 0)
        body = b"x" * (8 * 1024 * 1024)
        got: list[object] = []
        try:
            for _ in range(3):
                async with connect(server.ports[0]) as (r, w):
                    w.write(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body))
                    with contextlib.suppress(ConnectionError):
                        for k in range(0, len(body), 65536):
                            w.write(body[k : k + 65536])
                            await w.drain()
                    try:
                        got.append((await read_response(r)).status)
                    except ConnectionError as exc:
                        got.append(type(exc).__name__)
        finally:
            await server.close(grace=0.5)
        assert got == [401, 401, 401]

    run(main())


def test_inway_token_error_for_a_large_upload_reaches_the_client(inway: InwayEnv) -> None:
    """Over TLS the close waits for the peer's close_notify, which reads (and drops) the rest of the
    upload, so the 401 arrives (no reset, unlike F14 on plain TCP, the Outway's default listener)."""
    body = b"x" * (4 * 1024 * 1024)
    raw = inway.request("/upload", body=body, creds=False)
    outcome: object
    with (
        socket.create_connection((inway.host, 443), timeout=10) as s0,
        inway.ctx.wrap_socket(s0, server_hostname=inway.host) as s,
    ):
        try:
            with contextlib.suppress(OSError):
                for k in range(0, len(raw), 65536):
                    s.sendall(raw[k : k + 65536])
            outcome = s.recv(200)[:12]
        except OSError as exc:
            outcome = type(exc).__name__
    assert outcome == b"HTTP/1.1 401", outcome


@pytest.mark.parametrize(
    "ending",
    [
        "close_notify",
        pytest.param("ragged"),  # F15: fixed in 2418694; now a regression test
    ],
)
def test_tls_close_delimited_body_needs_a_closure_alert(inway: InwayEnv, ending: str) -> None:
    """An HTTPS origin (certificate from the test group) sends a body without Content-Length or chunked
    and then closes TCP without a TLS closure alert, as a network attacker injecting a FIN would make
    it look. RFC 9112 §9.8: such a response is complete only with a valid closure alert."""
    g, host = inway.g, inway.g.provider.host
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(g.provider.chain), str(g.provider.key))
    lsock = socket.socket()
    lsock.bind((host, 0))
    lsock.listen()
    port = lsock.getsockname()[1]

    def serve_once() -> None:
        c, _ = lsock.accept()
        with contextlib.suppress(OSError):
            s = sctx.wrap_socket(c, server_side=True)
            s.recv(65536)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 1000)
            time.sleep(0.2)
            if ending == "ragged":
                s.shutdown(socket.SHUT_RDWR)  # FIN, no close_notify
            else:
                s.unwrap()
        c.close()

    threading.Thread(target=serve_once, daemon=True).start()
    cctx = ssl.create_default_context(cafile=str(g.ca.cert))

    async def main() -> None:
        pool = UpstreamPool(cctx)
        up = Upstream.from_url(f"https://{host}:{port}")

        async def handle(req: Request) -> None:
            head = upstream_head(req, up, req.origin_form, req.forward_fields())
            try:
                resp = await pool.request(
                    up.host, up.port, head, req.body, tls=True, server_hostname=host, timeout=5
                )
            except UpstreamError:
                req.respond(502, b"", b"bad gateway")
                return
            await relay_response(req, resp)

        server = Http1Server(handle)
        await server.listen("127.0.0.1", 0)
        try:
            async with connect(server.ports[0]) as (r, w):
                w.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                resp = await read_response(r)
                if ending == "ragged":
                    assert resp.status == 502 or not resp.complete, "a truncated TLS body relayed as complete"
                else:
                    assert (resp.status, resp.complete, resp.body) == (200, True, b"x" * 1000)
        finally:
            await server.close(grace=0.5)
            await pool.close()
            lsock.close()

    run(main())


def test_outway_error_for_a_large_upload_reaches_the_client(inway: InwayEnv) -> None:
    """The F14 situation end to end with a common client: httpx uploads 8 MiB to a real Outway process
    (plain TCP listener, its default) without ``Fsc-Grant-Hash``; the Outway refuses before reading the
    body and resets. httpx (like curl and aiohttp) still reads the 400 after its write error on Linux —
    a regression test that this stays so."""
    import httpx

    url, proc, _ = inway.g.start_outway(inway.g.consumer, {})
    try:
        outcomes: list[object] = []
        with httpx.Client(timeout=10) as client:
            for _ in range(3):
                try:
                    outcomes.append(
                        client.post(url + "/upload", content=b"x" * (8 * 1024 * 1024)).status_code
                    )
                except httpx.HTTPError as exc:
                    outcomes.append(type(exc).__name__)
        assert outcomes == [400, 400, 400], outcomes
    finally:
        inway.g.procs.stop(proc)


def test_zz_inway_log_has_no_tracebacks_after_the_hostile_clients(inway: InwayEnv) -> None:
    """Runs last in this module: nothing above made an exception escape into the Inway's event loop."""
    inway.send(inway.request("/final"))
    log = inway.proc.log.read_text(errors="replace")
    assert "Traceback" not in log and "Exception in callback" not in log, inway.proc.tail(60)
