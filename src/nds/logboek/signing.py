"""Detached signatures for checkpoints and tombstones (pure code over ``cryptography``).

The organisation signs with its own private key; a *witness* (another peer or the directory)
countersigns the same statement, so the organisation alone cannot rewrite history unnoticed.
Statements are canonical JSON (RFC 8785 via ``rfc8785``); signatures are ECDSA-SHA256 (P-256/P-384
keys) or RSA-PSS-SHA256, base64url without padding.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def canonical(statement: dict[str, Any]) -> bytes:
    return rfc8785.dumps(statement)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@dataclass(frozen=True)
class Signer:
    identity: str  # who signs, e.g. the organisation's OIN or name
    key: PrivateKeyTypes

    def sign(self, data: bytes) -> str:
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return _b64(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        if isinstance(self.key, rsa.RSAPrivateKey):
            return _b64(self.key.sign(data, _PSS, hashes.SHA256()))
        raise TypeError("only EC and RSA keys can sign checkpoints")

    def verifier(self) -> Verifier:
        return Verifier(self.identity, self.key.public_key())


@dataclass(frozen=True)
class Verifier:
    identity: str
    public_key: PublicKeyTypes

    def verify(self, data: bytes, signature: str) -> bool:
        try:
            sig = _unb64(signature)
            if isinstance(self.public_key, ec.EllipticCurvePublicKey):
                self.public_key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(self.public_key, rsa.RSAPublicKey):
                self.public_key.verify(sig, data, _PSS, hashes.SHA256())
            else:
                return False
        except (InvalidSignature, ValueError):
            return False
        return True
