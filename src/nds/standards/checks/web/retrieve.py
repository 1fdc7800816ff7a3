"""Network retrieval for the website test: HTTP(S) responses per address, security.txt, CAA.

Every connection goes to a pinned address (from ``--connect-to`` or DNS) while SNI, the Host header
and certificate names stay the host name. Redirects are followed only on the same host, by hand, so
the first response of each hop is recorded (HSTS is judged on the first HTTPS response).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from nds.standards.checks.tls.probe import HandshakeCounter
from nds.standards.net import NetworkConfig

MAX_BODY = 256 * 1024
MAX_REDIRECTS = 10
USER_AGENT = "nds-standards-check/1 (+https://github.com/; self-check)"


@dataclass
class Response:
    url: str
    status: int
    headers: list[tuple[str, str]]  # in order, duplicates kept
    body: bytes = b""
    error: str | None = None
    first_url: str | None = None  # the URL asked before redirects (security.txt), if it differs

    def header(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def to_json(self, *, body: bool = False) -> dict[str, Any]:
        """Plain data; the body only when asked (security.txt), else just its length."""
        out: dict[str, Any] = {
            "url": self.url,
            "status": self.status,
            "headers": [list(h) for h in self.headers],
        }
        if self.error:
            out["error"] = self.error
        if self.first_url:
            out["first_url"] = self.first_url
        if body:
            out["body"] = base64.b64encode(self.body).decode()
        else:
            out["body_length"] = len(self.body)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Response:
        return cls(
            data["url"],
            int(data["status"]),
            [(str(k), str(v)) for k, v in data.get("headers", [])],
            base64.b64decode(data["body"]) if "body" in data else b"",
            data.get("error"),
            data.get("first_url"),
        )


@dataclass
class HttpFacts:
    """What one address said over HTTP and HTTPS."""

    address: str
    http_chain: list[Response] = field(default_factory=list)  # http://host/ and same-host hops
    http_error: str | None = None  # connection to port 80 failed (then: no HTTP offered)
    https_chain: list[Response] = field(default_factory=list)  # https://host/ and same-host hops
    https_error: str | None = None
    security_txt: list[Response] = field(default_factory=list)  # well-known first, then legacy path
    content_encoding: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "http_chain": [r.to_json() for r in self.http_chain],
            "http_error": self.http_error,
            "https_chain": [r.to_json() for r in self.https_chain],
            "https_error": self.https_error,
            "security_txt": [r.to_json(body=True) for r in self.security_txt],
            "content_encoding": self.content_encoding,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HttpFacts:
        return cls(
            address=data["address"],
            http_chain=[Response.from_json(r) for r in data.get("http_chain", [])],
            http_error=data.get("http_error"),
            https_chain=[Response.from_json(r) for r in data.get("https_chain", [])],
            https_error=data.get("https_error"),
            security_txt=[Response.from_json(r) for r in data.get("security_txt", [])],
            content_encoding=data.get("content_encoding"),
        )


class _Pinned(AbstractResolver):
    """Pinned addresses only; other hosts resolve normally only when ``fallback`` (no overrides at all:
    the real-world CLI). With overrides — tests, the web app's guarded self-check — nothing else is
    reachable."""

    def __init__(self, pins: dict[tuple[str, int], tuple[str, int]], fallback: bool = False):
        self.pins = pins
        self.fallback = aiohttp.ThreadedResolver() if fallback else None

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        target = self.pins.get((host.lower().rstrip("."), port))
        if target is None and self.fallback is not None:
            return await self.fallback.resolve(host, port, socket.AddressFamily(family))
        if target is None:
            raise OSError(f"no pinned address for {host}:{port}")
        addr, aport = target
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        return [
            ResolveResult(
                hostname=host, host=addr, port=aport, family=fam, proto=0, flags=socket.AI_NUMERICHOST
            )
        ]

    async def close(self) -> None:
        if self.fallback is not None:
            await self.fallback.close()


def _client_ssl() -> ssl.SSLContext:
    """Lenient: headers are read even when the certificate is bad (trust is its own subtest)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with contextlib.suppress(ssl.SSLError):
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    timeout: float,
    *,
    want_body: bool = True,
    compression: bool = False,
) -> Response:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip, deflate, br" if compression else "identity",
    }
    try:
        async with session.get(
            url,
            allow_redirects=False,
            headers=headers,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            body = b""
            if want_body:
                body = await resp.content.read(MAX_BODY)
            return Response(
                url,
                resp.status,
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers],
                body,
            )
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        return Response(url, 0, [], error=f"{type(exc).__name__}: {exc}".strip(": "))


async def _chain(
    session: aiohttp.ClientSession,
    url: str,
    host: str,
    timeout: float,
    *,
    other_hosts: bool = False,
    **kw: Any,
) -> list[Response]:
    """Follow redirects while they stay on ``host`` (any scheme); stop at the first other host, unless
    ``other_hosts`` (security.txt, RFC 9116 §3: redirects allowed, HTTPS only)."""
    out: list[Response] = []
    for _ in range(MAX_REDIRECTS):
        r = await _get(session, url, timeout, **kw)
        out.append(r)
        loc = r.header("location")
        if r.error or not (300 <= r.status < 400) or not loc:
            break
        nxt = urljoin(url, loc[0])
        parts = urlsplit(nxt)
        if (parts.hostname or "").lower().rstrip(".") != host and not (
            other_hosts and parts.scheme == "https"
        ):
            break
        url = nxt
    return out


def pin(net: NetworkConfig, host: str, port: int, address: str) -> tuple[str, int]:
    """Where (host, port) on ``address`` really goes. A ``--connect-to HOST:PORT::PORT`` with an empty
    address (as curl) keeps the resolved address and only changes the port."""
    routed = net.route(host, port)
    if routed is None:
        return address, port
    return (routed[0] or address), routed[1]


async def retrieve_http(
    host: str,
    address: str,
    net: NetworkConfig,
    counter: HandshakeCounter,
    https_port: int = 443,
) -> HttpFacts:
    """HTTP and HTTPS facts for ``host`` served at ``address`` (HTTPS on ``https_port``; plain HTTP on
    port 80 of the same address unless ``--connect-to`` moves it)."""
    pins = {(c.host, c.port): (c.addr, c.addr_port) for c in net.connect_to if c.addr}  # other hosts
    pins[(host, 443)] = (address, https_port)
    pins[(host, 80)] = pin(net, host, 80, address)
    facts = HttpFacts(address=address)
    trace = aiohttp.TraceConfig()
    last_scheme = ["https"]

    async def on_request(_s: Any, _c: Any, params: aiohttp.TraceRequestStartParams) -> None:
        last_scheme[0] = params.url.scheme

    async def on_connection(_s: Any, _c: Any, _p: Any) -> None:
        if last_scheme[0] == "https":  # every new HTTPS connection is one TLS handshake
            counter.add()

    trace.on_request_start.append(on_request)
    trace.on_connection_create_end.append(on_connection)
    resolver = _Pinned(pins, fallback=not net.connect_to)
    connector = aiohttp.TCPConnector(resolver=resolver, ssl=_client_ssl(), limit=2, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
        base = f"https://{host}/"
        facts.https_chain = await _chain(session, base, host, net.timeout, compression=True)
        if facts.https_chain and facts.https_chain[0].error:
            facts.https_error = facts.https_chain[0].error
        else:
            first = facts.https_chain[0]
            enc = first.header("content-encoding")
            facts.content_encoding = enc[0].strip().lower() if enc else None
            for path in ("/.well-known/security.txt", "/security.txt"):
                chain = await _chain(
                    session, urljoin(base, path), host, net.timeout, want_body=True, other_hosts=True
                )
                final = chain[-1]
                if len(chain) > 1:
                    final.first_url = chain[0].url
                facts.security_txt.append(final)
                if chain[-1].status == 200:
                    break
        http_chain = await _chain(session, f"http://{host}/", host, net.timeout)
        if http_chain and http_chain[0].error:
            facts.http_error = http_chain[0].error
        facts.http_chain = http_chain
    return facts
