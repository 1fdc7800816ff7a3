"""What a reverse proxy does with a message between its two connections (RFC 9110 §7.6, RFC 9112 §6).

The request to upstream is built as one byte string: request line, ``Host`` of the upstream, the
client's end-to-end fields (hop-by-hop ones and those named in ``Connection`` removed, RFC 9110
§7.6.1), the proxy's own fields, new framing. The response goes back with status, reason and
end-to-end fields unaltered and the body passed in one piece or streamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from nds.fsc.http1.body import BodyStream
from nds.fsc.http1.client import UpstreamResponse
from nds.fsc.http1.headers import end_to_end, http_date
from nds.fsc.http1.request import Request

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Upstream:
    """An upstream origin from a URL: where to connect and what to put in the request line/Host."""

    host: str  # to connect to (brackets of an IPv6 literal removed)
    port: int
    tls: bool
    host_field: bytes  # the Host field value (RFC 9110 §7.2)
    path_prefix: bytes  # the URL's path, prepended to the client's path and query

    @classmethod
    def from_url(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        default = 443 if tls else 80
        host_field = shown if port == default else f"{shown}:{port}"
        return cls(host, port, tls, host_field.encode("idna"), parts.path.encode("ascii"))


def upstream_head(req: Request, up: Upstream, target: bytes, fields: bytes) -> bytes:
    """The request line and fields for upstream; ``fields`` are the serialized end-to-end fields.
    Framing: the body's own length, ``chunked`` for a stream without one (RFC 9112 §6.1–6.2)."""
    body = req.body
    if isinstance(body, BodyStream):
        framing = (
            b"Transfer-Encoding: chunked\r\n"
            if body.length is None
            else b"Content-Length: %d\r\n" % body.length
        )
    elif body or req.method in _BODY_METHODS or req.header(b"content-length") is not None:
        framing = b"Content-Length: %d\r\n" % len(body)
    else:
        framing = b""
    return b"".join(
        (
            req.method.encode("ascii"),
            b" ",
            up.path_prefix,
            target,
            b" HTTP/1.1\r\nHost: ",
            up.host_field,
            b"\r\n",
            fields,
            framing,
            b"\r\n",
        )
    )


async def relay_response(
    req: Request, resp: UpstreamResponse, extra: bytes = b"", drop: frozenset[bytes] = frozenset()
) -> None:
    """Answer ``req`` with ``resp`` unaltered (minus the fields named in ``drop``, lower-case, plus
    ``extra`` serialized fields — ``drop`` what ``extra`` replaces — and ``Date`` if it had none). A
    response to HEAD keeps upstream's Content-Length (RFC 9110 §8.6: the length a GET would get)."""
    fields = end_to_end(resp.headers, drop, has_connection=resp.has_connection) + extra
    if resp.header(b"date") is None:  # RFC 9110 §6.6.1: a forwarded response gets the time it arrived
        fields = b"Date: " + http_date.get() + b"\r\n" + fields
    status = resp.status
    if req.method == "HEAD" or status in (204, 304):
        if resp.content_length is not None and status != 204:
            fields += b"Content-Length: " + resp.content_length + b"\r\n"
        req.respond_without_body(status, fields, reason=resp.reason)
        return
    body = resp.body
    if isinstance(body, bytes):
        req.respond(status, fields, body, reason=resp.reason, own=False)
    else:
        await req.respond_stream(status, fields, body, reason=resp.reason)
