"""The token endpoint: OAuth 2.0 client credentials over mTLS (fsc-core §Tokens, RFC 8705).

Checks, in order, each failing with an RFC 6749 §5.2 error:

- ``grant_type`` is ``client_credentials``                                 → unsupported_grant_type
- ``scope`` and ``client_id`` are present, once, well-formed               → invalid_request / invalid_scope
- ``client_id`` is the Peer ID in the client certificate                   → invalid_client
- ``scope`` is the hash of a (Delegated)ServiceConnectionGrant we store    → invalid_scope
- the grant's Service is ours (``service.peer_id``) and offered by one of
  our Inways                                                               → invalid_scope
- the client certificate's Peer ID is ``grant.outway.peer_id``             → unauthorized_client
- its public key thumbprint is ``grant.outway.public_key_thumbprint``      → invalid_grant
- the contract is valid now (accepted by all, not rejected/revoked/expired,
  signers' certificates valid, ``not_before`` reached)                      → invalid_grant
- Regulated Area: all Peers on the grant are still members                 → unauthorized_client
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from cryptography import x509

from nds.fsc.contracts.errors import FscError
from nds.fsc.contracts.hashes import parse_hash
from nds.fsc.contracts.kinds import GrantType
from nds.fsc.jose import issue_access_token
from nds.fsc.manager.errors import OAuthError
from nds.pki import cert_thumbprint_s256, public_key_thumbprint

if TYPE_CHECKING:
    from nds.fsc.manager.core import Manager

CONNECTION_TYPES = (GrantType.SERVICE_CONNECTION.value, GrantType.DELEGATED_SERVICE_CONNECTION.value)
MAX_FORM_BYTES = 8192


def parse_form(body: bytes) -> dict[str, str]:
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "request body too large")
    try:
        text = body.decode("ascii")
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "body must be application/x-www-form-urlencoded") from None
    out: dict[str, str] = {}
    for k, v in parsed.items():
        if len(v) != 1:
            raise OAuthError("invalid_request", f"parameter '{k[:40]}' given more than once")
        out[k] = v[0]
    return out


async def issue(
    m: Manager, form: dict[str, str], client_cert: x509.Certificate, client_peer_id: str
) -> dict[str, Any]:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only grant_type client_credentials is supported")
    scope, client_id = form.get("scope"), form.get("client_id")
    if not scope:
        raise OAuthError("invalid_request", "scope (the grant hash) is required")
    if not client_id:
        raise OAuthError("invalid_request", "client_id (the peer id) is required")
    try:
        parse_hash(scope)
    except FscError as exc:
        raise OAuthError("invalid_scope", f"scope is not a valid grant hash: {exc.message}") from None
    if client_id != client_peer_id:
        raise OAuthError("invalid_client", "client_id does not match the peer id of the client certificate")
    found = await asyncio.to_thread(m.store.contract_by_grant, scope)
    if found is None:
        raise OAuthError("invalid_scope", "no contract with this grant hash is known")
    stored, grant = found
    if grant["grant_type"] not in CONNECTION_TYPES:
        raise OAuthError("invalid_scope", "the grant is not a (delegated) service connection grant")
    if grant["service_peer_id"] != m.peer_id:
        raise OAuthError("invalid_scope", "the service of this grant is not offered by this peer")
    service = await asyncio.to_thread(m.store.get_service, grant["service_name"])
    if service is None:
        raise OAuthError("invalid_scope", "the service of this grant is not offered by an inway of this peer")
    if grant["outway_peer_id"] != client_peer_id:
        raise OAuthError(
            "unauthorized_client", "the client certificate's peer is not the outway peer of the grant"
        )
    if public_key_thumbprint(client_cert) != grant["outway_public_key_thumbprint"]:
        raise OAuthError("invalid_grant", "the client certificate's public key is not the one in the grant")
    view = await asyncio.to_thread(m.state_of, stored)
    if view.state != "valid":
        reasons = {
            "revoked": "the contract containing the grant has been revoked",
            "rejected": "the contract containing the grant has been rejected",
            "expired": "the contract containing the grant has expired",
            "proposed": "the contract containing the grant is not accepted by all peers",
            "not_yet_valid": "the contract containing the grant is not valid yet",
            "signer_certificate_expired": "a signature on the contract was made with a certificate that is "
            "no longer valid; the peer must sign again",
        }
        raise OAuthError("invalid_grant", reasons.get(view.state, "the contract is not valid"))
    if m.rules.membership_administrator_peer_id is not None:
        from nds.fsc.manager import regulated

        check = {
            p
            for p in (grant["outway_peer_id"], grant["delegator_peer_id"], grant["service_delegator_peer_id"])
            if p
        }
        for peer_id in sorted(check):
            try:
                member = await regulated.is_member(m, peer_id)
            except regulated.MembershipUnavailable:
                member = False
            if not member:
                raise OAuthError("unauthorized_client", "Peer is not a member of the Regulated Area")
    data = stored.content["grants"][grant["position"]]["data"]
    token = issue_access_token(
        key=m.key,
        cert=m.cert,
        grant_hash=scope,
        group_id=m.rules.group_id,
        sub=grant["outway_peer_id"],
        iss=m.peer_id,
        svc=grant["service_name"],
        aud=service["inway_address"],
        lifetime=m.rules.token_lifetime_seconds,
        now=m.now(),
        cnf_x5t_s256=cert_thumbprint_s256(client_cert),
        act_sub=grant["delegator_peer_id"],
        pdi=grant["service_delegator_peer_id"],
        prp=data.get("properties"),
    )
    return {"access_token": token, "token_type": "bearer", "expires_in": m.rules.token_lifetime_seconds}
