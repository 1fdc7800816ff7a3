"""Who is using the DigiLab web pages: sessions, CSRF, citizen and officer login, the audit log.

- **Sessions** live on the server; the cookie holds only a random session ID (``HttpOnly``,
  ``SameSite=Lax``, ``Path=/digilab``, ``Secure`` over HTTPS). A login gets a fresh ID (no session
  fixation), sessions end after 30 minutes idle or 8 hours, logging out removes them. No BSN ever
  leaves the server: not in a cookie, a URL or a log line.
- **CSRF**: every form carries the session's synchronizer token; every POST is refused (403)
  without the right one, and when its ``Origin`` header names another site.
- **Citizens** log in through a :class:`CitizenLogin`. The DigiLab has :class:`SimulatedDigiD`,
  which only exists in demo mode (loopback only, banner on every page); a real deployment plugs in
  its OIDC provider through the same small interface.
- **Officers** log in per organisation with a role: ``beheerder`` may accept, reject and revoke
  contracts, ``medewerker`` may only look. Accounts come from an :class:`OfficerDirectory`: a file
  with scrypt password hashes, and in demo mode a documented set of demo accounts.
- **Audit log**: every officer action and every officer lookup of a log is appended (who, what,
  which organisation, when, result) to a hash-chained JSON Lines file, fsynced before the page
  answers. Officer identity goes only here, never into LDV records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from nds.digilab.registers.data import TEST_BSN_FIRST, TEST_BSN_LAST, is_valid_bsn

COOKIE = "nds_digilab_sessie"
COOKIE_PATH = "/digilab"
IDLE_SECONDS = 30 * 60
MAX_SECONDS = 8 * 3600
ROLES = {
    "beheerder": "Beheerder (mag contracten accepteren, afwijzen en intrekken)",
    "medewerker": "Medewerker (mag alleen inzien)",
}
ACTING_ROLES = frozenset({"beheerder"})
DEMO_PASSWORD = "digilab-demo"  # noqa: S105 - documented demo-only credential
MAX_FAILURES = 5
LOCK_SECONDS = 300


class AuthError(Exception):
    def __init__(self, detail: str, status: int = 403) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class Citizen:
    bsn: str
    via: str  # e.g. "DigiD (gesimuleerd)"

    def __repr__(self) -> str:
        return f"Citizen(<redacted>, via={self.via!r})"


@dataclass(frozen=True)
class Officer:
    username: str
    name: str
    roles: dict[str, str]  # organisation slug → role

    def can_view(self, slug: str) -> bool:
        return slug in self.roles

    def can_act(self, slug: str) -> bool:
        return self.roles.get(slug) in ACTING_ROLES


@dataclass
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    citizen: Citizen | None = None
    officer: Officer | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)

    def __repr__(self) -> str:
        return f"Session(officer={self.officer.username if self.officer else None})"


class SessionStore:
    """In-memory sessions of one web process (document: a multi-process deployment needs a shared
    store behind the same three methods)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._s: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.clock = clock

    def _new(self) -> Session:
        now = self.clock()
        return Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            s = self._s.get(sid)
            if s is None:
                return None
            now = self.clock()
            if now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS:
                del self._s[sid]
                return None
            s.seen = now
            return s

    def create(self) -> Session:
        s = self._new()
        with self._lock:
            self._purge()
            self._s[s.id] = s
        return s

    def rotate(self, old: Session) -> Session:
        """A new ID and CSRF token for a session whose privileges change (login)."""
        s = self._new()
        s.citizen, s.officer, s.flash = old.citizen, old.officer, old.flash
        with self._lock:
            self._s.pop(old.id, None)
            self._s[s.id] = s
        return s

    def delete(self, s: Session) -> None:
        with self._lock:
            self._s.pop(s.id, None)

    def _purge(self) -> None:
        now = self.clock()
        for sid in [
            k for k, v in self._s.items() if now - v.seen > IDLE_SECONDS or now - v.created > MAX_SECONDS
        ]:
            del self._s[sid]


def set_cookie(request: Request, response: Response, s: Session) -> None:
    response.set_cookie(
        COOKIE,
        s.id,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=MAX_SECONDS,
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


def check_csrf(request: Request, session: Session | None, token: str | None) -> None:
    """Refuse a POST without the session's token, or sent from another site."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        o = urlsplit(origin)
        if (o.scheme, o.netloc) != (request.url.scheme, request.url.netloc):
            raise AuthError("Dit formulier kwam van een andere website en is geweigerd.")
    if session is None or not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise AuthError(
            "Het formulier is verlopen of ongeldig (CSRF-controle). "
            "Laad de pagina opnieuw en probeer het nog eens."
        )


# -- citizens ---------------------------------------------------------------------------------


class CitizenLogin(Protocol):
    """How a citizen proves who they are. The simulated DigiD asks for a test BSN; an OIDC provider
    would redirect in ``start`` and verify the ID token in ``finish``."""

    label: str  # shown on the login button, e.g. "DigiD (gesimuleerd)"
    simulated: bool

    def finish(self, form: dict[str, str]) -> Citizen:
        """Verify what came back from the login step; raise :class:`AuthError` when invalid."""
        ...


class SimulatedDigiD:
    """Demo-only stand-in for DigiD: any synthetic test person's BSN logs in, nothing else."""

    label = "DigiD (gesimuleerd)"
    simulated = True

    def finish(self, form: dict[str, str]) -> Citizen:
        bsn = "".join(ch for ch in form.get("bsn", "") if not ch.isspace() and ch != ".")
        if not (bsn.isdigit() and len(bsn) == 9 and is_valid_bsn(bsn)):
            raise AuthError("Vul een geldig burgerservicenummer in (9 cijfers, 11-proef).", 400)
        if not TEST_BSN_FIRST <= int(bsn) <= TEST_BSN_LAST:
            raise AuthError("In de DigiLab kunt u alleen inloggen als testpersoon (BSN 9999…).", 400)
        return Citizen(bsn, self.label)


# -- officers ---------------------------------------------------------------------------------


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${dk.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, dk = encoded.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(dk) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), dk)


class OfficerDirectory(Protocol):
    def authenticate(self, username: str, password: str) -> Officer | None: ...

    def demo_accounts(self) -> list[tuple[str, str, str]]:
        """(username, organisation name, role) of documented demo accounts; empty outside demo."""
        ...


class FileOfficers:
    """Accounts from a JSON file::

    {"officers": [{"username": "...", "name": "...", "password": "scrypt$...",
                   "roles": {"<organisation slug>": "beheerder" | "medewerker"}}]}
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        items = data.get("officers", []) if isinstance(data, dict) else []
        return [o for o in items if isinstance(o, dict)]

    def authenticate(self, username: str, password: str) -> Officer | None:
        for o in self._load():
            if o.get("username") == username and verify_password(password, str(o.get("password", ""))):
                roles = {str(k): str(v) for k, v in (o.get("roles") or {}).items() if v in ROLES}
                return Officer(username, str(o.get("name") or username), roles)
        return None

    def demo_accounts(self) -> list[tuple[str, str, str]]:
        return []


class DemoOfficers:
    """Demo mode only: ``beheerder-<slug>`` and ``medewerker-<slug>`` for every organisation, all
    with the documented password :data:`DEMO_PASSWORD` (loopback only, banner shown)."""

    def __init__(self, orgs: Iterable[tuple[str, str]], fallback: OfficerDirectory | None = None) -> None:
        self.orgs = dict(orgs)  # slug → name
        self.fallback = fallback

    def authenticate(self, username: str, password: str) -> Officer | None:
        role, _, slug = username.partition("-")
        if (
            role in ROLES
            and slug in self.orgs
            and hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode())
        ):
            return Officer(username, f"{role.capitalize()} {self.orgs[slug]}", {slug: role})
        return self.fallback.authenticate(username, password) if self.fallback else None

    def demo_accounts(self) -> list[tuple[str, str, str]]:
        return [(f"{role}-{slug}", name, role) for slug, name in self.orgs.items() for role in ROLES]


class LoginThrottle:
    """At most :data:`MAX_FAILURES` wrong passwords per account per :data:`LOCK_SECONDS`."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._fails: dict[str, list[float]] = {}
        self.clock = clock

    def allowed(self, username: str) -> bool:
        now = self.clock()
        recent = [t for t in self._fails.get(username, []) if now - t < LOCK_SECONDS]
        self._fails[username] = recent
        return len(recent) < MAX_FAILURES

    def failed(self, username: str) -> None:
        self._fails.setdefault(username, []).append(self.clock())

    def succeeded(self, username: str) -> None:
        self._fails.pop(username, None)


# -- audit log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    officer: str
    organisation: str
    action: str
    object: str
    result: str
    prev: str
    hash: str


def _entry_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class AuditLogError(Exception):
    """The audit log cannot be read or written; officer actions must then not happen."""


class AuditLog:
    """Append-only, hash-chained JSON Lines; each append is fsynced before it returns.

    One writing process per file (the web app); the last sequence number and hash are kept in
    memory after the first append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._tail: tuple[int, str] | None = None

    def _read(self) -> list[AuditEntry]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AuditLogError(f"audit log unreadable: {exc.strerror}") from None
        out = []
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                out.append(AuditEntry(**json.loads(line)))
            except (ValueError, TypeError):
                raise AuditLogError(f"audit log damaged at line {n}") from None
        return out

    def append(self, officer: Officer, organisation: str, action: str, obj: str, result: str) -> AuditEntry:
        with self._lock:
            if self._tail is None:
                entries = self._read()
                self._tail = (entries[-1].seq, entries[-1].hash) if entries else (0, "0" * 64)
            seq, prev = self._tail
            body: dict[str, Any] = {
                "seq": seq + 1,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "officer": officer.username,
                "organisation": organisation,
                "action": action,
                "object": obj,
                "result": result,
                "prev": prev,
            }
            entry = AuditEntry(**body, hash=_entry_hash(body))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, (json.dumps(entry.__dict__, ensure_ascii=False) + "\n").encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                self._tail = None  # re-read: a partial line must be noticed by verify()
                raise AuditLogError(f"audit log not writable: {exc.strerror}") from None
            self._tail = (entry.seq, entry.hash)
            return entry

    def entries(self, organisations: Iterable[str] | None = None) -> list[AuditEntry]:
        wanted = set(organisations) if organisations is not None else None
        return [e for e in self._read() if wanted is None or e.organisation in wanted]

    def verify(self) -> int | None:
        """The sequence number of the first entry that breaks the chain, or None when intact."""
        prev = "0" * 64
        for i, e in enumerate(self._read(), start=1):
            body = {k: v for k, v in e.__dict__.items() if k != "hash"}
            if e.seq != i or e.prev != prev or _entry_hash(body) != e.hash:
                return i
            prev = e.hash
        return None


def main() -> None:  # pragma: no cover - tiny helper for operators
    """``python -m nds.digilab.auth_web hash-password``: print a scrypt hash for officers.json."""
    import getpass
    import sys

    if sys.argv[1:] != ["hash-password"]:
        print("usage: python -m nds.digilab.auth_web hash-password", file=sys.stderr)
        raise SystemExit(2)
    print(hash_password(getpass.getpass("Wachtwoord: ")))


if __name__ == "__main__":  # pragma: no cover
    main()
