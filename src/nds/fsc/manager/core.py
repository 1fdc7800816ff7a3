"""The Manager's behaviour, independent of HTTP: receiving and signing contracts, state, identity.

Every method that accepts input from another Peer raises :class:`FscError` (with an FSC error code)
for anything it refuses; the routes turn that into the FSC error body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from nds.fsc.contracts.errors import CONTENT_INVALID, GRANT_INVALID, ErrorCode, FscError
from nds.fsc.contracts.kinds import FscVersion, SignatureType
from nds.fsc.contracts.model import (
    ContractContent,
    DelegatedServiceConnectionGrant,
    DelegatedServicePublicationGrant,
    PeerRegistrationGrant,
    ServiceConnectionGrant,
    ServicePublicationGrant,
    parse_contract_content,
    to_json,
)
from nds.fsc.contracts.validation import RegulatedArea
from nds.fsc.grouprules import GroupRules
from nds.fsc.jose import sign_compact
from nds.fsc.manager import hashing
from nds.fsc.manager.config import ManagerConfig
from nds.fsc.manager.peerclient import PeerClient
from nds.fsc.manager.sigverify import SignatureVerifier
from nds.fsc.manager.store import GrantIndex, IvConflict, Store, StoredContract, StoredSignature
from nds.pki import (
    PeerIdentity,
    PkiError,
    cert_thumbprint_s256,
    client_ssl_context,
    load_certificates,
    load_private_key,
    peer_identity,
)

log = logging.getLogger("nds.fsc.manager")

FSC_VERSION_REPORTED = {FscVersion.V1_1: "1.1.0", FscVersion.DRAFT: "draft"}


@dataclass(frozen=True)
class ContractView:
    """A stored contract with its derived state."""

    stored: StoredContract
    content: ContractContent
    state: str  # proposed | valid | rejected | revoked | expired | not_yet_valid | signer_certificate_expired
    reason: str = ""


def grant_index(content: ContractContent, grant_hashes: list[str]) -> list[GrantIndex]:
    out = []
    for i, (g, h) in enumerate(zip(content.grants, grant_hashes, strict=True)):
        fields: dict[str, Any] = {"grant_hash": h, "position": i, "grant_type": g.grant_type.value}
        if isinstance(g, ServicePublicationGrant | DelegatedServicePublicationGrant):
            fields.update(
                directory_peer_id=g.directory.peer_id,
                service_peer_id=g.service.peer_id,
                service_name=g.service.name,
            )
        elif isinstance(g, ServiceConnectionGrant | DelegatedServiceConnectionGrant):
            fields.update(
                service_peer_id=g.service.peer_id,
                service_name=g.service.name,
                service_delegator_peer_id=g.service.delegator.peer_id if g.service.delegator else None,
                outway_peer_id=g.outway.peer_id,
                outway_public_key_thumbprint=g.outway.public_key_thumbprint.lower(),
            )
        elif isinstance(g, PeerRegistrationGrant):
            fields.update(
                member_peer_id=g.member.peer_id,
                membership_administrator_peer_id=g.membership_administrator.peer_id,
                regulated_area=g.membership_administrator.regulated_area_name,
            )
        if isinstance(g, DelegatedServiceConnectionGrant | DelegatedServicePublicationGrant):
            fields["delegator_peer_id"] = g.delegator.peer_id
        out.append(GrantIndex(**fields))
    return out


def contract_parties(content: ContractContent) -> set[str]:
    """Every Peer named in a grant: they may see and sign it, and receive its signatures."""
    return hashing.parties(content)


class Manager:
    def __init__(self, cfg: ManagerConfig, rules: GroupRules, store: Store) -> None:
        self.cfg = cfg
        self.rules = rules
        self.store = store
        self.version = FscVersion(rules.fsc_version)
        chain = load_certificates(cfg.certificate)
        if not chain:
            raise ValueError(f"no certificate in {cfg.certificate}")
        self.cert: x509.Certificate = chain[0]
        self.chain: list[x509.Certificate] = [c for c in chain[1:] if c.issuer != c.subject]
        self.key = load_private_key(cfg.private_key)
        self.identity: PeerIdentity = peer_identity(self.cert, rules)
        self.peer_id = self.identity.peer_id
        self.trust_anchors = rules.load_trust_anchors()
        self.crls = rules.load_crls() if rules.check_crl else []
        self.client = PeerClient(
            rules, client_ssl_context(rules, cfg.certificate, cfg.private_key), cfg.address
        )
        self.verifier = SignatureVerifier(self)
        self.outbox_wakeup = asyncio.Event()
        # The certificate we sign with is trusted for our own signatures without a JWKS round trip.
        self.store.put_certificate(
            cert_thumbprint_s256(self.cert),
            self.peer_id,
            [c.public_bytes(Encoding.DER) for c in [self.cert, *self.chain]],
            int(self.cert.not_valid_before_utc.timestamp()),
            int(self.cert.not_valid_after_utc.timestamp()),
        )

    # -- helpers -----------------------------------------------------------------------------

    def extra_jwks(self) -> list[list[x509.Certificate]]:
        """Further published certificate chains, read at each request (files may come and go)."""
        out = []
        for path in self.cfg.extra_jwks_certificates:
            try:
                chain = load_certificates(path)
            except (OSError, ValueError, PkiError):
                continue
            if chain:
                out.append(chain)
        return out

    def now(self) -> int:
        return int(time.time())

    def directory_entry(self) -> tuple[str, str] | None:
        if self.cfg.directory_address:
            peer = next(
                (d for d in self.rules.directories if d.manager_address == self.cfg.directory_address), None
            )
            return (self.cfg.directory_address, peer.peer_id if peer else "")
        if self.rules.directories:
            d = self.rules.directories[0]
            return d.manager_address, d.peer_id
        return None

    def parse(self, raw: Any) -> tuple[ContractContent, str, list[str]]:
        """Parse contract content and compute its content and grant hashes."""
        content = parse_contract_content(raw, self.version)
        content_hash = hashing.content_hash(content, self.version)
        grant_hashes = hashing.grant_hashes(content, self.version)
        return content, content_hash, grant_hashes

    def state_of(
        self,
        stored: StoredContract,
        content: ContractContent | None = None,
        validity: dict[str, tuple[int, int]] | None = None,
    ) -> ContractView:
        """``validity``: the signers' certificate validity, when the caller fetched it for many contracts
        at once (``store.certificate_validity``); read from the store otherwise."""
        content = content or parse_contract_content(stored.content, self.version)
        if validity is None:
            validity = self.store.certificate_validity(s.cert_thumbprint for s in stored.signatures)
        st = hashing.state(
            content,
            [(s.peer_id, s.sig_type, s.signed_at, s.cert_thumbprint) for s in stored.signatures],
            validity,
            self.now(),
        )
        return ContractView(stored, content, st.detail, st.reason)

    def is_valid(self, stored: StoredContract) -> bool:
        return self.state_of(stored).state == "valid"

    # -- validation of incoming contracts ----------------------------------------------------

    def validate_new(
        self,
        content: ContractContent,
        submitter: str,
        offered: bool = True,
        members: dict[str, bool] | None = None,
    ) -> None:
        """fsc-core §Contract Validation for this Peer (see :func:`hashing.validate`).

        ``members``: membership of the Peers this contract must be checked for (Regulated Area), asked
        beforehand from the Membership Administrator.
        """
        services = {s["name"]: s["regulated_area"] for s in self.store.list_services()}
        own_services = set(services)
        admin = self.rules.membership_administrator_peer_id
        admins = frozenset({admin}) if admin else frozenset()

        def service_area(name: str) -> RegulatedArea | None:
            area = services.get(name)
            return RegulatedArea(area, admins) if admin and area else None

        directory_area = (
            RegulatedArea(self.cfg.regulated_areas[0], admins)
            if self.cfg.directory and admin and self.cfg.regulated_areas
            else None
        )
        hashing.validate(
            content,
            self.version,
            own_peer_id=self.peer_id,
            group_id=self.rules.group_id,
            now=self.now(),
            clock_skew=self.rules.clock_skew_seconds,
            max_grants=self.cfg.max_grants,
            is_directory=self.cfg.directory,
            directory_peer_ids=[d.peer_id for d in self.rules.directories],
            peer_id_pattern=self.rules.peer_id_pattern,
            iv_in_use=lambda iv: self.store.iv_in_use(str(iv)),
            offers_service=lambda name: name in own_services,
            submitter=submitter,
            offered=offered,
            service_area=service_area,
            directory_area=directory_area,
            is_member=(lambda _area, peer: members.get(peer, False)) if members is not None else None,
            administered_areas=(
                frozenset(self.cfg.regulated_areas)
                if self.cfg.membership_administrator and self.cfg.regulated_areas
                else None
            ),
        )
        for i, g in enumerate(content.grants):
            if isinstance(g, PeerRegistrationGrant) and (
                g.membership_administrator.peer_id == self.peer_id and not self.cfg.membership_administrator
            ):
                raise FscError(
                    GRANT_INVALID, f"grants[{i}]: peer '{self.peer_id}' is not a Membership Administrator"
                )

    # -- receiving from other Peers ----------------------------------------------------------

    async def receive(
        self,
        caller: PeerIdentity,
        caller_address: str,
        body: dict[str, Any],
        sig_type: str,
        url_hash: str | None,
    ) -> bool:
        """POST /contracts (``url_hash`` None, type accept) or PUT /contracts/{hash}/{type}."""
        raw, signature = body.get("contract_content"), body.get("signature")
        if raw is None or signature is None:
            raise FscError(CONTENT_INVALID, "the request body needs 'contract_content' and 'signature'")
        if not isinstance(signature, str):
            raise FscError(
                ErrorCode.SIGNATURE_VERIFICATION_FAILED, "'signature' must be a string (compact JWS)"
            )
        if url_hash is not None:
            hashing.check_hash_format(url_hash)
        content, content_hash, grant_hashes = await asyncio.to_thread(self.parse, raw)
        if url_hash is not None and url_hash != content_hash:
            raise FscError(
                ErrorCode.URL_PATH_CONTENT_HASH_MISMATCH,
                f"hash in the URL '{url_hash}' does not match the contract content hash '{content_hash}'",
            )
        existing = await asyncio.to_thread(self.store.get_contract, content_hash)
        if existing is None:
            from nds.fsc.manager import regulated

            members = await regulated.prefetch(self, content)
            await asyncio.to_thread(self.validate_new, content, caller.peer_id, url_hash is None, members)
            await self.check_membership(content)
        else:
            if caller.peer_id not in existing.peers:
                raise FscError(
                    ErrorCode.PEER_NOT_PART_OF_CONTRACT,
                    f"peer '{caller.peer_id}' is not part of the contract",
                )
        sig = await self.verifier.verify(
            signature, sig_type, content_hash, caller, caller_address, contract_parties(content)
        )
        await asyncio.to_thread(
            self.store.upsert_peer, caller.peer_id, caller.name, caller_address, "contract"
        )
        if existing is None:
            try:
                await asyncio.to_thread(
                    self.store.insert_contract,
                    content_hash,
                    to_json(content),
                    grant_index(content, grant_hashes),
                    contract_parties(content),
                )
            except IvConflict:
                raise FscError(
                    CONTENT_INVALID, f"another contract with iv '{content.iv}' exists; the iv must be unique"
                ) from None
        changed = await asyncio.to_thread(self.store.add_signature, content_hash, sig)
        if existing is None:
            await self.auto_sign(content, content_hash)
        return changed

    async def check_membership(self, content: ContractContent) -> None:
        """Regulated Area: hook filled in by :mod:`nds.fsc.manager.regulated`."""
        from nds.fsc.manager import regulated

        await regulated.check_contract(self, content)

    async def auto_sign(self, content: ContractContent, content_hash: str) -> None:
        """A Directory accepts valid publication contracts; a Membership Administrator registrations."""
        kinds = {type(g) for g in content.grants}
        if (
            self.cfg.directory
            and self.cfg.auto_sign_publications
            and kinds <= {ServicePublicationGrant, DelegatedServicePublicationGrant}
        ) or (
            self.cfg.membership_administrator
            and self.cfg.auto_sign_registrations
            and kinds == {PeerRegistrationGrant}
        ):
            await self.sign(content_hash, "accept")

    # -- our own signatures ------------------------------------------------------------------

    def _signature(self, content_hash: str, sig_type: str) -> StoredSignature:
        now = self.now()
        jws = sign_compact(
            {"contract_content_hash": content_hash, "type": sig_type, "signed_at": now}, self.key, self.cert
        )
        return StoredSignature(self.peer_id, sig_type, jws, now, cert_thumbprint_s256(self.cert))

    def _enqueue(
        self,
        stored_peers: Iterable[str],
        action: str,
        content_hash: str,
        content_json: dict[str, Any],
        jws: str,
    ) -> None:
        body = json.dumps({"contract_content": content_json, "signature": jws}, ensure_ascii=False)
        targets = sorted(p for p in set(stored_peers) if p != self.peer_id)
        self.store.enqueue((t, action, content_hash, body) for t in targets)
        self.outbox_wakeup.set()

    async def create(self, raw: Any) -> str:
        """Our officer proposes a contract: validate, sign accept, store, send to every other Peer."""
        content, content_hash, grant_hashes = await asyncio.to_thread(self.parse, raw)
        from nds.fsc.manager import regulated

        members = await regulated.prefetch(self, content)
        await asyncio.to_thread(self.validate_new, content, self.peer_id, False, members)
        sig = self._signature(content_hash, "accept")
        parties = contract_parties(content)
        try:
            await asyncio.to_thread(
                self.store.insert_contract,
                content_hash,
                to_json(content),
                grant_index(content, grant_hashes),
                parties,
            )
        except IvConflict:
            raise FscError(CONTENT_INVALID, f"another contract with iv '{content.iv}' exists") from None
        await asyncio.to_thread(self.store.add_signature, content_hash, sig)
        await asyncio.to_thread(self._enqueue, parties, "submit", content_hash, to_json(content), sig.jws)
        return content_hash

    async def sign(self, content_hash: str, sig_type: str) -> StoredSignature:
        """Our officer accepts, rejects or revokes a stored contract; the signature is propagated."""
        if sig_type not in {t.value for t in SignatureType}:
            raise ValueError(f"unknown signature type {sig_type!r}")
        stored = await asyncio.to_thread(self.store.get_contract, content_hash)
        if stored is None:
            raise KeyError(content_hash)
        sig = self._signature(content_hash, sig_type)
        await asyncio.to_thread(self.store.add_signature, content_hash, sig)
        await asyncio.to_thread(self._enqueue, stored.peers, sig_type, content_hash, stored.content, sig.jws)
        return sig

    # -- announce ----------------------------------------------------------------------------

    async def announce_to_known_peers(self) -> None:
        from nds.fsc.manager.peerclient import PeerCallError

        entry = self.directory_entry()
        peers = await asyncio.to_thread(self.store.list_peers, limit=100000)
        for p in peers:
            if p["peer_id"] in (self.peer_id, entry[1] if entry else None) or not p["manager_address"]:
                continue
            try:
                await self.client.request(
                    "PUT", p["manager_address"], "/announce", expected_peer_id=p["peer_id"], write=True
                )
            except PeerCallError as exc:
                log.info("announce to peer %s failed: %s", p["peer_id"], exc)

    async def announce_to_directory(self) -> bool:
        entry = self.directory_entry()
        if entry is None or entry[0] == self.cfg.address:
            return True
        address, peer_id = entry
        from nds.fsc.manager.peerclient import PeerCallError

        try:
            resp = await self.client.request(
                "PUT", address, "/announce", expected_peer_id=peer_id or None, write=True
            )
        except PeerCallError as exc:
            log.info("announce to directory failed: %s", exc)
            return False
        if resp.status_code != 200:
            log.warning("announce to directory answered HTTP %s", resp.status_code)
            return False
        if peer_id:
            await asyncio.to_thread(self.store.upsert_peer, peer_id, peer_id, address, "directory")
        return True
