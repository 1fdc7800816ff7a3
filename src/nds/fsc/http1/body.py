"""A message body that streams, with backpressure on the connection it comes from.

Bodies larger than :data:`SMALL_BODY` (or without a Content-Length, RFC 9112 §7.1 chunked) are not
collected: the parser feeds chunks into a :class:`BodyStream`, the consumer reads them with
``await stream.read()``. When more than :data:`HIGH_WATER` bytes are buffered the source connection
stops reading (``transport.pause_reading``) until the consumer has taken the buffer below
:data:`LOW_WATER` — a slow reader on one side never makes the proxy hold a whole body in memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

SMALL_BODY = 64 * 1024  # bodies up to this size with a Content-Length are passed in one piece
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class BodyError(Exception):
    """The body could not be read completely (the connection broke off or was malformed).
    ``status``: what a server answers a client whose request body this was, if it still can."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class BodyStream:
    """Chunks of one message body, in order; ``read()`` returns ``b""`` at the end."""

    __slots__ = (
        "_abort",
        "_chunks",
        "_eof",
        "_error",
        "_pause",
        "_paused",
        "_resume",
        "_size",
        "_waiter",
        "length",
    )

    def __init__(
        self,
        pause: Callable[[], None] | None,
        resume: Callable[[], None] | None,
        length: int | None = None,
        abort: Callable[[], None] | None = None,
    ) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._pause = pause
        self._resume = resume
        self._paused = False
        self._abort = abort  # drops the source connection when the consumer gives up
        self.length = length  # the Content-Length, or None when chunked / delimited by close

    # -- producer side (called by a protocol) -------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if self._eof or self._error is not None:
            return
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > HIGH_WATER and not self._paused and self._pause is not None:
            self._paused = True
            self._pause()
        self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._detach()
        self._wake()

    def set_error(self, exc: BaseException) -> None:
        if self._eof:
            return
        self._error = exc
        self._detach()
        self._wake()

    def _detach(self) -> None:
        """No more data will come: let the source connection read again and forget it."""
        if self._paused and self._resume is not None:
            self._resume()
        self._paused = False
        self._pause = self._resume = self._abort = None

    def _wake(self) -> None:
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    # -- consumer side ---------------------------------------------------------------------------
    def cancel(self) -> None:
        """The consumer will not read the rest: drop the source connection (its framing is lost)."""
        abort = self._abort
        if not self._eof and abort is not None:
            self._abort = None
            abort()

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    @property
    def buffered(self) -> int:
        return self._size

    async def read(self) -> bytes:
        """The next chunk (at most what is buffered), ``b""`` at the end; :class:`BodyError` if broken."""
        while not self._chunks:
            if self._error is not None:
                if isinstance(self._error, BodyError):
                    raise self._error
                raise BodyError(str(self._error)) from self._error
            if self._eof:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if len(self._chunks) == 1:
            chunk = self._chunks.popleft()
        else:
            chunk = b"".join(self._chunks)
            self._chunks.clear()
        self._size = 0
        if self._paused and self._resume is not None:
            self._paused = False
            self._resume()
        return chunk

    async def read_all(self, limit: int) -> bytes:
        """The whole rest of the body, if it is at most ``limit`` bytes (else :class:`BodyError`)."""
        parts: list[bytes] = []
        total = 0
        while chunk := await self.read():
            total += len(chunk)
            if total > limit:
                raise BodyError(f"body larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)
