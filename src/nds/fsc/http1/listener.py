"""The listening side: :class:`Http1Server` accepts connections (optionally TLS, ``SO_REUSEPORT``),
runs one :class:`~nds.fsc.http1.server.ServerConnection` per connection, checks every connection's
timeouts once a second (RFC 9112 §9.5, §9.8: no timer per request) and stops gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any

from nds.fsc.http1.server import Handler, ServerConnection


class Http1Server:
    """The HTTP/1.1 server: ``await listen(...)``, then :meth:`close` to stop gracefully."""

    def __init__(
        self,
        handler: Handler,
        *,
        keepalive_timeout: float = 75.0,
        header_timeout: float = 30.0,
        body_timeout: float = 60.0,
        write_timeout: float = 60.0,
        tls_check: Callable[[Any], None] | None = None,
    ) -> None:
        self.handler = handler
        # Called with each TLS connection's SSLObject once the handshake is done; raising refuses the
        # connection (the FSC proxies check the negotiated version and suite against the Group rules).
        self.tls_check = tls_check
        self.keepalive_timeout = keepalive_timeout
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.write_timeout = write_timeout
        self.connections: set[ServerConnection] = set()
        self.handling = 0  # requests whose handler is running, over all connections
        self.loop = asyncio.get_running_loop()
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.Task[None] | None = None

    async def listen(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        reuse_port: bool = False,
        backlog: int = 1024,
    ) -> asyncio.Server:
        srv = await self.loop.create_server(
            lambda: ServerConnection(self),
            host,
            port,
            ssl=ssl_context,
            reuse_port=reuse_port,
            backlog=backlog,
            ssl_handshake_timeout=self.header_timeout if ssl_context is not None else None,
        )
        self._servers.append(srv)
        if self._sweeper is None:
            self._sweeper = self.loop.create_task(self._sweep())
        return srv

    @property
    def ports(self) -> list[int]:
        return [s.getsockname()[1] for srv in self._servers for s in srv.sockets]

    async def _sweep(self) -> None:
        """Timeouts for every connection, checked once a second (no timer per request)."""
        interval = min(1.0, self.keepalive_timeout, self.header_timeout, self.body_timeout) / 2
        while True:
            await asyncio.sleep(interval)
            now = self.loop.time()
            for conn in list(self.connections):
                if conn.deadline is not None or conn.write_deadline is not None:
                    conn.on_timeout(now)

    async def close(self, grace: float = 10.0) -> None:
        """Stop accepting, close idle connections, let running requests finish (up to ``grace`` s)."""
        for srv in self._servers:
            srv.close()
        for conn in list(self.connections):
            conn.closing = True
            if not conn._busy and conn._cur is None:
                conn.close()
        deadline = self.loop.time() + grace
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 1.0)
