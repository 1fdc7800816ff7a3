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

import contextlib

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from nds.digilab.auth_web import AuditLogError, AuthError, check_csrf, clear_cookie
from nds.digilab.web_common import (
    ACTION_DONE,
    ACTION_LABELS,
    DIRECTION_LABELS,
    Web,
    audit_quietly,
    ensure_session,
    error_page,
    examples,
    form_data,
    officer_for,
    page,
    redirect,
    safe_next,
    session_of,
)
from nds.digilab.webdata import DataError, DigiLabData
from nds.web.app import add_nav


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
        s = session_of(request)
        if s is None or s.officer is None:
            return redirect(request, "/digilab/inloggen/medewerker")
        d = data_or_error(request)
        if isinstance(d, Response):
            return d
        orgs = [o for o in d.organisations if s.officer.can_view(o.slug)]
        return page(request, "digilab/beheer.html", {"data": d, "orgs": orgs})

    @app.get("/digilab/organisaties/{slug}/contracten", response_class=HTMLResponse, include_in_schema=False)
    async def contracts(request: Request, slug: str) -> Response:
        who = officer_for(request, slug)
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
        who = officer_for(request, slug)
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
        s = session_of(request)
        form = await form_data(request)
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
            audit_quietly(audit, s.officer, slug, what, content_hash, f"geweigerd: {exc.detail}")
            return error_page(request, exc.status, "Actie mislukt", exc.detail)
        audit_quietly(audit, s.officer, slug, what, content_hash, "gelukt")
        s.flash.append(("ok", f"Contract {content_hash[:24]}… is {ACTION_DONE[action]}."))
        return redirect(request, f"/digilab/organisaties/{slug}/contracten", s)

    @app.get("/digilab/organisaties/{slug}/transacties", response_class=HTMLResponse, include_in_schema=False)
    async def transactions(
        request: Request, slug: str, cursor: str | None = None, dienst: str | None = None
    ) -> Response:
        who = officer_for(request, slug)
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
            audit_quietly(
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
        s = session_of(request)
        if s is None or s.officer is None:
            return redirect(request, "/digilab/inloggen/medewerker")
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
        s = session_of(request)
        if s is None or s.citizen is None:
            return redirect(request, "/digilab/inloggen/digid")
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
        s = ensure_session(request)
        return page(
            request, "digilab/inloggen_digid.html", {"login": login, "examples": examples(web)}, session=s
        )

    @app.post("/digilab/inloggen/digid", response_class=HTMLResponse, include_in_schema=False)
    async def citizen_login(request: Request) -> Response:
        login = web.citizen_login()
        if login is None:
            return error_page(
                request, 404, "Inloggen niet beschikbaar", "Er is geen inlogdienst voor burgers."
            )
        s = session_of(request)
        form = await form_data(request)
        try:
            check_csrf(request, s, form.get("csrf_token"))
            citizen = login.finish(form)
        except AuthError as exc:
            if exc.status == 400 and s is not None:
                return page(
                    request,
                    "digilab/inloggen_digid.html",
                    {"login": login, "examples": examples(web), "error": exc.detail},
                    400,
                    session=s,
                )
            return error_page(request, exc.status, "Geweigerd", exc.detail)
        assert s is not None
        s = web.sessions.rotate(s)
        s.citizen = citizen
        return redirect(request, "/digilab/mijn-gegevens", s)

    @app.get("/digilab/inloggen/medewerker", response_class=HTMLResponse, include_in_schema=False)
    async def officer_login_form(request: Request, volgende: str | None = None) -> Response:
        s = ensure_session(request)
        return page(
            request,
            "digilab/inloggen_medewerker.html",
            {"demo_accounts": web.officers().demo_accounts(), "next": safe_next(volgende)},
            session=s,
        )

    @app.post("/digilab/inloggen/medewerker", response_class=HTMLResponse, include_in_schema=False)
    async def officer_login(request: Request) -> Response:
        s = session_of(request)
        form = await form_data(request)
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
                    "next": safe_next(form.get("volgende")),
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
            audit_quietly(web.audit(), officer, slug, "ingelogd", "-", "gelukt")
        return redirect(request, safe_next(form.get("volgende")) or "/digilab/beheer", s)

    @app.post("/digilab/uitloggen", response_class=HTMLResponse, include_in_schema=False)
    async def logout(request: Request) -> Response:
        s = session_of(request)
        form = await form_data(request)
        try:
            check_csrf(request, s, form.get("csrf_token"))
        except AuthError as exc:
            return error_page(request, exc.status, "Geweigerd", exc.detail)
        assert s is not None
        if s.officer is not None:
            for slug in sorted(s.officer.roles):
                audit_quietly(web.audit(), s.officer, slug, "uitgelogd", "-", "gelukt")
        web.sessions.delete(s)
        resp = redirect(request, "/digilab")
        clear_cookie(resp)
        return resp
