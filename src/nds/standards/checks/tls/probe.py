"""Sending one crafted ClientHello and reading the server's plaintext answer (asyncio)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass

from nds.standards.checks.tls import wire


@dataclass
class HandshakeCounter:
    """Counts TLS handshakes (ClientHellos sent) so a test can be held to its budget."""

    count: int = 0

    def add(self, n: int = 1) -> None:
        self.count += n


class Unreachable(Exception):
    """TCP connection refused or timed out."""


async def _read_exact(reader: asyncio.StreamReader, n: int) -> bytes:
    return await reader.readexactly(n)


async def exchange(
    addr: str,
    port: int,
    hello: bytes,
    *,
    timeout: float,
    counter: HandshakeCounter,
    tls13: bool,
    retries: int = 1,
    retry_delay: float = 0.5,
) -> wire.ServerAnswer:
    """Send ``hello`` and parse the reply. Refusals become ``ServerAnswer(alert=...)``.

    A connection that cannot be made, or an answer that times out, is retried ``retries`` times after
    ``retry_delay`` seconds (rate limits and packet loss must not look like a refusal or an outage);
    a TLS alert or a closed connection is an answer and is never retried. A server that still does not
    answer counts as refusing this hello (``alert=-3``); one that cannot be reached raises Unreachable.
    """
    for attempt in range(retries + 1):
        try:
            return await _exchange_once(addr, port, hello, timeout=timeout, counter=counter, tls13=tls13)
        except _TimedOut:
            if attempt == retries:
                return wire.ServerAnswer(alert=-3)
        except Unreachable:
            if attempt == retries:
                raise
        await asyncio.sleep(retry_delay * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


class _TimedOut(Unreachable):
    """The server accepted the connection but did not answer in time."""


async def _exchange_once(
    addr: str, port: int, hello: bytes, *, timeout: float, counter: HandshakeCounter, tls13: bool
) -> wire.ServerAnswer:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(addr, port), timeout)
    except ConnectionRefusedError as exc:
        raise Unreachable(f"{addr} port {port}: connection refused") from exc
    except TimeoutError as exc:
        raise Unreachable(f"{addr} port {port}: connection timed out") from exc
    except OSError as exc:
        raise Unreachable(f"{addr} port {port}: {exc.strerror or exc}") from exc
    counter.add()
    ans = wire.ServerAnswer()
    try:
        writer.write(hello)
        await writer.drain()
        await asyncio.wait_for(_read_flight(reader, ans, tls13), timeout)
    except TimeoutError as exc:
        if ans.version is None and ans.alert is None:
            raise _TimedOut(f"{addr} port {port}: no answer within {timeout:g} s") from exc
    except (asyncio.IncompleteReadError, ConnectionError):
        if ans.version is None and ans.alert is None:
            ans.alert = -1  # closed without answer: a refusal
    except (wire.ProtocolError, struct.error, IndexError, ValueError):
        ans = wire.ServerAnswer(alert=-2)  # not TLS, or a malformed handshake: a refusal
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return ans


async def _read_flight(reader: asyncio.StreamReader, ans: wire.ServerAnswer, tls13: bool) -> None:
    buf = b""
    while True:
        header = await _read_exact(reader, 5)
        ctype, _rver, length = (
            header[0],
            struct.unpack("!H", header[1:3])[0],
            struct.unpack("!H", header[3:5])[0],
        )
        if ctype not in (20, 21, 22, 23) or length > 18432:
            raise wire.ProtocolError("not a TLS record")
        payload = await _read_exact(reader, length)
        if ctype == 21:  # alert
            if ans.version is None:
                ans.alert = payload[1] if len(payload) > 1 else -1
            return
        if ctype != 22:
            return  # ChangeCipherSpec / encrypted data: the plaintext part is over
        buf += payload
        while len(buf) >= 4:
            mtype = buf[0]
            mlen = int.from_bytes(buf[1:4], "big")
            if len(buf) < 4 + mlen:
                break
            msg, buf = buf[4 : 4 + mlen], buf[4 + mlen :]
            if mtype == wire.HS_SERVER_HELLO:
                wire.parse_server_hello(msg, ans)
                if tls13 or ans.version == wire.TLS13 or ans.hrr:
                    return
            elif mtype == wire.HS_CERTIFICATE:
                wire.parse_certificate(msg, ans)
            elif mtype == wire.HS_SERVER_KEY_EXCHANGE:
                wire.parse_server_key_exchange(msg, ans)
            elif mtype == wire.HS_CERT_STATUS:
                ans.ocsp_stapled = len(msg) > 4
            elif mtype == wire.HS_SERVER_HELLO_DONE:
                return


async def probe_sslv2(addr: str, port: int, *, timeout: float, counter: HandshakeCounter) -> bool:
    """One SSL 2.0 CLIENT-HELLO; True when the server answers with an SSL 2.0 SERVER-HELLO."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(addr, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise Unreachable(f"{addr} port {port}: {exc}") from exc
    counter.add()
    try:
        writer.write(wire.ssl2_client_hello())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(2048), timeout)
        return wire.parse_ssl2_server_hello(data)
    except (OSError, TimeoutError, struct.error, IndexError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
