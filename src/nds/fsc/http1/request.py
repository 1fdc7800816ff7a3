"""One request as the server hands it to a handler, and the ways to answer it.

Framing of what we send follows RFC 9112 §6: a complete body gets a Content-Length; a streamed body
keeps the length it came with, else is sent ``chunked`` (§7.1) to an HTTP/1.1 client or delimited by
closing the connection to an HTTP/1.0 one (§6.3 rule 8). A response to HEAD, and 1xx/204/304
responses, have no body (§6.3 rules 1–2); for HEAD the fields describe the body a GET would get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nds.fsc.http1.body import BodyError, BodyStream
from nds.fsc.http1.headers import Header, end_to_end, http_date, status_line

if TYPE_CHECKING:
    from nds.fsc.http1.server import ServerConnection

_CLOSE = b"Connection: close\r\n"
_KEEP = b"Connection: keep-alive\r\n"  # an HTTP/1.0 client only keeps a connection it is told to keep


class Request:
    """``method`` (str), ``target`` (the raw request-target bytes), ``headers`` (list of
    (lower-cased name, name, value)), ``body``: ``bytes`` (complete) or a :class:`BodyStream`."""

    __slots__ = (
        "body",
        "conn",
        "has_connection",
        "headers",
        "http11",
        "keep_alive",
        "method",
        "responded",
        "target",
    )

    def __init__(self, conn: ServerConnection) -> None:
        self.conn = conn
        self.method = "GET"
        self.target = b"/"
        self.http11 = True
        self.keep_alive = True
        self.headers: list[Header] = []
        self.body: bytes | BodyStream = b""
        self.has_connection = False
        self.responded = False

    def header(self, lower: bytes) -> bytes | None:
        """The first value of a field (name given in lower case), or None."""
        for n, _, v in self.headers:
            if n == lower:
                return v
        return None

    def header_str(self, lower: bytes) -> str | None:
        v = self.header(lower)
        return None if v is None else v.decode("latin-1")

    def forward_fields(self, drop: frozenset[bytes] = frozenset()) -> bytes:
        """This request's end-to-end fields, serialized, without hop-by-hop ones and ``drop``."""
        return end_to_end(self.headers, drop, has_connection=self.has_connection)

    @property
    def origin_form(self) -> bytes:
        """The target as path and query (RFC 9112 §3.2.1); an absolute-form target (§3.2.2) is reduced."""
        t = self.target
        if t[:1] == b"/":
            return t
        if t[:8].lower().startswith((b"http://", b"https://")):
            start = t.index(b"//") + 2
            ends = [i for i in (t.find(b"/", start), t.find(b"?", start)) if i >= 0]
            if not ends:
                return b"/"
            rest = t[min(ends) :]
            return rest if rest[:1] == b"/" else b"/" + rest
        return t

    # -- answering -------------------------------------------------------------------------------
    def _head(self, status: int, reason: bytes | None, fields: bytes, framing: bytes) -> bytes:
        self.responded = True
        if self.conn.closing:
            self.keep_alive = False
        return b"".join(
            (
                status_line(status, reason),
                fields,
                framing,
                _CLOSE if not self.keep_alive else b"" if self.http11 else _KEEP,
                b"\r\n",
            )
        )

    def respond(
        self,
        status: int,
        fields: bytes,
        body: bytes,
        *,
        reason: bytes | None = None,
        content_type: bytes | None = None,
        own: bool = True,
    ) -> None:
        """A complete response. ``fields``: serialized field lines without framing; ``own`` adds a
        ``Date`` (this hop generated the response, RFC 9110 §6.6.1)."""
        if content_type is not None:
            fields = b"Content-Type: " + content_type + b"\r\n" + fields
        if own:
            fields = b"Date: " + http_date.get() + b"\r\n" + fields
        head = self._head(status, reason, fields, b"Content-Length: %d\r\n" % len(body))
        if self.method == "HEAD":
            self.conn.write(head)
        else:
            self.conn.write(head + body)

    def respond_without_body(self, status: int, fields: bytes, *, reason: bytes | None = None) -> None:
        """A response that has no body by definition (HEAD, 1xx, 204, 304); ``fields`` as given."""
        self.conn.write(self._head(status, reason, fields, b""))

    async def respond_stream(
        self, status: int, fields: bytes, stream: BodyStream, *, reason: bytes | None = None
    ) -> None:
        """Stream ``stream`` to the client. If it breaks off, the connection is aborted: the client
        sees an incomplete message (short of its Content-Length or without the last chunk), never a
        truncated one that looks complete. Raises :class:`BodyError` then."""
        conn = self.conn
        length = stream.length
        if length is not None:
            framing = b"Content-Length: %d\r\n" % length
            chunked = False
        elif self.http11:
            framing = b"Transfer-Encoding: chunked\r\n"
            chunked = True
        else:
            framing = b""
            chunked = False
            self.keep_alive = False
        conn.write(self._head(status, reason, fields, framing))
        try:
            while chunk := await stream.read():
                if chunked:
                    conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                else:
                    conn.write(chunk)
                await conn.drain()
        except BodyError:
            conn.abort()
            raise
        except BaseException:  # our client went away (or we are stopping): the source is useless now
            stream.cancel()
            raise
        if chunked:
            conn.write(b"0\r\n\r\n")
