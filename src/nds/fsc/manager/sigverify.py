"""Verification of contract signatures received from other Peers (fsc-core §Signatures).

Order of checks, each with its FSC error code:

1. the JWS parses (compact serialisation, JSON header)            → SIGNATURE_VERIFICATION_FAILED
2. ``alg`` is on the allowlist RS/ES 256/384/512                   → UNKNOWN_ALGORITHM_SIGNATURE
3. the header carries ``x5t#S256``                                  → SIGNATURE_VERIFICATION_FAILED
4. the certificate with that thumbprint is known or is in the JWKS of the signing Peer's Manager,
   chains to a Group trust anchor and is valid now (and not revoked when CRLs are checked)
                                                                     → SIGNATURE_VERIFICATION_FAILED
5. its Peer ID is the Peer that sent the signature                  → PEER_ID_SIGNATURE_MISMATCH
   and a party on the contract                                       → PEER_NOT_PART_OF_CONTRACT
6. the JWS verifies with that certificate's key                     → SIGNATURE_VERIFICATION_FAILED
7. the payload's content hash is the contract's                     → SIGNATURE_CONTRACT_CONTENT_HASH_MISMATCH
   and its type is the endpoint's                                    → SIGNATURE_VERIFICATION_FAILED
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from nds.fsc.contracts.errors import ErrorCode, FscError
from nds.fsc.contracts.signing import check_signature_payload
from nds.fsc.jose import ALLOWED_ALGS, JoseError, peek_header, verify_compact
from nds.fsc.manager.peerclient import PeerCallError
from nds.fsc.manager.store import StoredSignature
from nds.pki import CertificateInvalid, PeerIdentity, PeerIdentityError, peer_identity, validate_certificate

if TYPE_CHECKING:
    from nds.fsc.manager.core import Manager

MAX_JWS_LENGTH = 16 * 1024


class SignatureVerifier:
    def __init__(self, manager: Manager) -> None:
        self.m = manager

    async def certificate(
        self, thumbprint: str, signer: PeerIdentity, signer_address: str
    ) -> list[x509.Certificate]:
        cached = await asyncio.to_thread(self.m.store.get_certificate, thumbprint)
        if cached is not None:
            return [x509.load_der_x509_certificate(d) for d in cached[1]]
        try:
            found = await self.m.client.fetch_jwks_certificate(signer_address, signer.peer_id, thumbprint)
        except PeerCallError as exc:
            raise FscError(
                ErrorCode.SIGNATURE_VERIFICATION_FAILED,
                f"unable to retrieve certificate with thumbprint '{thumbprint}' from manager of peer "
                f"'{signer.peer_id}': {exc}",
            ) from None
        return found.chain

    def _validate(self, chain: list[x509.Certificate], now: datetime) -> None:
        try:
            validate_certificate(chain[0], chain[1:], self.m.trust_anchors, now, self.m.crls, purpose="any")
        except CertificateInvalid as exc:
            raise FscError(
                ErrorCode.SIGNATURE_VERIFICATION_FAILED, f"signing certificate is not valid: {exc.reason}"
            ) from None

    async def verify(
        self,
        jws: str,
        sig_type: str,
        content_hash: str,
        signer: PeerIdentity,
        signer_address: str,
        parties: set[str],
    ) -> StoredSignature:
        failed = ErrorCode.SIGNATURE_VERIFICATION_FAILED
        if len(jws) > MAX_JWS_LENGTH:
            raise FscError(failed, "signature is too long")
        try:
            header = peek_header(jws)
        except JoseError as exc:
            raise FscError(failed, f"signature is not a valid JWS: {exc}") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            raise FscError(
                ErrorCode.UNKNOWN_ALGORITHM_SIGNATURE,
                f"signature algorithm {str(alg)[:20]!r} is not supported",
            )
        thumbprint = header.get("x5t#S256")
        if not isinstance(thumbprint, str) or not 20 <= len(thumbprint) <= 64:
            raise FscError(failed, "signature header has no valid 'x5t#S256'")
        chain = await self.certificate(thumbprint, signer, signer_address)
        now = datetime.now(UTC)
        await asyncio.to_thread(self._validate, chain, now)
        try:
            cert_peer = peer_identity(chain[0], self.m.rules).peer_id
        except PeerIdentityError as exc:
            raise FscError(ErrorCode.PEER_CERTIFICATE_VERIFICATION_FAILED, str(exc)) from None
        if cert_peer != signer.peer_id:
            raise FscError(
                ErrorCode.PEER_ID_SIGNATURE_MISMATCH,
                f"peer id '{signer.peer_id}' does not match signature peer id '{cert_peer}'",
            )
        if cert_peer not in parties:
            raise FscError(
                ErrorCode.PEER_NOT_PART_OF_CONTRACT, f"peer '{cert_peer}' not part of the contract"
            )
        try:
            payload = verify_compact(jws, chain[0])
        except JoseError as exc:
            raise FscError(failed, f"signature verification failed: {exc}") from None
        parsed = check_signature_payload(
            payload,
            content_hash,
            sig_type,
            now=int(now.timestamp()),
            max_clock_skew=self.m.rules.clock_skew_seconds,
        )
        await asyncio.to_thread(
            self.m.store.put_certificate,
            thumbprint,
            cert_peer,
            [c.public_bytes(Encoding.DER) for c in chain],
            int(chain[0].not_valid_before_utc.timestamp()),
            int(chain[0].not_valid_after_utc.timestamp()),
        )
        return StoredSignature(cert_peer, sig_type, jws, parsed.signed_at, thumbprint)
