"""Keyed pseudonyms for data subject IDs.

There are only ~10^8 possible BSNs, so an unkeyed hash is reversible by enumeration. Records
therefore carry ``HMAC-SHA256(key, "<type>:<id>")`` and the ID of the key used. The keys live in
a key file outside the database (mode 0600); rotating adds a new active key while old keys stay
usable for lookups until every record made with them has passed its retention.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from nds.logboek.model import DataSubject

_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class KeyringError(Exception):
    pass


@dataclass(frozen=True)
class Keyring:
    active: str
    keys: dict[str, bytes]

    def pseudonym(self, subject: DataSubject, key_id: str | None = None) -> tuple[str, str]:
        """(key id, pseudonym) for a subject under the active key (or ``key_id``)."""
        kid = key_id or self.active
        return kid, self.mac(kid, f"{subject.type}:{subject.id}".encode()).hex()

    def mac(self, kid: str, msg: bytes) -> bytes:
        """HMAC-SHA256 (RFC 2104) of ``msg`` under key ``kid``, from SHA-256 states that already
        absorbed the padded key: two C-level copies and updates per pseudonym. The ``hmac`` module
        gives the same bytes (tested) at twice the cost here (its copy/update/digest are Python
        methods around the C object), and ``hmac.digest`` releases the GIL for every call."""
        inner, outer = self._pads[kid]
        h = inner.copy()
        h.update(msg)
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    @cached_property
    def _pads(self) -> dict[str, tuple[Any, Any]]:
        """Per key: SHA-256 after the key XOR ipad, and after the key XOR opad (RFC 2104 §2)."""
        out = {}
        for kid, key in self.keys.items():
            k = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
            k = k.ljust(_BLOCK, b"\0")
            out[kid] = (hashlib.sha256(k.translate(_IPAD)), hashlib.sha256(k.translate(_OPAD)))
        return out

    def all_pseudonyms(self, subject: DataSubject) -> list[tuple[str, str]]:
        """The subject's pseudonym under every key (to find records made before a rotation)."""
        return [self.pseudonym(subject, kid) for kid in sorted(self.keys)]

    # --- persistence -------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path) -> Keyring:
        if path.exists():
            raise KeyringError(f"key file {path} already exists")
        ring = cls(active=_new_kid(), keys={})
        ring = cls(active=ring.active, keys={ring.active: secrets.token_bytes(32)})
        ring.save(path)
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: base64.b64decode(v) for kid, v in data["keys"].items()}
            active = data["active"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"cannot read key file {path}: {type(exc).__name__}") from exc
        if active not in keys or any(len(k) < 32 for k in keys.values()):
            raise KeyringError(f"key file {path} is invalid (active key missing or key too short)")
        return cls(active=active, keys=keys)

    @classmethod
    def load_or_create(cls, path: Path) -> Keyring:
        return cls.load(path) if path.exists() else cls.create(path)

    def rotate(self, path: Path) -> Keyring:
        kid = _new_kid()
        ring = Keyring(active=kid, keys={**self.keys, kid: secrets.token_bytes(32)})
        ring.save(path)
        return ring

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        payload = {
            "active": self.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _new_kid() -> str:
    return datetime.now(UTC).strftime("k%Y%m%d%H%M%S") + secrets.token_hex(2)
