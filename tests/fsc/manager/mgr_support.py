"""Test support: a running local Group and helpers to act as any of its Peers over real mTLS."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.versions import scheme_for
from nds.fsc.jose import sign_compact
from nds.fsc.localgroup import LocalGroup, PeerRuntime, PeerSpec
from nds.pki import load_certificate, load_private_key, public_key_thumbprint

DIRECTORY, PROVIDER, CONSUMER, DELEGATOR, OUTSIDER, RSA_PEER = (
    "Directory",
    "Provider A",
    "Consumer B",
    "Delegator C",
    "Outsider D",
    "Consumer R",
)
SERVICE = "basisregistratie"
SERVICE_2 = "kadaster-data"
INWAY_ADDRESS = "https://inway.provider-a.test:443"


def uuid7() -> str:
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Harness:
    """Acts as any Peer of a running :class:`LocalGroup`."""

    def __init__(self, group: LocalGroup, version: str, backend: str) -> None:
        self.group = group
        self.version = version
        self.backend = backend
        self.group_id = group.group_id
        self._clients: dict[str, httpx.Client] = {}

    # -- peers ---------------------------------------------------------------------------

    def p(self, name: str) -> PeerRuntime:
        return self.group[name]

    def pid(self, name: str) -> str:
        return self.group[name].peer_id

    def thumbprint(self, name: str) -> str:
        return public_key_thumbprint(load_certificate(self.p(name).cert))

    def client(self, name: str) -> httpx.Client:
        if name not in self._clients:
            self._clients[name] = self.group.client(name)
        return self._clients[name]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()

    # -- contract content ----------------------------------------------------------------

    def content(self, *grants: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        c: dict[str, Any] = {
            "iv": uuid7(),
            "group_id": self.group_id,
            "validity": {"not_before": now - 60, "not_after": now + 3600},
            "grants": [{"data": g} for g in grants],
            "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
            "created_at": now - 5,
        }
        c.update(overrides)
        return c

    def service(self, provider: str, name: str = SERVICE, delegator: str | None = None) -> dict[str, Any]:
        if delegator is None:
            return {"type": "SERVICE_TYPE_SERVICE", "peer_id": self.pid(provider), "name": name}
        return {
            "type": "SERVICE_TYPE_DELEGATED_SERVICE",
            "peer_id": self.pid(provider),
            "name": name,
            "delegator": {"peer_id": self.pid(delegator)},
        }

    def sc(
        self,
        outway: str,
        provider: str = PROVIDER,
        name: str = SERVICE,
        *,
        service_delegator: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        g: dict[str, Any] = {
            "type": "GRANT_TYPE_SERVICE_CONNECTION",
            "outway": {"peer_id": self.pid(outway), "public_key_thumbprint": self.thumbprint(outway)},
            "service": self.service(provider, name, service_delegator),
        }
        if properties is not None:
            g["properties"] = properties
        return g

    def dsc(
        self,
        outway: str,
        delegator: str,
        provider: str = PROVIDER,
        name: str = SERVICE,
        *,
        service_delegator: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        g = self.sc(outway, provider, name, service_delegator=service_delegator, properties=properties)
        g["type"] = "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION"
        g["delegator"] = {"peer_id": self.pid(delegator)}
        return g

    def sp(
        self, provider: str = PROVIDER, name: str = SERVICE, properties: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        g: dict[str, Any] = {
            "type": "GRANT_TYPE_SERVICE_PUBLICATION",
            "directory": {"peer_id": self.pid(DIRECTORY)},
            "service": {"peer_id": self.pid(provider), "name": name, "protocol": "PROTOCOL_TCP_HTTP_1.1"},
        }
        if properties is not None:
            g["properties"] = properties
        return g

    def dsp(
        self, provider: str, delegator: str, name: str = SERVICE, properties: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        g = self.sp(provider, name, properties)
        g["type"] = "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION"
        g["delegator"] = {"peer_id": self.pid(delegator)}
        return g

    def content_hash(self, content: dict[str, Any]) -> str:
        return scheme_for(self.version).content_hash(parse_contract_content(content, self.version))

    def grant_hashes(self, content: dict[str, Any]) -> list[str]:
        parsed = parse_contract_content(content, self.version)
        return list(scheme_for(self.version).grant_hashes(parsed))

    # -- signatures ----------------------------------------------------------------------

    def sign(
        self,
        name: str,
        content_hash: str,
        sig_type: str = "accept",
        *,
        rsa_hash: int = 256,
        cert: Path | None = None,
        key: Path | None = None,
        signed_at: int | None = None,
    ) -> str:
        p = self.p(name)
        payload = {
            "contract_content_hash": content_hash,
            "type": sig_type,
            "signed_at": int(time.time()) if signed_at is None else signed_at,
        }
        return sign_compact(
            payload, load_private_key(key or p.key), load_certificate(cert or p.cert), rsa_hash=rsa_hash
        )  # type: ignore[arg-type]

    # -- calls ---------------------------------------------------------------------------

    def post_contract(
        self,
        caller: str,
        target: str,
        content: dict[str, Any],
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        if signature is None:
            signature = self.sign(caller, self.content_hash(content))
        h = {"Fsc-Manager-Address": self.p(caller).address, **(headers or {})}
        return self.client(caller).post(
            f"{self.p(target).address}/v1/contracts",
            json={"contract_content": content, "signature": signature},
            headers=h,
        )

    def put_signature(
        self,
        caller: str,
        target: str,
        sig_type: str,
        content: dict[str, Any],
        signature: str | None = None,
        url_hash: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = self.content_hash(content)
        if signature is None:
            signature = self.sign(caller, h, sig_type)
        return self.client(caller).put(
            f"{self.p(target).address}/v1/contracts/{url_hash or h}/{sig_type}",
            json={"contract_content": content, "signature": signature},
            headers={"Fsc-Manager-Address": self.p(caller).address, **(headers or {})},
        )

    def get(self, caller: str, target: str, path: str, **params: Any) -> httpx.Response:
        return self.client(caller).get(f"{self.p(target).address}/v1{path}", params=params)

    def token(
        self, caller: str, target: str, form: dict[str, str], client: httpx.Client | None = None
    ) -> httpx.Response:
        return (client or self.client(caller)).post(f"{self.p(target).address}/v1/token", data=form)

    def admin(self, name: str, method: str, path: str, body: Any = None) -> httpx.Response:
        p = self.p(name)
        return httpx.request(
            method,
            f"{p.admin_url}/v1{path}",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {p.admin_token}"},
        )

    def admin_sign(self, name: str, content_hash: str, sig_type: str = "accept") -> None:
        r = self.admin(name, "POST", f"/contracts/{content_hash}/{sig_type}")
        assert r.status_code == 200, r.text

    def admin_create(self, name: str, content: dict[str, Any]) -> str:
        r = self.admin(name, "POST", "/contracts", {"contract_content": content})
        assert r.status_code == 201, r.text
        return str(r.json()["content_hash"])

    def contracts_seen_by(self, caller: str, target: str, **params: Any) -> dict[str, dict[str, Any]]:
        r = self.get(caller, target, "/contracts", limit=1000, **params)
        assert r.status_code == 200, r.text
        return {self.content_hash(c["content"]): c for c in r.json()["contracts"]}

    def wait_for(self, check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_signature(
        self,
        viewer: str,
        holder: str,
        content_hash: str,
        signer: str,
        sig_type: str = "accept",
        timeout: float = 15.0,
    ) -> None:
        def seen() -> bool:
            c = self.contracts_seen_by(viewer, holder).get(content_hash)
            return c is not None and self.pid(signer) in c["signatures"][sig_type]

        self.wait_for(seen, timeout, f"{sig_type} signature of {signer} at {holder}")

    def valid_connection(
        self, outway: str = CONSUMER, *, grant: dict[str, Any] | None = None, signers: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], str]:
        """A valid contract with one connection grant to PROVIDER, accepted by everyone on it."""
        content = self.content(grant or self.sc(outway))
        h = self.content_hash(content)
        submitter = signers[0] if signers else outway
        r = self.post_contract(submitter, PROVIDER, content)
        assert r.status_code == 201, r.text
        for other in signers[1:]:
            r = self.put_signature(other, PROVIDER, "accept", content)
            assert r.status_code == 201, r.text
        self.admin_sign(PROVIDER, h)
        return content, self.grant_hashes(content)[0]


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, payload, _sig = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(head))), json.loads(base64.urlsafe_b64decode(pad(payload)))


def assert_fsc_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    body = r.json()
    assert body["code"] == code, body
    assert body["domain"] == "ERROR_DOMAIN_MANAGER", body
    assert body["message"], body
    assert r.headers.get("Fsc-Error-Code") == code


def assert_oauth_error(r: httpx.Response, error: str) -> None:
    assert r.status_code == 400, f"{r.status_code} {r.text}"
    body = r.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str)
    assert r.headers.get("Cache-Control") == "no-store"
    assert "access_token" not in body


def default_specs() -> list[PeerSpec]:
    return [
        PeerSpec(PROVIDER),
        # Consumer B also publishes whatever certificates tests put in extra/1..3.pem (JWKS rollover).
        PeerSpec(
            CONSUMER, extra_config={"extra_jwks_certificates": ["extra/1.pem", "extra/2.pem", "extra/3.pem"]}
        ),
        PeerSpec(DELEGATOR),
        PeerSpec(OUTSIDER),
        PeerSpec(RSA_PEER, key_type="rsa-3072"),
    ]
