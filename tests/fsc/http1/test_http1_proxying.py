"""nds.fsc.http1 client and proxy path: pooling, streaming with backpressure, broken upstreams."""

from __future__ import annotations

import asyncio
import hashlib

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

from nds.fsc.http1.body import HIGH_WATER

pytestmark = pytest.mark.integration


def test_keep_alive_reuses_one_upstream_connection() -> None:
    async def main() -> None:
        origin = keepalive_origin(b"x" * 1000)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            for i in range(20):
                w.write(b"GET /n/%d?q=1 HTTP/1.1\r\nHost: proxy\r\n\r\n" % i)
                resp = await read_response(r)
                assert resp.status == 200 and resp.body == b"x" * 1000
                assert resp.get("Via") == "1.1 test"
            # HEAD keeps the origin's Content-Length, and the connection stays usable after it
            w.write(b"HEAD /h HTTP/1.1\r\nHost: proxy\r\n\r\n")
            head = await read_response(r, head=True)
            assert head.status == 200 and head.get("Content-Length") == "1000"
            w.write(b"GET /after-head HTTP/1.1\r\nHost: proxy\r\n\r\n")
            assert (await read_response(r)).body == b"x" * 1000
        assert origin.connections == 1
        assert proxy.pool.connects == 1
        assert [q[0] for q in origin.requests[:2]] == ["GET /n/0?q=1 HTTP/1.1", "GET /n/1?q=1 HTTP/1.1"]
        assert origin.requests[-1][0] == "GET /after-head HTTP/1.1"
        await origin.close()

    run(main())


def test_hop_by_hop_fields_are_removed_both_ways() -> None:
    async def main() -> None:
        origin = keepalive_origin(
            extra=b"Connection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\nX-Keep: yes\r\n"
        )
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(
                b"GET / HTTP/1.1\r\nHost: proxy\r\nConnection: keep-alive, X-Private\r\nX-Private: p\r\n"
                b"TE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: x\r\nKeep-Alive: 1\r\n"
                b"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX-End: 1\r\n\r\n"
            )
            resp = await read_response(r)
        sent = {k.lower(): v for k, v in origin.requests[0][1]}
        for gone in ("x-private", "te", "upgrade", "proxy-authorization", "keep-alive", "connection"):
            assert gone not in sent, sent
        assert sent["traceparent"].startswith("00-0af7") and sent["x-end"] == "1"
        assert sent["host"] == f"127.0.0.1:{port}"
        assert resp.get("Date")  # the origin sent none: the proxy adds it (RFC 9110 §6.6.1)
        names = {k.lower() for k, _ in resp.headers}
        assert "x-secret" not in names and "keep-alive" not in names and resp.get("X-Keep") == "yes"
        await origin.close()

    run(main())


def test_a_field_the_proxy_sets_replaces_the_upstream_one() -> None:
    """The Outway answers with its own Fsc-Transaction-Id: one value, even when the service echoed one."""

    async def main() -> None:
        origin = keepalive_origin(extra=b"Fsc-Transaction-Id: from-the-service\r\nX-Keep: yes\r\n")
        port = await origin.start()
        async with (
            proxy_to(
                port, extra=b"Fsc-Transaction-Id: ours\r\n", drop=frozenset({b"fsc-transaction-id"})
            ) as proxy,
            connect(proxy.port) as (r, w),
        ):
            w.write(b"GET / HTTP/1.1\r\nHost: proxy\r\n\r\n")
            resp = await read_response(r)
        values = [v for k, v in resp.headers if k.lower() == "fsc-transaction-id"]
        assert values == ["ours"] and resp.get("X-Keep") == "yes"
        await origin.close()

    run(main())


def test_large_request_bodies_stream_through_intact() -> None:
    async def main() -> None:
        origin = keepalive_origin(b"ok")
        port = await origin.start()
        payload = bytes(range(256)) * 4096  # 1 MiB
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"PUT /cl HTTP/1.1\r\nHost: p\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
            assert (await read_response(r)).status == 200
            w.write(b"POST /ch HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(payload), 100_000):
                part = payload[i : i + 100_000]
                w.write(b"%x\r\n%b\r\n" % (len(part), part))
            w.write(b"0\r\n\r\n")
            assert (await read_response(r)).status == 200
        (line1, h1, b1), (line2, h2, b2) = origin.requests
        assert line1.startswith("PUT /cl ") and line2.startswith("POST /ch ")
        assert b1 == payload and ("Content-Length", str(len(payload))) in h1
        assert b2 == payload and ("Transfer-Encoding", "chunked") in h2
        await origin.close()

    run(main())


def test_streaming_to_a_slow_reader_keeps_memory_bounded() -> None:
    total = 48 * 1024 * 1024
    chunk = b"z" * 65536

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        while o.sent < total:
            w.write(chunk)
            await w.drain()
            o.sent += len(chunk)

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET /big HTTP/1.1\r\nHost: p\r\n\r\n")
            await asyncio.sleep(1.5)  # the client reads nothing
            stalled = origin.sent
            (conn,) = proxy.server.connections
            assert conn.transport is not None
            # the proxy holds at most its stream high-water mark plus its transport's write buffer
            assert conn.transport.get_write_buffer_size() <= 1024 * 1024
            assert stalled < total / 2, stalled  # the origin was made to wait, not drained into RAM
            resp = await read_response(r)
            assert resp.complete and len(resp.body) == total
            assert hashlib.sha256(resp.body).digest() == hashlib.sha256(b"z" * total).digest()
        assert HIGH_WATER <= 1024 * 1024
        await origin.close()

    run(main(), timeout=120)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_upstream_dying_mid_body_closes_the_client_connection(framing: str) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        if framing == "chunked":
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(8):
                w.write(b"10000\r\n" + b"a" * 65536 + b"\r\n")
        else:
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n" + b"a" * 500_000)
        await w.drain()
        w.transport.abort()  # dies mid-body

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET /x HTTP/1.1\r\nHost: p\r\n\r\n")
            resp = await read_response(r)
            assert resp.status == 200 and not resp.complete  # never a truncated message that looks whole
            assert await at_eof(r)
        await origin.close()

    run(main())


def test_small_broken_response_timeout_and_refused_become_gateway_errors() -> None:
    async def broken(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a part")
        await w.drain()
        w.transport.abort()

    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        await read_request(r)
        await asyncio.sleep(30)

    async def main() -> None:
        for handler, status in ((broken, 502), (silent, 504)):
            origin = Origin(handler)
            port = await origin.start()
            async with proxy_to(port, timeout=0.5) as proxy, connect(proxy.port) as (r, w):
                w.write(b"GET / HTTP/1.1\r\nHost: p\r\n\r\n")
                resp = await read_response(r)
                assert resp.status == status, resp
                assert b"only a part" not in resp.body
                w.write(b"GET / HTTP/1.1\r\nHost: p\r\n\r\n")  # the client connection survives
                assert (await read_response(r)).status == status
            await origin.close()
        origin = keepalive_origin()
        port = await origin.start()
        await origin.close()
        assert origin.server is not None
        await origin.server.wait_closed()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"GET / HTTP/1.1\r\nHost: p\r\n\r\n")
            assert (await read_response(r)).status == 502  # connection refused

    run(main())


def test_a_pooled_connection_closed_by_the_upstream_is_not_fatal() -> None:
    """The origin closes each keep-alive connection right after answering (without saying so): the
    next request must not fail because it picked the dead connection."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        req = await read_request(r)
        assert req is not None
        o.requests.append(req)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await w.drain()

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            for _ in range(10):
                w.write(b"GET / HTTP/1.1\r\nHost: p\r\n\r\n")
                assert (await read_response(r)).status == 200
        assert len(origin.requests) == 10
        await origin.close()

    run(main())


def test_interim_responses_are_skipped_and_head_with_chunked_keeps_the_connection() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, o: Origin) -> None:
        while (req := await read_request(r)) is not None:
            o.requests.append(req)
            if req[0].startswith("HEAD "):
                w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kind: head\r\n\r\n")
            else:
                w.write(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
                w.write(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone")
            await w.drain()

    async def main() -> None:
        origin = Origin(handler)
        port = await origin.start()
        async with proxy_to(port) as proxy, connect(proxy.port) as (r, w):
            w.write(b"HEAD /h HTTP/1.1\r\nHost: p\r\n\r\n")
            head = await read_response(r, head=True)
            assert head.status == 200 and head.get("X-Kind") == "head"
            assert head.get("Transfer-Encoding") is None and head.get("Content-Length") is None
            w.write(b"POST /p HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\nhi")
            resp = await read_response(r)
            assert resp.status == 201 and resp.reason == "Created" and resp.body == b"done"
        assert origin.connections == 1 and proxy.pool.connects == 1
        await origin.close()

    run(main())
