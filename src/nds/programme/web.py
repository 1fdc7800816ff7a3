"""Web pages (Dutch) and the ``/programme/v1`` API of the programme monitor.

Pages: ``/programma`` (documents), ``/programma/documenten/{id}`` (OpenTK-style document page with
linked cross-references and highlighted commitments), ``/programma/register`` (the commitment
register with filters), ``/programma/tijdlijn`` (timeline per priority) and
``/programma/toezeggingen/{id}`` (one commitment with its audit trail). All text goes through
Jinja's autoescaping: highlighted passages are built as segments, never as pre-rendered HTML.
Officer edits are made with ``nds programme edit`` (no unauthenticated write access over the web).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from nds.api import Problem, make_api
from nds.programme import report as report_mod
from nds.programme.ingest import MAX_BYTES, InputError, decode
from nds.programme.parse import parse_text
from nds.programme.priorities import labels
from nds.programme.register import SIGNALS, STATUSES, Register, RegisterError
from nds.programme.store import get_document, init_db, list_documents

XREF = re.compile(
    r"(?i)(?:antwoord(?:en)?|beantwoording)[ \u00a0]+(?:op[ \u00a0]+|van[ \u00a0]+|bij[ \u00a0]+)?"
    r"(?:de[ \u00a0]+)?vra(?:ag|gen)[ \u00a0]+(\d{1,4})"
)


def _engine(request_app: FastAPI) -> Engine:
    eng = getattr(request_app.state, "programme_engine", None)
    if eng is None:
        from nds.db import make_engine

        eng = make_engine(request_app.state.settings.resolved_database_url(), immediate=True)
        init_db(eng)
        request_app.state.programme_engine = eng
    return eng


def _clock(request_app: FastAPI, today: str | None) -> Any:
    if today:
        try:
            fixed = dt.date.fromisoformat(today)
        except ValueError:
            raise Problem(400, "Ongeldige invoer", "vandaag: verwacht JJJJ-MM-DD") from None
        return lambda: fixed
    return getattr(request_app.state, "programme_clock", dt.date.today)


def _page_register(web: FastAPI, vandaag: str | None, binnenkort: str | None) -> Register:
    soon = 30
    if binnenkort:
        if not binnenkort.isdigit() or int(binnenkort) > 3650:
            raise Problem(400, "Ongeldige invoer", "binnenkort: een aantal dagen van 0 tot en met 3650")
        soon = int(binnenkort)
    return Register(_engine(web), clock=_clock(web, vandaag), soon_days=soon)


def segments(
    text: str, offset: int, commitments: list[dict[str, Any]], markers: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """An answer as groups ``{"c": commitment or None, "parts": [...]}``; parts are plain text,
    cross-references and footnote markers. Rendered escaped by the template, never as pre-built HTML."""
    end = offset + len(text)
    spans = sorted(
        (
            (c["span_start"] - offset, c["span_end"] - offset, c)
            for c in commitments
            if c["span_start"] >= offset and c["span_end"] <= end
        ),
        key=lambda x: (x[0], x[1]),
    )
    marks = sorted(
        ((m["offset"] - offset, m) for m in markers or [] if offset <= m["offset"] < end), key=lambda x: x[0]
    )
    groups: list[dict[str, Any]] = []
    pos = 0
    for s, e, c in spans:
        if s < pos:
            continue
        if s > pos:
            groups.append({"c": None, "parts": _parts(text, pos, s, marks)})
        groups.append({"c": c, "parts": _parts(text, s, e, marks)})
        pos = e
    if pos < len(text):
        groups.append({"c": None, "parts": _parts(text, pos, len(text), marks)})
    return groups


def _parts(text: str, start: int, end: int, marks: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pos = start
    for at, m in marks:
        n = len(str(m["number"]))
        if at < pos or at + n > end:
            continue
        out += _xref_segments(text[pos:at])
        out.append(
            {"kind": "marker", "text": text[at : at + n], "entry": m.get("entry"), "number": m["number"]}
        )
        pos = at + n
    out += _xref_segments(text[pos:end])
    return out


def kst_url(ref: dict[str, Any]) -> str | None:
    """The official publication of a Kamerstuk (zoek.officielebekendmakingen.nl), when fully identified."""
    if ref.get("dossier") and ref.get("number") and re.fullmatch(r"\d{5}", ref["dossier"]):
        toev = ref.get("toevoeging")
        if toev and not re.fullmatch(r"[A-Z]{1,6}", toev):
            return None
        ident = "-".join(x for x in (ref["dossier"], toev, str(ref["number"])) if x)
        return f"https://zoek.officielebekendmakingen.nl/kst-{ident}.html"
    return None


def _xref_segments(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pos = 0
    for m in XREF.finditer(text):
        out.append({"kind": "text", "text": text[pos : m.start()]})
        out.append({"kind": "xref", "text": m.group(0), "target": int(m.group(1))})
        pos = m.end()
    out.append({"kind": "text", "text": text[pos:]})
    return [s for s in out if s["text"]]


def register(app: FastAPI) -> None:
    from nds.web.app import add_nav, render

    add_nav(app, "/programma", "Programma")
    app.mount(
        "/programma/static",
        StaticFiles(directory=str(Path(__file__).parent / "static")),
        name="programme-static",
    )

    @app.get("/programma", response_class=HTMLResponse, include_in_schema=False)
    async def documents_page(request: Request) -> HTMLResponse:
        docs = list_documents(_engine(request.app))
        return render(request, "programme/index.html", {"docs": docs})

    @app.get("/programma/documenten/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    async def document_page(request: Request, doc_id: str) -> HTMLResponse:
        doc = (
            get_document(_engine(request.app), int(doc_id)) if doc_id.isdigit() and len(doc_id) < 10 else None
        )
        if doc is None:
            return render(request, "programme/notfound.html", {"what": f"document {doc_id}"}, status_code=404)
        by_q: dict[int, list[dict[str, Any]]] = {}
        for c in doc["commitments"]:
            by_q.setdefault(c["question"], []).append(c)
        for r in doc["references"]:
            r["url"] = kst_url(r)
        markers = doc["meta"].get("footnote_markers", [])
        linked: dict[int, list[dict[str, Any]]] = {}
        for m in markers:
            if m.get("entry"):
                linked.setdefault(m["entry"], []).append(m)
        for f in doc["meta"].get("footnotes", []):
            f["markers"] = linked.get(f["number"], [])
        for p in doc["pairs"]:
            p["segments"] = (
                segments(p["answer"], p["a_start"], by_q.get(p["number"], []), markers) if p["answer"] else []
            )
            p["commitments"] = by_q.get(p["number"], [])
        return render(request, "programme/document.html", {"doc": doc, "meta": doc["meta"]})

    @app.get("/programma/register", response_class=HTMLResponse, include_in_schema=False)
    async def register_page(
        request: Request,
        prioriteit: str | None = None,
        status: str | None = None,
        signaal: str | None = None,
        vandaag: str | None = None,
        binnenkort: str | None = None,
    ) -> HTMLResponse:
        try:
            reg = _page_register(request.app, vandaag, binnenkort)
        except Problem as exc:
            return render(
                request,
                "programme/notfound.html",
                {"what": exc.detail, "title": "Ongeldige invoer"},
                status_code=400,
            )
        soon = reg.soon_days
        try:
            items = reg.items(priority=prioriteit or None, status=status or None, signal=signaal or None)
        except RegisterError as exc:
            return render(
                request,
                "programme/notfound.html",
                {"what": str(exc), "title": "Ongeldige invoer"},
                status_code=400,
            )
        return render(
            request,
            "programme/register.html",
            {
                "items": items,
                "priorities": labels(),
                "statuses": STATUSES,
                "signals": SIGNALS,
                "f": {"prioriteit": prioriteit or "", "status": status or "", "signaal": signaal or ""},
                "today": reg.clock().isoformat(),
                "vandaag": vandaag or "",
                "soon": soon,
            },
        )

    @app.get("/programma/tijdlijn", response_class=HTMLResponse, include_in_schema=False)
    async def timeline_page(
        request: Request, vandaag: str | None = None, binnenkort: str | None = None
    ) -> HTMLResponse:
        try:
            reg = _page_register(request.app, vandaag, binnenkort)
        except Problem as exc:
            return render(
                request,
                "programme/notfound.html",
                {"what": exc.detail, "title": "Ongeldige invoer"},
                status_code=400,
            )
        return render(request, "programme/timeline.html", {"rep": report_mod.build(reg)})

    @app.get("/programma/toezeggingen/{cid}", response_class=HTMLResponse, include_in_schema=False)
    async def commitment_page(request: Request, cid: str) -> HTMLResponse:
        reg = Register(_engine(request.app), clock=_clock(request.app, None))
        try:
            if not cid.isdigit() or len(cid) > 9:
                raise RegisterError(cid)
            row = reg.get(int(cid))
        except RegisterError:
            return render(request, "programme/notfound.html", {"what": f"toezegging {cid}"}, status_code=404)
        return render(
            request,
            "programme/commitment.html",
            {
                "c": row,
                "history": reg.history(int(cid)),
                "status_label": STATUSES[row["status"]],
                "signal": SIGNALS[reg.signal(row)],
                "priority_label": labels().get(row["priority"], row["priority"]),
                "keywords": json.loads(row["priority_keywords"]),
            },
        )

    app.mount("/programme/v1", _api(app))


def _api(web: FastAPI) -> FastAPI:
    api = make_api(
        "nds programmamonitor",
        "1.0.0",
        "Kamerstukken naar vragen, antwoorden, toezeggingen met termijnen en verwijzingen.",
    )

    @api.get("/documenten", summary="Opgeslagen documenten")
    async def api_documents() -> list[dict[str, Any]]:
        return list_documents(_engine(web))

    @api.get("/documenten/{doc_id}", summary="Eén document met vragen, toezeggingen en verwijzingen")
    async def api_document(doc_id: int) -> dict[str, Any]:
        doc = get_document(_engine(web), doc_id)
        if doc is None:
            raise Problem(404, "Niet gevonden", f"document {doc_id} bestaat niet")
        doc.pop("raw", None)
        return doc

    @api.get("/toezeggingen", summary="Het toezeggingenregister")
    async def api_commitments(
        prioriteit: str | None = None,
        status: str | None = None,
        signaal: str | None = None,
        vandaag: str | None = None,
        binnenkort: int = Query(30, ge=0, le=3650),
    ) -> list[dict[str, Any]]:
        reg = Register(_engine(web), clock=_clock(web, vandaag), soon_days=binnenkort)
        try:
            return reg.items(priority=prioriteit, status=status, signal=signaal)
        except RegisterError as exc:
            raise Problem(400, "Ongeldige invoer", str(exc)) from None

    @api.get("/toezeggingen/{cid}", summary="Eén toezegging met audittrail")
    async def api_commitment(cid: int) -> dict[str, Any]:
        reg = Register(_engine(web))
        try:
            row = reg.get(cid)
        except RegisterError:
            raise Problem(404, "Niet gevonden", f"toezegging {cid} bestaat niet") from None
        return {**row, "signaal": reg.signal(row), "historie": reg.history(cid)}

    @api.get("/rapport", summary="Voortgang per NDS-prioriteit")
    async def api_report(
        prioriteit: str | None = None, vandaag: str | None = None, binnenkort: int = Query(30, ge=0, le=3650)
    ) -> dict[str, Any]:
        if prioriteit and prioriteit not in labels():
            raise Problem(400, "Ongeldige invoer", f"onbekende prioriteit {prioriteit!r}")
        reg = Register(_engine(web), clock=_clock(web, vandaag), soon_days=binnenkort)
        return report_mod.build(reg, prioriteit)

    @api.post("/analyse", summary="Analyseer een document (tekst in de body) zonder op te slaan")
    async def api_parse(request: Request) -> dict[str, Any]:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BYTES:
                raise Problem(413, "Verzoek te groot", f"maximaal {MAX_BYTES} bytes")
        try:
            return parse_text(decode(body)).to_json()
        except InputError as exc:
            raise Problem(400, "Ongeldige invoer", str(exc)) from None

    return api
