"""Network retrieval for the API check (the only module here that does I/O).

- ``openapi.json`` is fetched unauthenticated (no cookies, no credentials) with an ``Origin``
  header so the CORS answer can be judged; the body is capped (``MAX_DOCUMENT_BYTES``).
- Remote ``$ref``s are never fetched (see ``rules.doc``).
- Connections honour ``NetworkConfig.connect_to`` (curl's ``--connect-to``): SNI, Host and the
  certificate check keep the original host name. ``ca_file`` adds trust anchors.
- An optional ``guard`` vets every address a connection is about to use, after DNS and on every
  redirect hop; the web self-check uses it to refuse loopback, private, link-local and metadata
  targets (``nds.standards.ssrf``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from nds.standards.net import NetworkConfig

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_OTHER_BYTES = 256 * 1024
MAX_REDIRECTS = 5
PROBE_ORIGIN = "https://zelftest.nds.invalid"
USER_AGENT = "nds-standards-check/0.1 (+API Design Rules self-check)"

#: Answers that mean "not now" (rate limits, overload): retried, then reported as error, never as failure.
RATE_LIMITED = (429, 503)
MAX_RETRY_WAIT = 5.0

#: A guard gets (host name, address) and raises ``TargetRefused`` to stop the connection.
Guard = Callable[[str, str], None]


class TargetRefused(Exception):
    """The target (or a redirect hop) is not allowed, e.g. a private address in the web self-check."""


class ResponseTooLarge(Exception):
    pass


class _Resolver(AbstractResolver):
    """Applies ``--connect-to`` overrides, then system DNS, then the guard, for every connection."""

    def __init__(self, net: NetworkConfig, guard: Guard | None) -> None:
        self.net = net
        self.guard = guard
        self._default = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        routed = self.net.route(host, port)
        if routed is not None:
            addr, rport = routed
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            results: list[ResolveResult] = [
                {
                    "hostname": host,
                    "host": addr,
                    "port": rport,
                    "family": fam,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            ]
        else:
            results = await self._default.resolve(host, port, family)
        if self.guard is not None:
            for r in results:
                self.guard(host, r["host"])
        return results

    async def close(self) -> None:
        await self._default.close()


def ssl_context(net: NetworkConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if net.ca_file is not None:
        ctx.load_verify_locations(cafile=str(net.ca_file))
    return ctx


def make_session(
    net: NetworkConfig, guard: Guard | None = None, limit_per_host: int = 2
) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        resolver=_Resolver(net, guard),
        ssl=ssl_context(net),
        limit_per_host=limit_per_host,
        use_dns_cache=False,
    )
    timeout = aiohttp.ClientTimeout(total=net.timeout * 2, connect=net.timeout, sock_read=net.timeout)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
    )


@dataclass
class Fetched:
    """One HTTP exchange (after redirects) as facts; never holds credentials."""

    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; repeated joined by ", "
    body: bytes = b""
    error: str | None = None
    redirects: list[str] = field(default_factory=list)
    scheme: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def facts(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "redirects": self.redirects,
            "headers": {k: v for k, v in self.headers.items() if k not in ("set-cookie",)},
        }


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        wait = float(value) if value is not None else 0.5 * attempt
    except ValueError:
        wait = 0.5 * attempt  # an HTTP-date: do not wait long for it
    return max(0.0, min(wait, MAX_RETRY_WAIT))


def check_literal(url: str, guard: Guard | None) -> None:
    """Literal IP addresses skip the resolver: vet them here (aiohttp connects to them directly)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(f"only http and https URLs can be checked, not {parts.scheme or 'no scheme'}")
    host = (parts.hostname or "").strip("[]")
    if not host:
        raise TargetRefused("the URL has no host")
    if guard is None:
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        guard(host, "")  # name-based refusals (localhost, metadata names); addresses follow after DNS
        return
    guard(host, host)


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    guard: Guard | None = None,
    max_bytes: int = MAX_OTHER_BYTES,
    headers: dict[str, str] | None = None,
    max_redirects: int = MAX_REDIRECTS,
    retries: int = 0,
) -> Fetched:
    """GET ``url`` following at most ``max_redirects`` redirects, each hop vetted by ``guard``."""
    out = Fetched(url=url)
    current = url
    for _hop in range(max_redirects + 1):
        check_literal(current, guard)
        attempt = 0
        while True:
            try:
                async with session.get(current, allow_redirects=False, headers=headers or {}) as resp:
                    out.url = current
                    out.scheme = urlsplit(current).scheme
                    out.status = resp.status
                    out.headers = {}
                    for k, v in resp.headers.items():
                        lk = k.lower()
                        out.headers[lk] = f"{out.headers[lk]}, {v}" if lk in out.headers else v
                    if resp.status in RATE_LIMITED and attempt < retries:
                        attempt += 1  # rate limited: wait (Retry-After, capped) and ask again
                        await asyncio.sleep(_retry_after(out.headers.get("retry-after"), attempt))
                        continue
                    if resp.status in (301, 302, 303, 307, 308) and "location" in out.headers:
                        nxt = urljoin(current, out.headers["location"])
                        out.redirects.append(nxt)
                        current = nxt
                        break
                    declared = resp.content_length
                    if declared is not None and declared > max_bytes:
                        raise ResponseTooLarge(f"response of {declared} bytes exceeds the cap of {max_bytes}")
                    body = bytearray()
                    async for chunk in resp.content.iter_chunked(65536):
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise ResponseTooLarge(f"response exceeds the cap of {max_bytes} bytes")
                    out.body = bytes(body)
                    return out
            except TargetRefused:
                raise
            except ResponseTooLarge as exc:
                out.error = str(exc)
                return out
            except aiohttp.ClientConnectorCertificateError as exc:
                out.error = f"certificate not trusted: {exc.certificate_error}"
                return out
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if isinstance(exc.__cause__, TargetRefused):
                    raise exc.__cause__ from None
                attempt += 1
                if attempt > retries:
                    out.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    return out
                await asyncio.sleep(0.2 * attempt)
    out.error = f"more than {max_redirects} redirects"
    return out


def base_and_document_url(url: str) -> tuple[str, str]:
    """The API base URL and its ``openapi.json`` URL, from either of them."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    base_path = path.removesuffix("/openapi.json")
    base = f"{parts.scheme}://{parts.netloc}{base_path}"
    return base, base + "/openapi.json"


@dataclass
class ApiObservation:
    """Everything the API check saw; evaluation works on this alone."""

    base_url: str
    document: Fetched
    yaml_document: Fetched | None
    root: Fetched | None
    doc: Any = None  # parsed openapi.json, None when unusable
    parse_error: str | None = None
    yaml_doc: Any = None
    yaml_error: str | None = None


def parse_document(body: bytes) -> tuple[Any, str | None]:
    try:
        return json.loads(body.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "openapi.json is not UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"openapi.json is not valid JSON (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return None, "openapi.json is nested too deeply"


def load_yaml_without_aliases(text: str) -> Any:
    """``yaml.safe_load`` refusing anchors/aliases (an alias bomb expands exponentially when compared)."""
    import yaml

    class _NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("YAML aliases are not accepted")
            return super().compose_node(parent, index)

    return yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader subclass


async def observe_api(url: str, net: NetworkConfig, guard: Guard | None = None) -> ApiObservation:
    """Fetch ``openapi.json`` (+ optional ``openapi.yaml``) and the API root, unauthenticated."""
    base, doc_url = base_and_document_url(url)
    check_literal(doc_url, guard)
    async with make_session(net, guard) as session:
        origin = {"Origin": PROBE_ORIGIN, "Accept": "application/json"}
        document = await fetch(
            session, doc_url, guard=guard, max_bytes=MAX_DOCUMENT_BYTES, headers=origin, retries=net.retries
        )
        obs = ApiObservation(base_url=base, document=document, yaml_document=None, root=None)
        if document.status == 200 and document.error is None:
            obs.doc, obs.parse_error = parse_document(document.body)
        yaml_f, root_f = await asyncio.gather(
            fetch(session, base + "/openapi.yaml", guard=guard, max_bytes=MAX_DOCUMENT_BYTES, headers=origin),
            # with an Origin too: many CORS layers send Access-Control-Allow-Origin only to CORS requests
            fetch(session, base, guard=guard, headers=origin, retries=net.retries),
        )
        obs.yaml_document, obs.root = yaml_f, root_f
        if yaml_f.status == 200 and yaml_f.error is None and yaml_f.body:
            import yaml

            try:
                obs.yaml_doc = load_yaml_without_aliases(yaml_f.body.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
                obs.yaml_error = f"openapi.yaml does not parse: {type(exc).__name__}"
        # Bodies of the root and the YAML copy are not kept beyond parsing.
        root_f.body = b""
        return obs
