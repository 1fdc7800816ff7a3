"""Outbound mTLS calls from this Manager to other Managers (JWKS, peers, contract propagation).

Every call presents our certificate, verifies the server against the Group trust anchors and the
host name in its certificate, and then checks that the server's certificate carries the Peer ID we
meant to reach, so a signature is never delivered to, nor a certificate fetched from, the wrong Peer.
"""

from __future__ import annotations

import base64
import json
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509

from nds.fsc.grouprules import GroupRules
from nds.pki import PeerIdentityError, cert_thumbprint_s256, peer_certificate_from_ssl_object, peer_identity

MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class PeerCallError(Exception):
    """A call to another Manager failed; ``permanent`` means retrying will not help."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


@dataclass(frozen=True)
class PeerResponse:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class JwksCertificate:
    thumbprint: str
    chain: list[x509.Certificate]


class PeerClient:
    def __init__(
        self, rules: GroupRules, ssl_context: ssl.SSLContext, own_address: str, timeout: float = 10.0
    ):
        self.rules = rules
        self.own_address = own_address
        self._client = httpx.AsyncClient(
            verify=ssl_context,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "nds-fsc-manager"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _check_server(self, response: httpx.Response, expected_peer_id: str | None) -> None:
        if expected_peer_id is None:
            return
        stream = response.extensions.get("network_stream")
        ssl_obj = stream.get_extra_info("ssl_object") if stream is not None else None
        cert = peer_certificate_from_ssl_object(ssl_obj)
        if cert is None:
            raise PeerCallError("the server presented no certificate")
        try:
            ident = peer_identity(cert, self.rules)
        except PeerIdentityError as exc:
            raise PeerCallError(f"server certificate: {exc}", permanent=True) from None
        if ident.peer_id != expected_peer_id:
            raise PeerCallError(
                f"server at this address is Peer {ident.peer_id}, not {expected_peer_id}", permanent=True
            )

    async def request(
        self,
        method: str,
        address: str,
        path: str,
        *,
        expected_peer_id: str | None,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        write: bool = False,
    ) -> PeerResponse:
        """One call; the server's Peer ID is checked while the connection is open, the body is capped."""
        headers = {"Fsc-Manager-Address": self.own_address} if write else {}
        try:
            async with self._client.stream(
                method, f"{address}/v1{path}", json=json_body, params=params, headers=headers
            ) as resp:
                self._check_server(resp, expected_peer_id)
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise PeerCallError("response too large")
                    chunks.append(chunk)
                return PeerResponse(resp.status_code, b"".join(chunks))
        except httpx.HTTPError as exc:
            raise PeerCallError(f"{type(exc).__name__} calling {address}{path}") from None

    async def fetch_jwks_certificate(self, address: str, peer_id: str, thumbprint: str) -> JwksCertificate:
        """The certificate chain (x5c) with ``x5t#S256`` = ``thumbprint`` from a Peer's JWKS."""
        resp = await self.request("GET", address, "/.well-known/jwks.json", expected_peer_id=peer_id)
        if resp.status_code != 200:
            raise PeerCallError(
                f"JWKS of peer {peer_id} answered HTTP {resp.status_code}", status=resp.status_code
            )
        try:
            keys = resp.json()["keys"]
            if not isinstance(keys, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise PeerCallError(f"JWKS of peer {peer_id} is malformed") from None
        for key in keys:
            if not isinstance(key, dict) or not isinstance(key.get("x5c"), list) or not key["x5c"]:
                continue
            try:
                chain = [
                    x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in key["x5c"]
                ]
            except (ValueError, TypeError):
                continue
            if cert_thumbprint_s256(chain[0]) == thumbprint:
                return JwksCertificate(thumbprint, chain)
        raise PeerCallError(f"certificate with thumbprint {thumbprint!r} not in the JWKS of peer {peer_id}")

    async def lookup_peer(
        self, directory_address: str, directory_peer_id: str, peer_id: str
    ) -> dict[str, Any] | None:
        resp = await self.request(
            "GET",
            directory_address,
            "/peers",
            expected_peer_id=directory_peer_id,
            params={"peer_id": peer_id},
        )
        if resp.status_code != 200:
            return None
        try:
            for p in resp.json()["peers"]:
                if p.get("id") == peer_id and isinstance(p.get("manager_address"), str):
                    return dict(p)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return None
