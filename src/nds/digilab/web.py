"""The DigiLab's web pages (Dutch, server-rendered) under ``/digilab``.

Public pages: start (what to click), participants, service directory, each organisation's register
of processing activities. Citizen page: "Mijn gegevens, wie gebruikte ze?" after logging in (the
simulated DigiD in demo mode). Officer pages, per organisation and role: contracts with their
derived state and accept/reject/revoke (CSRF-protected, audited, signed by the organisation's
Manager with its own key), the transaction log (each lookup audited) and the audit log.

Data comes from :class:`nds.digilab.webdata.DigiLabData` (the running DigiLab named by
``NDS_STATE_DIR``/digilab, or ``app.state.digilab_data`` when a test or embedding sets it).
Everything shown from contracts, registers or logs goes through Jinja's autoescaping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    AuthError,
    CitizenLogin,
    DemoOfficers,
    FileOfficers,
    LoginThrottle,
    OfficerDirectory,
    Session,
    SessionStore,
    SimulatedDigiD,
    check_csrf,
    clear_cookie,
    set_cookie,
)
from nds.digilab.webdata import DataError, DigiLabData, fmt_iso, fmt_time
from nds.web.app import add_nav, render

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


def _web(request: Request) -> Web:
    return request.app.state.digilab_web


def _session(request: Request) -> Session | None:
    return _web(request).sessions.get(request.cookies.get(COOKIE))


def _ensure_session(request: Request) -> Session:
    return _session(request) or _web(request).sessions.create()


def page(
    request: Request, template: str, ctx: dict[str, Any], status: int = 200, session: Session | None = None
) -> HTMLResponse:
    s = session or _session(request)
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


def _redirect(request: Request, url: str, session: Session | None = None) -> Response:
    resp = RedirectResponse(url, status_code=303)
    if session is not None:
        set_cookie(request, resp, session)
    return resp


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _officer_for(request: Request, slug: str) -> tuple[Session, Any] | Response:
    s = _session(request)
    if s is None or s.officer is None:
        target = _safe_next(request.url.path) or "/digilab/beheer"
        return _redirect(request, f"/digilab/inloggen/medewerker?volgende={quote(target)}")
    if not s.officer.can_view(slug):
        return error_page(request, 403, "Geen toegang", "U bent geen medewerker van deze organisatie.")
    return s, s.officer


# -- pages --------------------------------------------------------------------------------------


def register(app: FastAPI) -> None:
    web = Web(app)
    app.state.digilab_web = web
    add_nav(app, "/digilab", "DigiLab")
    add_nav(app, "/digilab/mijn-gegevens", "Mijn gegevens")

    def data_or_error(request: Request) -> DigiLabData | HTMLResponse:
        try:
            return web.data()
        except DataError as exc:
            return error_page(request, exc.status, "DigiLab niet beschikbaar", exc.detail)

    @app.get("/digilab", response_class=HTMLResponse, include_in_schema=False)
    async def start(request: Request) -> Response:
        try:
            d: DigiLabData | None = web.data()
        except DataError:
            d = None
        login = web.citizen_login()
        return page(request, "digilab/start.html", {"data": d, "citizen_login": login})

    @app.get("/digilab/deelnemers", response_class=HTMLResponse, include_in_schema=False)
    async def participants(request: Request) -> Response:
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        return page(request, "digilab/deelnemers.html", {"data": d})

    @app.get("/digilab/diensten", response_class=HTMLResponse, include_in_schema=False)
    async def services(request: Request) -> Response:
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        return page(request, "digilab/diensten.html", {"data": d})

    @app.get("/digilab/organisaties/{slug}/register", response_class=HTMLResponse, include_in_schema=False)
    async def org_register(request: Request, slug: str) -> Response:
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        try:
            org = d.org(slug)
            acts = await d.register(slug)
        except DataError as exc:
            return error_page(request, exc.status, "Register niet beschikbaar", exc.detail)
        return page(request, "digilab/register.html", {"data": d, "org": org, "activities": acts})

    # -- officers --------------------------------------------------------------------------

    @app.get("/digilab/beheer", response_class=HTMLResponse, include_in_schema=False)
    async def officer_home(request: Request) -> Response:
        s = _session(request)
        if s is None or s.officer is None:
            return _redirect(request, "/digilab/inloggen/medewerker")
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        orgs = [o for o in d.organisations if s.officer.can_view(o.slug)]
        return page(request, "digilab/beheer.html", {"data": d, "orgs": orgs})

    @app.get("/digilab/organisaties/{slug}/contracten", response_class=HTMLResponse, include_in_schema=False)
    async def contracts(request: Request, slug: str) -> Response:
        who = _officer_for(request, slug)
        if isinstance(who, Response):
            return who
        _s, officer = who
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        try:
            org = d.org(slug)
            items = await d.contracts(slug)
        except DataError as exc:
            return error_page(request, exc.status, "Contracten niet beschikbaar", exc.detail)
        return page(
            request,
            "digilab/contracten.html",
            {
                "data": d,
                "org": org,
                "contracts": items,
                "can_act": officer.can_act(slug),
                "action_labels": ACTION_LABELS,
            },
        )

    @app.get(
        "/digilab/organisaties/{slug}/contracten/{content_hash}/{action}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def confirm_action(request: Request, slug: str, content_hash: str, action: str) -> Response:
        who = _officer_for(request, slug)
        if isinstance(who, Response):
            return who
        _s, officer = who
        if action not in ACTION_LABELS:
            return error_page(request, 404, "Niet gevonden", "Onbekende actie.")
        if not officer.can_act(slug):
            return error_page(
                request,
                403,
                "Geen toegang",
                "Alleen een beheerder van deze organisatie mag contracten ondertekenen.",
            )
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        try:
            org = d.org(slug)
            contract = next((c for c in await d.contracts(slug) if c.content_hash == content_hash), None)
        except DataError as exc:
            return error_page(request, exc.status, "Contracten niet beschikbaar", exc.detail)
        if contract is None:
            return error_page(request, 404, "Niet gevonden", "De Manager kent geen contract met deze hash.")
        return page(
            request,
            "digilab/bevestigen.html",
            {"data": d, "org": org, "contract": contract, "action": action, "action_labels": ACTION_LABELS},
        )

    @app.post(
        "/digilab/organisaties/{slug}/contracten/{content_hash}/{action}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def contract_action(request: Request, slug: str, content_hash: str, action: str) -> Response:
        s = _session(request)
        form = await _form(request)
        try:
            check_csrf(request, s, form.get("csrf_token"))
        except AuthError as exc:
            return error_page(request, exc.status, "Geweigerd", exc.detail)
        assert s is not None
        if s.officer is None:
            return error_page(request, 401, "Niet ingelogd", "Log eerst in als medewerker.")
        if action not in ACTION_LABELS:
            return error_page(request, 404, "Niet gevonden", "Onbekende actie.")
        if not s.officer.can_act(slug):
            return error_page(
                request,
                403,
                "Geen toegang",
                "Alleen een beheerder van deze organisatie mag contracten ondertekenen.",
            )
        audit = web.audit()
        what = f"contract {action}"
        try:  # fail closed: no signature without its audit entry
            audit.append(s.officer, slug, what, content_hash, "aangevraagd")
        except AuditLogError:
            return error_page(
                request, 500, "Actie niet uitgevoerd", "Het auditlog kan niet worden geschreven."
            )
        try:
            d = web.data()
            await d.contract_action(slug, content_hash, action)
        except DataError as exc:
            _audit_quietly(audit, s.officer, slug, what, content_hash, f"geweigerd: {exc.detail}")
            return error_page(request, exc.status, "Actie mislukt", exc.detail)
        _audit_quietly(audit, s.officer, slug, what, content_hash, "gelukt")
        s.flash.append(("ok", f"Contract {content_hash[:24]}… is {ACTION_DONE[action]}."))
        return _redirect(request, f"/digilab/organisaties/{slug}/contracten", s)

    @app.get("/digilab/organisaties/{slug}/transacties", response_class=HTMLResponse, include_in_schema=False)
    async def transactions(
        request: Request, slug: str, cursor: str | None = None, dienst: str | None = None
    ) -> Response:
        who = _officer_for(request, slug)
        if isinstance(who, Response):
            return who
        _s, officer = who
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        if cursor is not None and (
            len(cursor) > 200 or not cursor.replace("-", "").replace("_", "").isalnum()
        ):
            return error_page(request, 400, "Ongeldige invoer", "Ongeldige cursor.")
        audit = web.audit()
        try:
            org = d.org(slug)
            service = dienst or None
            if service is not None and service not in d.service_names():
                return error_page(request, 400, "Ongeldige invoer", "Onbekende dienst.")
            log = await d.transaction_log(slug, limit=100, cursor=cursor, service=service)
        except DataError as exc:
            _audit_quietly(
                audit, officer, slug, "transactielog ingezien", "GET /logs", f"mislukt: {exc.detail}"
            )
            return error_page(request, exc.status, "Transactielog niet beschikbaar", exc.detail)
        try:  # no lookup shown without its audit entry
            audit.append(
                officer,
                slug,
                "transactielog ingezien",
                f"GET /logs service_name={service}" if service else "GET /logs",
                f"{len(log.records)} records",
            )
        except AuditLogError:
            return error_page(request, 500, "Niet getoond", "Het auditlog kan niet worden geschreven.")
        return page(
            request,
            "digilab/transacties.html",
            {"data": d, "org": org, "log": log, "directions": DIRECTION_LABELS, "service": service},
        )

    @app.get("/digilab/audit", response_class=HTMLResponse, include_in_schema=False)
    async def audit_page(request: Request) -> Response:
        s = _session(request)
        if s is None or s.officer is None:
            return _redirect(request, "/digilab/inloggen/medewerker")
        try:
            entries = list(reversed(web.audit().entries(s.officer.roles)))[:500]
        except AuditLogError as exc:
            return error_page(request, 500, "Auditlog niet leesbaar", str(exc))
        names: dict[str, str] = {}
        with contextlib.suppress(DataError):
            names = {o.slug: o.name for o in web.data().organisations}
        return page(request, "digilab/audit.html", {"entries": entries, "names": names})

    # -- citizens --------------------------------------------------------------------------

    @app.get("/digilab/mijn-gegevens", response_class=HTMLResponse, include_in_schema=False)
    async def my_data(request: Request) -> Response:
        s = _session(request)
        if s is None or s.citizen is None:
            return _redirect(request, "/digilab/inloggen/digid")
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        try:
            view = await d.citizen_view(s.citizen.bsn)
        except DataError as exc:
            return error_page(request, exc.status, "Inzage niet beschikbaar", exc.detail)
        return page(request, "digilab/mijn_gegevens.html", {"view": view})

    @app.get("/digilab/inloggen/digid", response_class=HTMLResponse, include_in_schema=False)
    async def citizen_login_form(request: Request) -> Response:
        login = web.citizen_login()
        if login is None:
            return error_page(
                request,
                404,
                "Inloggen niet beschikbaar",
                "Inloggen als burger kan hier alleen in de demo-omgeving (gesimuleerde DigiD) "
                "of met een gekoppelde inlogdienst.",
            )
        s = _ensure_session(request)
        return page(
            request, "digilab/inloggen_digid.html", {"login": login, "examples": _examples(web)}, session=s
        )

    @app.post("/digilab/inloggen/digid", response_class=HTMLResponse, include_in_schema=False)
    async def citizen_login(request: Request) -> Response:
        login = web.citizen_login()
        if login is None:
            return error_page(
                request, 404, "Inloggen niet beschikbaar", "Er is geen inlogdienst voor burgers."
            )
        s = _session(request)
        form = await _form(request)
        try:
            check_csrf(request, s, form.get("csrf_token"))
            citizen = login.finish(form)
        except AuthError as exc:
            if exc.status == 400 and s is not None:
                return page(
                    request,
                    "digilab/inloggen_digid.html",
                    {"login": login, "examples": _examples(web), "error": exc.detail},
                    400,
                    session=s,
                )
            return error_page(request, exc.status, "Geweigerd", exc.detail)
        assert s is not None
        s = web.sessions.rotate(s)
        s.citizen = citizen
        return _redirect(request, "/digilab/mijn-gegevens", s)

    @app.get("/digilab/inloggen/medewerker", response_class=HTMLResponse, include_in_schema=False)
    async def officer_login_form(request: Request, volgende: str | None = None) -> Response:
        s = _ensure_session(request)
        return page(
            request,
            "digilab/inloggen_medewerker.html",
            {"demo_accounts": web.officers().demo_accounts(), "next": _safe_next(volgende)},
            session=s,
        )

    @app.post("/digilab/inloggen/medewerker", response_class=HTMLResponse, include_in_schema=False)
    async def officer_login(request: Request) -> Response:
        s = _session(request)
        form = await _form(request)
        try:
            check_csrf(request, s, form.get("csrf_token"))
        except AuthError as exc:
            return error_page(request, exc.status, "Geweigerd", exc.detail)
        assert s is not None
        username = form.get("gebruikersnaam", "").strip()[:100]
        directory = web.officers()
        officer = None
        if username and web.throttle.allowed(username):
            officer = directory.authenticate(username, form.get("wachtwoord", ""))
            if officer is None:
                web.throttle.failed(username)
            else:
                web.throttle.succeeded(username)
        if officer is None:
            return page(
                request,
                "digilab/inloggen_medewerker.html",
                {
                    "demo_accounts": directory.demo_accounts(),
                    "next": _safe_next(form.get("volgende")),
                    "error": "Onbekende gebruikersnaam of onjuist wachtwoord (of te veel pogingen; "
                    "wacht dan enkele minuten).",
                    "username": username,
                },
                401,
                session=s,
            )
        s = web.sessions.rotate(s)
        s.officer = officer
        for slug in sorted(officer.roles):
            _audit_quietly(web.audit(), officer, slug, "ingelogd", "-", "gelukt")
        return _redirect(request, _safe_next(form.get("volgende")) or "/digilab/beheer", s)

    @app.post("/digilab/uitloggen", response_class=HTMLResponse, include_in_schema=False)
    async def logout(request: Request) -> Response:
        s = _session(request)
        form = await _form(request)
        try:
            check_csrf(request, s, form.get("csrf_token"))
        except AuthError as exc:
            return error_page(request, exc.status, "Geweigerd", exc.detail)
        assert s is not None
        if s.officer is not None:
            for slug in sorted(s.officer.roles):
                _audit_quietly(web.audit(), s.officer, slug, "uitgelogd", "-", "gelukt")
        web.sessions.delete(s)
        resp = _redirect(request, "/digilab")
        clear_cookie(resp)
        return resp


def _audit_quietly(audit: AuditLog, officer: Any, slug: str, action: str, obj: str, result: str) -> None:
    """An audit entry after the fact: a write failure is logged (never with personal data) and the
    page goes on, because the action itself already happened."""
    try:
        audit.append(officer, slug, action, obj, result)
    except AuditLogError as exc:
        logging.getLogger(__name__).error("audit entry lost (%s %s): %s", slug, action, exc)


def _safe_next(value: str | None) -> str | None:
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


def _examples(web: Web) -> list[dict[str, str]]:
    """A few synthetic test persons to log in as (all BSNs are from the test range), generated the
    same way as the DigiLab's registers (``persons`` in digilab.json, default 5000)."""
    from nds.digilab.registers.data import generate

    n = 5000
    with contextlib.suppress(DataError):
        raw = web.data().raw.get("persons")
        if isinstance(raw, int) and 1 <= raw <= 9000:
            n = raw
    persons = list(generate(n).persons.values())[:6]
    return [{"bsn": p.bsn, "name": f"{p.given_name} {p.surname}"} for p in persons]
