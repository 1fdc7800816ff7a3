"""Shared plumbing of the DigiLab pages: labels, per-app state, sessions in requests, rendering.

See :mod:`nds.digilab.web` for the pages themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nds.digilab.auth_web import (
    COOKIE,
    ROLES,
    AuditLog,
    AuditLogError,
    CitizenLogin,
    DemoOfficers,
    FileOfficers,
    LoginThrottle,
    OfficerDirectory,
    Session,
    SessionStore,
    SimulatedDigiD,
    set_cookie,
)
from nds.digilab.webdata import DataError, DigiLabData
from nds.web.app import render

ACTION_LABELS = {"accept": "Accepteren", "reject": "Afwijzen", "revoke": "Intrekken"}
ACTION_DONE = {"accept": "geaccepteerd", "reject": "afgewezen", "revoke": "ingetrokken"}
STATE_LABELS = {
    "proposed": "Voorgesteld (wacht op handtekeningen)",
    "valid": "Geldig",
    "not_yet_valid": "Nog niet geldig",
    "rejected": "Afgewezen",
    "revoked": "Ingetrokken",
    "expired": "Verlopen",
    "signer_certificate_expired": "Certificaat van ondertekenaar verlopen",
}
GRANT_LABELS = {
    "GRANT_TYPE_SERVICE_PUBLICATION": "Publicatie van een dienst",
    "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION": "Publicatie namens een andere organisatie",
    "GRANT_TYPE_SERVICE_CONNECTION": "Verbinding met een dienst",
    "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION": "Verbinding namens een andere organisatie",
    "GRANT_TYPE_PEER_REGISTRATION": "Registratie als deelnemer",
}
ROLE_LABELS = {"directory": "Directory", "provider": "Aanbieder", "consumer": "Afnemer", "portal": "Portaal"}
DIRECTION_LABELS = {"DIRECTION_INCOMING": "Inkomend", "DIRECTION_OUTGOING": "Uitgaand"}


# -- plumbing -----------------------------------------------------------------------------------


class Web:
    """Per-app state of the DigiLab pages."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.sessions = SessionStore()
        self.throttle = LoginThrottle()
        self._data: DigiLabData | None = None
        self._mtime: float | None = None
        self._audit: AuditLog | None = None

    @property
    def settings(self) -> Any:
        return self.app.state.settings

    @property
    def web_dir(self) -> Path:
        return Path(self.settings.state_dir) / "digilab-web"

    def data(self) -> DigiLabData:
        fixed = getattr(self.app.state, "digilab_data", None)
        if fixed is not None:
            return fixed
        state = Path(self.settings.state_dir) / "digilab"
        try:
            mtime = (state / "digilab.json").stat().st_mtime
        except OSError:
            mtime = None
        if self._data is None or mtime != self._mtime:
            old = self._data
            self._data = DigiLabData.from_state(state)
            self._mtime = mtime
            close = getattr(old.clients, "aclose", None) if old is not None else None
            if close is not None:  # the old connection pools, once running requests are done
                asyncio.get_running_loop().call_later(30, lambda: asyncio.ensure_future(close()))
        return self._data

    def audit(self) -> AuditLog:
        custom = getattr(self.app.state, "digilab_audit", None)
        if custom is not None:
            return custom
        if self._audit is None:
            self._audit = AuditLog(self.web_dir / "audit.jsonl")
        return self._audit

    def citizen_login(self) -> CitizenLogin | None:
        custom = getattr(self.app.state, "digilab_citizen_login", None)
        if custom is not None:
            return custom
        return SimulatedDigiD() if self.settings.demo_mode else None

    def officers(self) -> OfficerDirectory:
        custom = getattr(self.app.state, "digilab_officers", None)
        if custom is not None:
            return custom
        files = FileOfficers(self.web_dir / "officers.json")
        if not self.settings.demo_mode:
            return files
        try:
            orgs = [(o.slug, o.name) for o in self.data().organisations]
        except DataError:
            orgs = []
        return DemoOfficers(orgs, fallback=files)


def web_of(request: Request) -> Web:
    return request.app.state.digilab_web


def session_of(request: Request) -> Session | None:
    return web_of(request).sessions.get(request.cookies.get(COOKIE))


def ensure_session(request: Request) -> Session:
    return session_of(request) or web_of(request).sessions.create()


def page(
    request: Request, template: str, ctx: dict[str, Any], status: int = 200, session: Session | None = None
) -> HTMLResponse:
    s = session or session_of(request)
    flash = list(s.flash) if s else []
    if s:
        s.flash.clear()
    full = {
        "session": s,
        "citizen": s.citizen if s else None,
        "officer": s.officer if s else None,
        "csrf": s.csrf if s else "",
        "flash": flash,
        "fmt_time": fmt_time,
        "fmt_iso": fmt_iso,
        "state_labels": STATE_LABELS,
        "grant_labels": GRANT_LABELS,
        "role_labels": ROLE_LABELS,
        "officer_roles": ROLES,
        **ctx,
    }
    resp = render(request, template, full, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    if s is not None:
        set_cookie(request, resp, s)
    return resp


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return page(request, "digilab/fout.html", {"title": title, "detail": detail}, status)


def redirect(request: Request, url: str, session: Session | None = None) -> Response:
    resp = RedirectResponse(url, status_code=303)
    if session is not None:
        set_cookie(request, resp, session)
    return resp


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def officer_for(request: Request, slug: str) -> tuple[Session, Any] | Response:
    s = session_of(request)
    if s is None or s.officer is None:
        target = safe_next(request.url.path) or "/digilab/beheer"
        return redirect(request, f"/digilab/inloggen/medewerker?volgende={quote(target)}")
    if not s.officer.can_view(slug):
        return error_page(request, 403, "Geen toegang", "U bent geen medewerker van deze organisatie.")
    return s, s.officer


# -- pages --------------------------------------------------------------------------------------


def audit_quietly(audit: AuditLog, officer: Any, slug: str, action: str, obj: str, result: str) -> None:
    """An audit entry after the fact: a write failure is logged (never with personal data) and the
    page goes on, because the action itself already happened."""
    try:
        audit.append(officer, slug, action, obj, result)
    except AuditLogError as exc:
        logging.getLogger(__name__).error("audit entry lost (%s %s): %s", slug, action, exc)


def safe_next(value: str | None) -> str | None:
    """Only a local DigiLab path (no open redirect)."""
    if (
        value
        and value.startswith("/digilab/")
        and "//" not in value
        and "\\" not in value
        and len(value) < 300
    ):
        return value
    return None


FEATURED_BSNS = ("999993653",)


def examples(web: Web) -> list[dict[str, str]]:
    """A few synthetic test persons to log in as (all BSNs are from the test range), generated the
    same way as the DigiLab's registers (``persons`` in digilab.json, default 5000)."""
    from nds.digilab.registers.data import generate

    n = 5000
    with contextlib.suppress(DataError):
        raw = web.data().raw.get("persons")
        if isinstance(raw, int) and 1 <= raw <= 9000:
            n = raw
    people = generate(n).persons
    # the BRP's published test person the README and `nds inzage` examples use comes first
    chosen = [people[b] for b in FEATURED_BSNS if b in people]
    chosen += [p for p in people.values() if p.bsn not in FEATURED_BSNS][: 6 - len(chosen)]
    return [{"bsn": p.bsn, "name": f"{p.given_name} {p.surname}"} for p in chosen]


def fmt_time(ts: int | float | None) -> str:
    """Unix seconds as Dutch local-neutral text (UTC), or a dash."""
    if not ts:
        return "–"
    return datetime.fromtimestamp(float(ts), UTC).strftime("%d-%m-%Y %H:%M:%S UTC")


def fmt_iso(value: str) -> str:
    """An ISO 8601 timestamp (as the citizen view gives it) in the same form as :func:`fmt_time`."""
    try:
        return fmt_time(datetime.fromisoformat(value).timestamp())
    except (TypeError, ValueError):
        return value or "–"
