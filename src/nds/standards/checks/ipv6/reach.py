"""Connections to one address at a time, honouring ``--connect-to`` (also per address literal)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import ssl

import dns.asyncquery
import dns.exception
import dns.message

from nds.standards.net import NetworkConfig

MAX_BODY = 512 * 1024


def route_address(net: NetworkConfig, host: str, address: str, port: int) -> tuple[str, int]:
    """Where a connection to ``address``:``port`` (of ``host``) goes: an override for the address
    literal wins, then one for the host name, else the address itself."""
    return net.route(address, port) or net.route(host, port) or (address, port)


async def tcp_reachable(net: NetworkConfig, host: str, address: str, port: int) -> bool:
    addr, p = route_address(net, host, address, port)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(addr, p), net.timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 2)
    return True


async def dns_reachable(net: NetworkConfig, host: str, address: str, qname: str) -> bool:
    """Does the name server at ``address`` answer a query (any rcode) over UDP or TCP?"""
    addr, port = route_address(net, host, address, 53)
    q = dns.message.make_query(qname, "SOA")
    for _ in range(net.retries + 1):
        with contextlib.suppress(dns.exception.DNSException, OSError):
            await dns.asyncquery.udp_with_fallback(q, addr, timeout=net.dns_timeout, port=port)
            return True
    return False


async def http_fetch(
    net: NetworkConfig, host: str, address: str, port: int, use_tls: bool
) -> tuple[int, bytes] | None:
    """GET / from one address with the right Host/SNI; certificate not verified (content only)."""
    addr, p = route_address(net, host, address, port)
    ctx: ssl.SSLContext | None = None
    if use_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(addr, p, ssl=ctx, server_hostname=host if ctx else None), net.timeout
        )
    except (TimeoutError, OSError, ssl.SSLError):
        return None
    try:
        writer.write(
            f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: nds-check\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        data = b""
        while len(data) < MAX_BODY:
            chunk = await asyncio.wait_for(reader.read(65536), net.timeout)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, OSError, ssl.SSLError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 2)
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", head)
    return (int(m.group(1)), body) if m else None


def simhash(text: bytes, bits: int = 64) -> int:
    """Charikar simhash over word 3-shingles: near-identical pages get a small Hamming distance."""
    words = re.findall(rb"\w+", text.lower())
    shingles = [b" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))] or [b""]
    acc = [0] * bits
    for s in shingles:
        h = int.from_bytes(hashlib.blake2b(s, digest_size=bits // 8).digest(), "big")
        for i in range(bits):
            acc[i] += 1 if h >> i & 1 else -1
    return sum(1 << i for i in range(bits) if acc[i] > 0)


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()
