"""The Inway: a reverse proxy in front of a peer's services (fsc-core §Inway, fsc-logging §Inway).

Per request: mTLS client certificate (verified against the Group's trust anchors during the
handshake) → access token in ``Fsc-Authorization`` verified (see :mod:`nds.fsc.inway.tokens`) →
service known → ``Fsc-Transaction-Id`` present and well-formed → TransactionLog record written
durably → request forwarded to the service with ``Fsc-Authorization`` and ``Fsc-Transaction-Id``
→ the service's response returned unaltered. Any failure answers with ``Fsc-Error-Code`` and the
FSC error body; the service is not called.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import OrderedDict
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from cryptography import x509
from yarl import URL

from nds.fsc.grouprules import GroupRules, load_group_rules
from nds.fsc.inway.common import (
    DOMAIN_INWAY,
    HDR_AUTHORIZATION,
    HDR_TRANSACTION_ID,
    SMALL_BODY,
    body_for_upstream,
    forward_headers,
    fsc_error,
    install_uvloop,
    profiled,
    relay_response,
    serve_until_stopped,
    split_hostport,
)
from nds.fsc.inway.config import InwayConfig
from nds.fsc.inway.tokens import EXPIRED, MISSING, WRONG_GROUP, Expectations, TokenRejected, TokenVerifier
from nds.fsc.txlog import (
    Direction,
    LogRecord,
    TransactionLog,
    TransactionLogWriteError,
    is_valid_transaction_id,
)
from nds.pki import b64url, load_certificate, peer_identity, server_ssl_context
from nds.pki.model import PeerIdentityError

_TOKEN_CODES = {
    MISSING: "ERROR_CODE_ACCESS_TOKEN_MISSING",
    EXPIRED: "ERROR_CODE_ACCESS_TOKEN_EXPIRED",
}
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


@dataclass
class _PeerCache:
    """Client certificate DER → (x5t#S256, peer ID), bounded."""

    rules: GroupRules
    size: int = 1024
    items: OrderedDict[bytes, tuple[str, str | None]] = field(default_factory=OrderedDict)

    def lookup(self, der: bytes) -> tuple[str, str | None]:
        hit = self.items.get(der)
        if hit is not None:
            return hit
        thumb = b64url(hashlib.sha256(der).digest())
        try:
            pid: str | None = peer_identity(x509.load_der_x509_certificate(der), self.rules).peer_id
        except (PeerIdentityError, ValueError):
            pid = None
        self.items[der] = (thumb, pid)
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return thumb, pid


class Inway:
    def __init__(self, config: InwayConfig, rules: GroupRules, txlog: TransactionLog) -> None:
        self.config = config
        self.rules = rules
        self.txlog = txlog
        own = load_certificate(config.certificate)
        self.peer_id = peer_identity(own, rules).peer_id
        self.verifier = TokenVerifier(
            Expectations(
                group_id=rules.group_id,
                issuer=self.peer_id,
                audience=config.address,
                clock_skew=rules.clock_skew_seconds,
            ),
            [load_certificate(p) for p in config.token_signing_certificates],
        )
        self.services = {name: (URL(s.endpoint), s.timeout_seconds) for name, s in config.services.items()}
        self._peers = _PeerCache(rules)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_NO_AUTO_HEADERS,
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    def ssl_context(self) -> ssl.SSLContext:
        cfg = self.config
        return server_ssl_context(self.rules, cfg.certificate, cfg.key, require_client_cert=True)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        ssl_obj = request.transport.get_extra_info("ssl_object") if request.transport else None
        der = ssl_obj.getpeercert(binary_form=True) if ssl_obj is not None else None
        if not der:  # cannot happen with CERT_REQUIRED; refuse rather than trust
            return fsc_error(
                401,
                "ERROR_CODE_ACCESS_TOKEN_INVALID",
                DOMAIN_INWAY,
                "a client certificate is required",
                bearer=True,
            )
        thumb, client_peer = self._peers.lookup(der)
        try:
            claims = self.verifier.verify(request.headers.get(HDR_AUTHORIZATION), thumb)
        except TokenRejected as rej:
            if rej.kind == WRONG_GROUP:
                return fsc_error(403, "ERROR_CODE_WRONG_GROUP_ID_IN_TOKEN", DOMAIN_INWAY, rej.message)
            code = _TOKEN_CODES.get(rej.kind, "ERROR_CODE_ACCESS_TOKEN_INVALID")
            return fsc_error(401, code, DOMAIN_INWAY, rej.message, bearer=True)
        service_name = claims.svc
        target = self.services.get(service_name)
        if target is None:
            return fsc_error(
                404,
                "ERROR_CODE_SERVICE_NOT_FOUND",
                DOMAIN_INWAY,
                f"service {service_name!r} is not offered by this Inway",
            )
        txid = request.headers.get(HDR_TRANSACTION_ID)
        if txid is None:
            return fsc_error(
                400, "MISSING_LOG_RECORD_ID", DOMAIN_INWAY, "the Fsc-Transaction-Id header is missing"
            )
        if not is_valid_transaction_id(txid, self.rules.transaction_id_format):
            return fsc_error(
                400,
                "INVALID_LOG_RECORD_ID",
                DOMAIN_INWAY,
                f"Fsc-Transaction-Id is not a {self.rules.transaction_id_format} TransactionID",
            )
        record = LogRecord.from_token_claims(
            txid, Direction.INCOMING, claims.raw, outway_peer_id=client_peer or claims.sub
        )
        try:
            await self.txlog.append_durable([record])
        except TransactionLogWriteError:
            return fsc_error(
                500,
                "TRANSACTION_LOG_WRITE_ERROR",
                DOMAIN_INWAY,
                "the TransactionLog record could not be written; the service was not called",
            )
        base, timeout = target
        url = URL(str(base) + request.raw_path, encoded=True)
        headers = forward_headers(request.headers)
        assert self._session is not None
        try:
            data = await body_for_upstream(request)
            upstream = await self._session.request(
                request.method,
                url,
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            )
        except (TimeoutError, aiohttp.ClientError, OSError):
            return fsc_error(
                502,
                "ERROR_CODE_SERVICE_UNREACHABLE",
                DOMAIN_INWAY,
                f"the Inway is unable to reach service {service_name!r}",
            )
        try:
            return await relay_response(request, upstream)
        except (TimeoutError, aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
            if upstream.content_length is not None and upstream.content_length <= SMALL_BODY:
                return fsc_error(
                    502,
                    "ERROR_CODE_SERVICE_UNREACHABLE",
                    DOMAIN_INWAY,
                    f"service {service_name!r} broke off its response",
                )
            raise  # already streaming: drop the connection so the client sees a broken response
        finally:
            upstream.release()


async def serve_async(config: InwayConfig, *, ready: asyncio.Event | None = None) -> None:
    rules = load_group_rules(config.group_rules)
    txlog = TransactionLog(config.txlog_url, window_ms=config.txlog_window_ms, create=False)
    inway = Inway(config, rules, txlog)
    await inway.start()
    server = web.Server(inway.handle, access_log=None)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    host, port = split_hostport(config.listen, 443)
    site = web.TCPSite(runner, host, port, ssl_context=inway.ssl_context(), reuse_port=True, backlog=1024)
    await site.start()

    async def cleanup() -> None:
        await inway.stop()
        await txlog.aclose()

    await serve_until_stopped(
        runner,
        component="inway",
        health_listen=config.health_listen,
        health_port=9443,
        cleanup=cleanup,
        ready=ready,
    )


def serve(config: InwayConfig) -> None:
    install_uvloop()
    with profiled("inway"):
        asyncio.run(serve_async(config))
