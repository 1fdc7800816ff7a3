"""The FSC Manager API (fsc-core media/specs/manager.yaml) as aiohttp handlers under ``/v1``.

The client certificate is read from the TLS transport of each request; its Peer ID (per the Group
rules) is the caller. Every error leaves as an FSC error body (``/token``: RFC 6749 §5.2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from cryptography import x509

from nds.fsc.contracts.errors import ErrorCode, FscError
from nds.fsc.contracts.kinds import GrantType
from nds.fsc.jose import certificate_jwk
from nds.fsc.manager import listings, outway_grants, regulated, tokens
from nds.fsc.manager.core import FSC_VERSION_REPORTED, Manager
from nds.fsc.manager.errors import OAuthError, fsc_error_response, json_response, oauth_response
from nds.fsc.manager.httputil import (
    BODY_CODE,
    RequestError,
    host_in_certificate,
    normalize_manager_address,
    read_body,
    read_json_object,
)
from nds.fsc.manager.openapi import openapi_document
from nds.pki import PeerIdentity, PeerIdentityError, peer_certificate_from_ssl_object, peer_identity

log = logging.getLogger("nds.fsc.manager")
MANAGER_KEY: web.AppKey[Manager] = web.AppKey("manager", Manager)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _manager(request: web.Request) -> Manager:
    return request.app[MANAGER_KEY]


def _client_cert(request: web.Request) -> x509.Certificate:
    ssl_obj = request.transport.get_extra_info("ssl_object") if request.transport else None
    cert = peer_certificate_from_ssl_object(ssl_obj)
    if cert is None:  # the TLS context requires one; defensive
        raise FscError(ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED, "a client certificate is required")
    return cert


def _caller(request: web.Request) -> tuple[x509.Certificate, PeerIdentity]:
    cert = _client_cert(request)
    try:
        return cert, peer_identity(cert, _manager(request).rules)
    except PeerIdentityError as exc:
        raise FscError(ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED, str(exc)) from None


@web.middleware
async def fsc_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except FscError as exc:
        return fsc_error_response(exc)
    except OAuthError as exc:
        return oauth_response(exc)
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            return json_response({"message": exc.reason, "domain": "ERROR_DOMAIN_MANAGER"}, status=exc.status)
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error handling %s %s", request.method, request.path)
        err = RequestError(BODY_CODE, "internal error", 500)
        return fsc_error_response(err)


def _manager_address(request: web.Request, cert: x509.Certificate) -> str:
    """Check ``Fsc-Manager-Address``: https, FSC port, host in the caller's certificate."""
    code = ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED
    values = request.headers.getall("Fsc-Manager-Address", [])
    if len(values) > 1:
        raise RequestError(code, "the Fsc-Manager-Address header is given more than once", 400)
    try:
        address, host, _port = normalize_manager_address(values[0] if values else None)
    except ValueError as exc:
        raise RequestError(code, str(exc), 400) from None
    if not host_in_certificate(host, cert):
        raise RequestError(
            code, f"the Fsc-Manager-Address host '{host[:100]}' is not in the peer's certificate", 400
        )
    return address


# -- handlers --------------------------------------------------------------------------------


async def announce(request: web.Request) -> web.Response:
    m = _manager(request)
    cert, caller = _caller(request)
    address = _manager_address(request, cert)
    await asyncio.to_thread(m.store.upsert_peer, caller.peer_id, caller.name, address, "announce")
    return web.Response(status=200)


async def _known_address(m: Manager, caller: PeerIdentity, address: str) -> None:
    """A write must come from the address the Peer announced (or first used); announce to change it."""
    known = await asyncio.to_thread(m.store.get_peer, caller.peer_id)
    if known and known["manager_address"] and known["manager_address"] != address:
        raise RequestError(
            ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED,
            f"the Fsc-Manager-Address does not match the announced address of peer '{caller.peer_id}'; "
            "announce the new address first",
            400,
        )


async def submit_contract(request: web.Request) -> web.Response:
    m = _manager(request)
    cert, caller = _caller(request)
    address = _manager_address(request, cert)
    await _known_address(m, caller, address)
    body = await read_json_object(request, m.cfg.max_body_bytes, m.cfg.max_json_depth)
    await m.receive(caller, address, body, "accept", None)
    return web.Response(status=201)


def _signature_handler(sig_type: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        m = _manager(request)
        cert, caller = _caller(request)
        address = _manager_address(request, cert)
        await _known_address(m, caller, address)
        body = await read_json_object(request, m.cfg.max_body_bytes, m.cfg.max_json_depth)
        await m.receive(caller, address, body, sig_type, request.match_info["hash"])
        return web.Response(status=201)

    return handler


def _query_list(request: web.Request, name: str) -> list[str]:
    out: list[str] = []
    for v in request.query.getall(name, []):
        out.extend(x for x in v.split(",") if x)
    return out


async def list_contracts(request: web.Request) -> web.Response:
    m = _manager(request)
    _cert, caller = _caller(request)
    page = listings.Page.from_query(request.query)
    grant_types = _query_list(request, "grant_type")
    valid = {t.value for t in GrantType}
    for gt in grant_types:
        if gt not in valid:
            raise RequestError(BODY_CODE, f"unknown grant_type {gt[:60]!r}", 400)
    grant_hashes = _query_list(request, "grant_hash")
    if len(grant_hashes) > 100 or any(len(h) > 1024 for h in grant_hashes):
        raise RequestError(BODY_CODE, "at most 100 grant_hash values of at most 1024 characters", 400)
    body = await asyncio.to_thread(listings.contracts, m, caller.peer_id, page, grant_types, grant_hashes)
    return json_response(body)


async def token(request: web.Request) -> web.Response:
    m = _manager(request)
    cert = _client_cert(request)
    try:
        caller = peer_identity(cert, m.rules)
    except PeerIdentityError as exc:
        raise OAuthError("invalid_client", f"client certificate: {exc}") from None
    ctype = request.content_type
    if ctype != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "content type must be application/x-www-form-urlencoded")
    try:
        raw = await read_body(request, tokens.MAX_FORM_BYTES)
    except RequestError:
        raise OAuthError("invalid_request", "request body too large") from None
    form = tokens.parse_form(raw)
    result = await tokens.issue(m, form, cert, caller.peer_id)
    return json_response(result, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def peer_info(request: web.Request) -> web.Response:
    m = _manager(request)
    _caller(request)
    extensions: dict[str, str] = {"EXTENSION_DELEGATION": "1.0.0", "EXTENSION_TRANSACTION_LOGGING": "1.0.0"}
    if m.rules.membership_administrator_peer_id is not None or m.cfg.membership_administrator:
        extensions["EXTENSION_REGULATED_AREA"] = "0.0.1"
    return json_response(
        {
            "peer_id": m.peer_id,
            "peer_name": m.identity.name,
            "fsc_version": FSC_VERSION_REPORTED[m.version],
            "enabled_extensions": extensions,
        }
    )


async def list_peers(request: web.Request) -> web.Response:
    m = _manager(request)
    _caller(request)
    page = listings.Page.from_query(request.query)
    name = request.query.get("peer_name")
    if name is not None and len(name) > 255:
        raise RequestError(BODY_CODE, "peer_name is longer than 255 characters", 400)
    ids = _query_list(request, "peer_id")
    if len(ids) > 1000:
        raise RequestError(BODY_CODE, "at most 1000 peer_id values", 400)
    return json_response(await asyncio.to_thread(listings.peers, m, page, name, ids))


async def list_services(request: web.Request) -> web.Response:
    m = _manager(request)
    _caller(request)
    page = listings.Page.from_query(request.query)
    peer_id, name = request.query.get("peer_id"), request.query.get("service_name")
    for label, v in (("peer_id", peer_id), ("service_name", name)):
        if v is not None and len(v) > 255:
            raise RequestError(BODY_CODE, f"{label} is longer than 255 characters", 400)
    return json_response(await asyncio.to_thread(listings.services, m, page, peer_id, name))


async def jwks(request: web.Request) -> web.Response:
    m = _manager(request)
    _caller(request)
    keys = [certificate_jwk(m.cert, m.chain)]
    for chain in await asyncio.to_thread(m.extra_jwks):
        if chain:
            keys.append(certificate_jwk(chain[0], [c for c in chain[1:] if c.issuer != c.subject]))
    return json_response({"keys": keys})


async def members(request: web.Request) -> web.Response:
    m = _manager(request)
    _caller(request)
    if not m.cfg.membership_administrator:
        raise web.HTTPNotFound(reason="this Manager is not a Membership Administrator")
    area = request.match_info["area"]
    ids = set(_query_list(request, "peer_id"))
    found = await asyncio.to_thread(regulated.local_members, m, area)
    if ids:
        found = [x for x in found if x["peer"]["id"] in ids]
    return json_response({"members": found, "pagination": {"next_cursor": ""}})


async def logs(request: web.Request) -> web.Response:
    m = _manager(request)
    _cert, caller = _caller(request)
    from nds.fsc.manager import logs as logs_mod

    return json_response(await logs_mod.query(m, caller.peer_id, request.query))


async def internal_outway_grants(request: web.Request) -> web.Response:
    """nds extension, not FSC: the grants of this organisation's own Outways (see outway_grants)."""
    m = _manager(request)
    cert, caller = _caller(request)
    return await outway_grants.respond(m, cert, caller, request.headers.get("If-None-Match"))


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(), headers={"Access-Control-Allow-Origin": "*"})


def routes() -> list[web.RouteDef]:
    return [
        web.put("/v1/announce", announce),
        web.post("/v1/contracts", submit_contract),
        web.get("/v1/contracts", list_contracts, allow_head=False),
        web.put("/v1/contracts/{hash}/accept", _signature_handler("accept")),
        web.put("/v1/contracts/{hash}/reject", _signature_handler("reject")),
        web.put("/v1/contracts/{hash}/revoke", _signature_handler("revoke")),
        web.post("/v1/token", token),
        web.get("/v1/peer", peer_info, allow_head=False),
        web.get("/v1/peers", list_peers, allow_head=False),
        web.get("/v1/services", list_services, allow_head=False),
        web.get("/v1/.well-known/jwks.json", jwks, allow_head=False),
        web.get("/v1/regulated-areas/{area}/members", members, allow_head=False),
        web.get("/v1/logs", logs, allow_head=False),
        web.get("/v1/openapi.json", openapi, allow_head=False),
        web.get(outway_grants.PATH, internal_outway_grants, allow_head=False),
    ]


def make_app(manager: Manager) -> web.Application:
    app = web.Application(middlewares=[fsc_errors], client_max_size=manager.cfg.max_body_bytes)
    app[MANAGER_KEY] = manager
    app.add_routes(routes())
    return app
