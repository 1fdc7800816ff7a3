"""The SMTP client against odd servers on loopback (garbage, 5xx, huge lines, silence)."""

from __future__ import annotations

import asyncio

import pytest

from nds.standards.checks.mail.smtp import session
from nds.standards.net import NetworkConfig

pytestmark = pytest.mark.integration

NET = NetworkConfig(timeout=1.0, retries=1, extra={"smtp_retry_delay": "0.05", "ehlo_name": "checker.test"})


async def _against(greeting: bytes, *, close: bool = True) -> tuple[str, str, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        await writer.drain()
        if close:
            writer.close()
        else:
            await asyncio.sleep(3)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        res, stream = await session("127.0.0.1", port, NET)
        assert stream is None
        return res.outcome, res.detail, res.attempts
    finally:
        server.close()


@pytest.mark.parametrize(
    ("greeting", "outcome", "fragment"),
    [
        (b"554 5.7.1 no thanks\r\n", "refused", "554"),
        (b"HTTP/1.1 400 Bad Request\r\n", "transient", "malformed"),
        (b"220 " + b"x" * 70000 + b"\r\n", "refused", "protocol error"),
        (b"", "transient", "closed"),
    ],
)
def test_odd_servers(greeting: bytes, outcome: str, fragment: str) -> None:
    got, detail, _ = asyncio.run(_against(greeting))
    assert got == outcome and fragment in detail


def test_silent_server_times_out_and_is_retried() -> None:
    got, detail, attempts = asyncio.run(_against(b"", close=False))
    assert got == "transient" and "no SMTP reply within 1 s" in detail and attempts == 2


def test_refused_port_is_unreachable() -> None:
    from dnsinfra import free_port

    res, _ = asyncio.run(session("127.0.0.1", free_port("127.0.0.1"), NET))
    assert res.outcome == "unreachable" and res.attempts == 2
