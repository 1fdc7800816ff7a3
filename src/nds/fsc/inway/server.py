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
from urllib.parse import unquote_to_bytes

from cryptography import x509

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
    DOMAIN_INWAY,
    fsc_error,
    install_uvloop,
    profiled,
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
from nds.pki import b64url, check_negotiated, load_certificate, peer_identity, server_ssl_context
from nds.pki.model import PeerIdentityError

_TOKEN_CODES = {
    MISSING: "ERROR_CODE_ACCESS_TOKEN_MISSING",
    EXPIRED: "ERROR_CODE_ACCESS_TOKEN_EXPIRED",
}


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


_CREDENTIALS = frozenset({b"fsc-authorization", b"fsc-transaction-id"})


def _credentials(req: Request) -> tuple[bytes | None, int, bytes | None, int]:
    """The first Fsc-Authorization and Fsc-Transaction-Id values and how often each field occurs."""
    auth = txid = None
    auth_n = txid_n = 0
    for lower, _, value in req.headers:
        if lower == b"fsc-authorization":
            auth_n += 1
            if auth is None:
                auth = value
        elif lower == b"fsc-transaction-id":
            txid_n += 1
            if txid is None:
                txid = value
    return auth, auth_n, txid, txid_n


def _climbs(target: bytes) -> bool:
    """True if the path has a dot-segment (RFC 3986 §3.3), also percent-encoded or with ``%2F``/``\\``
    as separator: appended to a service's base path it could address something outside it."""
    path = target.split(b"?", 1)[0]
    if b"." not in path and b"%" not in path:  # the common case, decided without decoding
        return False
    decoded = unquote_to_bytes(path).replace(b"\\", b"/")
    # ';' starts path parameters that some servers (Tomcat, Spring) strip: '..;' is '..' to them.
    return any(seg.split(b";", 1)[0] in (b".", b"..") for seg in decoded.split(b"/"))


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
        self.services = {
            name: (Upstream.from_url(s.endpoint), s.timeout_seconds) for name, s in config.services.items()
        }
        self._peers = _PeerCache(rules)
        self._pool: UpstreamPool | None = None

    async def start(self) -> None:
        # Services may be plain HTTP or HTTPS (verified against the system's trust store).
        self._pool = UpstreamPool(ssl.create_default_context())

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def ssl_context(self) -> ssl.SSLContext:
        cfg = self.config
        return server_ssl_context(self.rules, cfg.certificate, cfg.key, require_client_cert=True)

    async def handle(self, req: Request) -> None:
        if req.method == "CONNECT":
            return fsc_error(
                req, 405, "ERROR_CODE_METHOD_UNSUPPORTED", DOMAIN_INWAY, "the Inway does not support CONNECT"
            )
        der = req.conn.peer_certificate
        if not der:  # cannot happen with CERT_REQUIRED; refuse rather than trust
            return fsc_error(
                req,
                401,
                "ERROR_CODE_ACCESS_TOKEN_INVALID",
                DOMAIN_INWAY,
                "a client certificate is required",
                bearer=True,
            )
        thumb, client_peer = self._peers.lookup(der)
        auth, auth_n, txid_raw, txid_n = _credentials(req)
        if auth_n > 1:  # which copy would the service read? (RFC 9110 §5.3: not a list field)
            return fsc_error(
                req,
                401,
                "ERROR_CODE_ACCESS_TOKEN_INVALID",
                DOMAIN_INWAY,
                "more than one Fsc-Authorization field",
                bearer=True,
            )
        try:
            claims = self.verifier.verify(auth.decode("latin-1") if auth is not None else None, thumb)
        except TokenRejected as rej:
            if rej.kind == WRONG_GROUP:
                return fsc_error(req, 403, "ERROR_CODE_WRONG_GROUP_ID_IN_TOKEN", DOMAIN_INWAY, rej.message)
            code = _TOKEN_CODES.get(rej.kind, "ERROR_CODE_ACCESS_TOKEN_INVALID")
            return fsc_error(req, 401, code, DOMAIN_INWAY, rej.message, bearer=True)
        service_name = claims.svc
        target = self.services.get(service_name)
        if target is None:
            return fsc_error(
                req,
                404,
                "ERROR_CODE_SERVICE_NOT_FOUND",
                DOMAIN_INWAY,
                f"service {service_name!r} is not offered by this Inway",
            )
        if txid_n > 1:
            return fsc_error(
                req, 400, "INVALID_LOG_RECORD_ID", DOMAIN_INWAY, "more than one Fsc-Transaction-Id field"
            )
        txid = txid_raw.decode("latin-1") if txid_raw is not None else None
        if txid is None:
            return fsc_error(
                req, 400, "MISSING_LOG_RECORD_ID", DOMAIN_INWAY, "the Fsc-Transaction-Id header is missing"
            )
        if not is_valid_transaction_id(txid, self.rules.transaction_id_format):
            return fsc_error(
                req,
                400,
                "INVALID_LOG_RECORD_ID",
                DOMAIN_INWAY,
                f"Fsc-Transaction-Id is not a {self.rules.transaction_id_format} TransactionID",
            )
        # A request that will be refused leaves no TransactionLog record: check the path before logging.
        path = req.origin_form
        if _climbs(path):
            return fsc_error(
                req,
                400,
                "ERROR_CODE_INVALID_PATH",
                DOMAIN_INWAY,
                "the path contains dot-segments ('.' or '..'), which could leave the service's base path",
            )
        record = LogRecord.from_token_claims(
            txid, Direction.INCOMING, claims.raw, outway_peer_id=client_peer or claims.sub
        )
        try:
            # Alone in this process: commit inline, skipping the writer thread (docs/fsc/dataplane.md).
            await self.txlog.append_durable([record], alone=req.conn.server.handling == 1)
        except TransactionLogWriteError:
            return fsc_error(
                req,
                500,
                "TRANSACTION_LOG_WRITE_ERROR",
                DOMAIN_INWAY,
                "the TransactionLog record could not be written; the service was not called",
            )
        up, timeout = target
        # The verified token and the logged transaction ID go to the service exactly once, whatever the
        # client listed in Connection (fsc-core: the Inway MUST NOT delete the token).
        assert auth is not None and txid_raw is not None
        fields = (
            req.forward_fields(_CREDENTIALS)
            + b"Fsc-Authorization: "
            + auth
            + b"\r\nFsc-Transaction-Id: "
            + txid_raw
            + b"\r\n"
        )
        head = upstream_head(req, up, path, fields)
        assert self._pool is not None
        try:
            resp = await self._pool.request(
                up.host,
                up.port,
                head,
                req.body,
                tls=up.tls,
                server_hostname=up.host,
                method=req.method,
                timeout=timeout,
            )
        except UpstreamError as exc:
            partial = not (exc.nothing_received or exc.timeout)
            return fsc_error(
                req,
                502,
                "ERROR_CODE_SERVICE_UNREACHABLE",
                DOMAIN_INWAY,
                f"service {service_name!r} did not send a complete response"
                if partial
                else f"the Inway is unable to reach service {service_name!r}",
            )
        await relay_response(req, resp)


async def serve_async(config: InwayConfig, *, ready: asyncio.Event | None = None) -> None:
    rules = load_group_rules(config.group_rules)
    txlog = TransactionLog(config.txlog_url, window_ms=config.txlog_window_ms, create=False)
    inway = Inway(config, rules, txlog)
    await inway.start()
    # Python cannot narrow TLS 1.3 suites per context: the negotiated ones are checked per connection.
    server = Http1Server(inway.handle, tls_check=lambda tls: check_negotiated(tls, rules))
    host, port = split_hostport(config.listen, 443)
    await server.listen(host, port, ssl_context=inway.ssl_context(), reuse_port=True, backlog=1024)

    async def cleanup() -> None:
        await inway.stop()
        await txlog.aclose()

    await serve_until_stopped(
        server.close,
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
