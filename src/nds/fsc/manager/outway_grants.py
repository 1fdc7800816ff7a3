"""``GET /v1/internal/outway/grants``: the grants an Outway of this Manager's own organisation may use.

Not part of FSC (fsc-core leaves how an Outway learns its grants to the implementation); served on
the Manager's FSC listener because that is where callers are authenticated by mTLS against the Group
trust anchors. Only a certificate carrying this Manager's own Peer ID is answered (another
organisation's Outway gets 403); the answer lists the valid (Delegated)ServiceConnection grants whose
``outway.peer_id`` is this Peer and whose ``outway.public_key_thumbprint`` is the public key of the
caller's certificate, so each Outway sees exactly the grants pinned to its own key.

Validity is the Manager's derived contract state (:meth:`Manager.state_of`): proposed, rejected,
revoked, expired, not yet valid and signer-certificate-expired contracts are left out. The provider's
Manager address comes from the Peers this Manager knows (announcements, contracts, the Directory;
:func:`nds.fsc.manager.outbox.resolve_address`); a grant whose provider address cannot be found is left
out (and logged) because an Outway could not obtain a token for it anyway.

The body carries an ``ETag``; a request with a matching ``If-None-Match`` gets ``304`` without a body,
so Outways polling every few seconds cost the Manager one store query and no transfer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nds.fsc.contracts.errors import ErrorCode
from nds.fsc.manager.httputil import RequestError
from nds.pki import public_key_thumbprint

if TYPE_CHECKING:
    from cryptography import x509

    from nds.fsc.manager.core import Manager
    from nds.pki import PeerIdentity

log = logging.getLogger("nds.fsc.manager")

PATH = "/v1/internal/outway/grants"
RESOLVE_SECONDS = 2.0


def valid_grants(m: Manager, thumbprint: str) -> list[dict[str, Any]]:
    """The valid connection grants pinned to (this Peer, ``thumbprint``), without addresses yet."""
    out: list[dict[str, Any]] = []
    states: dict[str, str] = {}
    rows = m.store.connection_grants_for_outway(m.peer_id, thumbprint)
    # One query for the signers' certificates of all these contracts, not one per contract.
    validity = m.store.certificate_validity(
        s.cert_thumbprint for stored, _g in rows for s in stored.signatures
    )
    for stored, g in rows:
        state = states.get(stored.content_hash)
        if state is None:
            state = states[stored.content_hash] = m.state_of(stored, validity=validity).state
        if state != "valid":
            continue
        service: dict[str, Any] = {"peer_id": g["service_peer_id"], "name": g["service_name"]}
        if g["service_delegator_peer_id"]:
            service["delegator"] = {"peer_id": g["service_delegator_peer_id"]}
        item: dict[str, Any] = {
            "grant_hash": g["grant_hash"],
            "grant_type": g["grant_type"],
            "contract_content_hash": stored.content_hash,
            "valid_until": stored.not_after,
            "service": service,
        }
        if g["delegator_peer_id"]:
            item["delegator"] = {"peer_id": g["delegator_peer_id"]}
        out.append(item)
    return out


async def usable_grants(m: Manager, cert: x509.Certificate) -> list[dict[str, Any]]:
    from nds.fsc.manager.outbox import resolve_address

    items = await asyncio.to_thread(valid_grants, m, public_key_thumbprint(cert))
    addresses: dict[str, str | None] = {m.peer_id: m.cfg.address}
    for provider in sorted({i["service"]["peer_id"] for i in items} - set(addresses)):
        # Known almost always (a provider that signed has called us); the Directory is asked otherwise,
        # briefly, so that a slow Directory cannot hold up the whole list.
        try:
            addresses[provider] = await asyncio.wait_for(resolve_address(m, provider), RESOLVE_SECONDS)
        except TimeoutError:
            addresses[provider] = None
    out = []
    for item in items:
        address = addresses[item["service"]["peer_id"]]
        if not address:
            log.warning(
                "outway grants: manager address of provider %s unknown; grant %s not listed",
                item["service"]["peer_id"],
                item["grant_hash"][:24],
            )
            continue
        item["service"]["manager_address"] = address
        out.append(item)
    return out


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def respond(
    m: Manager, cert: x509.Certificate, caller: PeerIdentity, if_none_match: str | None
) -> Awaitable[web.Response]:
    """The answer to one request; 403 (FSC error body) for a certificate of another Peer."""
    if caller.peer_id != m.peer_id:
        raise RequestError(
            ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED,
            f"only Outways of peer '{m.peer_id}' may list its outway grants; "
            f"the client certificate belongs to peer '{caller.peer_id}'",
            403,
        )
    return _respond(m, cert, if_none_match)


async def _respond(m: Manager, cert: x509.Certificate, if_none_match: str | None) -> web.Response:
    grants = await usable_grants(m, cert)
    body = json.dumps({"grants": grants}, ensure_ascii=False, separators=(",", ":")).encode()
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    match = {v.strip() for v in (if_none_match or "").split(",")}
    if etag in match or "*" in match:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)
