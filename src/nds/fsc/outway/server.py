"""The Outway: the forward proxy an organisation's clients call (fsc-core §Outway, fsc-logging §Outway).

Per request: CONNECT → 405 → grant selected by ``Fsc-Grant-Hash`` → access token from the cache or
the providing peer's Manager (``gid`` checked) → new ``Fsc-Transaction-Id`` (UUIDv7) → TransactionLog
record written durably → request forwarded over mTLS to the token's ``aud`` with ``Fsc-Authorization``
and ``Fsc-Transaction-Id``, path and query unaltered → response returned unaltered, plus
``Fsc-Transaction-Id``. Errors produced by the Outway carry ``Fsc-Error-Code`` and the FSC error
body (domain ``ERROR_DOMAIN_OUTWAY``); errors of the Inway or the service pass through untouched.
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp

from nds.fsc.grouprules import GroupRules, load_group_rules
from nds.fsc.http1 import (
    Http1Server,
    Request,
    Upstream,
    UpstreamError,
    UpstreamPool,
    relay_response,
    upstream_head,
)
from nds.fsc.inway.common import (
    DOMAIN_OUTWAY,
    fsc_error,
    install_uvloop,
    profiled,
    serve_until_stopped,
    split_hostport,
)
from nds.fsc.outway.config import OutwayConfig
from nds.fsc.outway.grants import GrantBook, ManagerGrants
from nds.fsc.outway.tokens import TokenCache, TokenUnavailable
from nds.fsc.txlog import Direction, LogRecord, TransactionLog, TransactionLogWriteError, new_transaction_id
from nds.pki import check_negotiated, client_ssl_context, load_certificate, peer_identity

# Not forwarded: the grant selector, and any Fsc-Authorization / Fsc-Transaction-Id the client sent.
_DROP = frozenset({b"fsc-grant-hash", b"fsc-authorization", b"fsc-transaction-id"})
_TXID_FIELD = frozenset({b"fsc-transaction-id"})
_TOKEN_PROBLEMS = frozenset({b"ERROR_CODE_ACCESS_TOKEN_EXPIRED", b"ERROR_CODE_ACCESS_TOKEN_INVALID"})


class Outway:
    def __init__(self, config: OutwayConfig, rules: GroupRules, txlog: TransactionLog) -> None:
        self.config = config
        self.rules = rules
        self.txlog = txlog
        self.peer_id = peer_identity(load_certificate(config.certificate), rules).peer_id
        manager = (
            ManagerGrants(
                config.manager_address,
                self._client_ctx(),
                rules,
                self.peer_id,
                interval=config.manager_refresh_seconds,
                miss_interval=config.manager_miss_interval_seconds,
            )
            if config.manager_address
            else None
        )
        self.grants = GrantBook(config.grants, config.grants_file, manager)
        self._session: aiohttp.ClientSession | None = None  # token requests to Managers only
        self._pool: UpstreamPool | None = None  # the data path to Inways
        self.tokens: TokenCache | None = None
        self._upstreams: dict[str, Upstream] = {}  # token aud → where to connect
        self._auth_lines: dict[str, bytes] = {}  # token → its serialized Fsc-Authorization field

    def _client_ctx(self) -> ssl.SSLContext:
        return client_ssl_context(self.rules, self.config.certificate, self.config.key)

    async def start(self) -> None:
        ctx = self._client_ctx()
        connector = aiohttp.TCPConnector(ssl=ctx, limit=0, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        # Python cannot narrow TLS 1.3 suites per context: the negotiated ones are checked per connection.
        self._pool = UpstreamPool(ctx, tls_check=lambda tls: check_negotiated(tls, self.rules))
        self.tokens = TokenCache(
            self._session,
            peer_id=self.peer_id,
            group_id=self.rules.group_id,
            refresh_seconds=self.config.token_refresh_seconds,
        )
        await self.grants.start()

    async def stop(self) -> None:
        await self.grants.stop()
        if self._pool is not None:
            await self._pool.close()
        if self._session is not None:
            await self._session.close()

    def server_ssl_context(self) -> ssl.SSLContext | None:
        ct = self.config.client_tls
        if ct is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(ct.certificate), str(ct.key))
        if ct.client_ca is not None:
            ctx.load_verify_locations(cafile=str(ct.client_ca))
            ctx.verify_mode = ssl.CERT_REQUIRED if ct.require_client_cert else ssl.CERT_OPTIONAL
        return ctx

    def _upstream(self, aud: str) -> Upstream:
        up = self._upstreams.get(aud)
        if up is None:
            if len(self._upstreams) > 1024:
                self._upstreams.clear()
            up = self._upstreams[aud] = Upstream.from_url(aud)
        return up

    def _auth_line(self, token: str) -> bytes:
        line = self._auth_lines.get(token)
        if line is None:
            if len(self._auth_lines) > 256:  # tokens rotate; keep the map small
                self._auth_lines.clear()
            line = self._auth_lines[token] = b"Fsc-Authorization: " + token.encode("ascii") + b"\r\n"
        return line

    async def handle(self, req: Request) -> None:
        if req.method == "CONNECT":
            return fsc_error(
                req,
                405,
                "ERROR_CODE_METHOD_UNSUPPORTED",
                DOMAIN_OUTWAY,
                "the Outway does not support the CONNECT method",
            )
        raw_hash = req.header_str(b"fsc-grant-hash")
        grant_hash = raw_hash.strip() if raw_hash else ""
        if not grant_hash:
            return fsc_error(
                req,
                400,
                "ERROR_CODE_GRANT_HASH_MISSING",
                DOMAIN_OUTWAY,
                "the Fsc-Grant-Hash header is missing: name the grant to use for this request",
            )
        grant = self.grants.get(grant_hash)
        if grant is None:  # perhaps signed a moment ago: ask the own Manager (bounded, rate-limited)
            grant = await self.grants.lookup(grant_hash)
        if grant is None:
            return fsc_error(
                req,
                404,
                "ERROR_CODE_GRANT_HASH_UNKNOWN",
                DOMAIN_OUTWAY,
                "this Outway has no grant with the hash in Fsc-Grant-Hash",
            )
        assert self.tokens is not None and self._pool is not None
        try:
            tok = await self.tokens.get(grant_hash, grant.manager_address)
        except TokenUnavailable as exc:
            return fsc_error(req, exc.status, exc.code, DOMAIN_OUTWAY, exc.message)
        txid = new_transaction_id()
        record = LogRecord.from_token_claims(
            txid, Direction.OUTGOING, tok.claims, outway_peer_id=self.peer_id
        )
        try:
            # Alone in this process: commit inline, skipping the writer thread (docs/fsc/dataplane.md).
            await self.txlog.append_durable([record], alone=req.conn.server.handling == 1)
        except TransactionLogWriteError:
            return fsc_error(
                req,
                500,
                "TRANSACTION_LOG_WRITE_ERROR",
                DOMAIN_OUTWAY,
                "the TransactionLog record could not be written; the request was not sent",
            )
        txid_line = b"Fsc-Transaction-Id: " + txid.encode("ascii") + b"\r\n"
        up = self._upstream(tok.aud)
        fields = req.forward_fields(_DROP) + self._auth_line(tok.token) + txid_line
        head = upstream_head(req, up, req.origin_form, fields)
        try:
            resp = await self._pool.request(
                up.host,
                up.port,
                head,
                req.body,
                tls=True,
                server_hostname=up.host,
                method=req.method,
                timeout=self.config.inway_timeout_seconds,
            )
        except UpstreamError as exc:
            partial = not (exc.nothing_received or exc.timeout)
            return fsc_error(
                req,
                502,
                "ERROR_CODE_INWAY_UNREACHABLE",
                DOMAIN_OUTWAY,
                "the Inway did not send a complete response"
                if partial
                else f"the Outway is unable to reach the Inway at {tok.aud}",
                transaction_id=txid,
            )
        if resp.status == 401 and resp.header(b"fsc-error-code") in _TOKEN_PROBLEMS:
            self.tokens.drop(grant_hash, tok.token)
        # The client gets this Outway's transaction ID once, whatever the Inway or the service sent.
        await relay_response(req, resp, txid_line, _TXID_FIELD)


async def serve_async(config: OutwayConfig, *, ready: asyncio.Event | None = None) -> None:
    rules = load_group_rules(config.group_rules)
    txlog = TransactionLog(config.txlog_url, window_ms=config.txlog_window_ms, create=False)
    outway = Outway(config, rules, txlog)
    await outway.start()
    server = Http1Server(outway.handle)
    host, port = split_hostport(config.listen, 8080)
    await server.listen(host, port, ssl_context=outway.server_ssl_context(), reuse_port=True, backlog=1024)

    async def cleanup() -> None:
        await outway.stop()
        await txlog.aclose()

    await serve_until_stopped(
        server.close,
        component="outway",
        health_listen=config.health_listen,
        health_port=9080,
        cleanup=cleanup,
        ready=ready,
    )


def serve(config: OutwayConfig) -> None:
    install_uvloop()
    with profiled("outway"):
        asyncio.run(serve_async(config))
