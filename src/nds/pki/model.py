"""Value types and errors of the PKI package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

KeyType = Literal["ec-p256", "ec-p384", "rsa-3072", "rsa-4096"]
KEY_TYPES: tuple[str, ...] = ("ec-p256", "ec-p384", "rsa-3072", "rsa-4096")


class PkiError(Exception):
    """A PKI operation failed for a reason the user can act on (message is user-facing)."""


class CertificateInvalid(PkiError):
    """A certificate failed validation; ``reason`` says why (no secrets in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PeerIdentityError(PkiError):
    """The certificate subject lacks a valid Peer ID or Peer name under the Group rules."""


@dataclass(frozen=True)
class CaFiles:
    """A Group CA on disk: ``cert`` (PEM) and ``key`` (PEM, PKCS#8, unencrypted, mode 0600)."""

    cert: Path
    key: Path

    @property
    def directory(self) -> Path:
        return self.cert.parent


@dataclass(frozen=True)
class PeerFiles:
    """A Peer certificate on disk: ``cert`` (leaf PEM), ``key`` (PEM, 0600), ``chain`` (leaf + CA PEM)."""

    cert: Path
    key: Path
    chain: Path


@dataclass(frozen=True)
class PeerIdentity:
    """Who a certificate belongs to under the Group rules."""

    peer_id: str
    name: str
