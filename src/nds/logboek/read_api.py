"""The read API of the read extension: ``POST /processing-activities``.

Normative: ``Logius-standaarden/logboek-extensie-lezen`` (branch develop, commit 2606600), the text
"Technische specificatie" (§ "Werking lezen API", § "Query op …", § "Beveilingsoverwegingen") and its
OpenAPI document ``media/openapi.json`` ("LDV lezen API" 1.1.0, operation
``listProcessingActivitiesPost``). Where that OAS defines a thing we follow it exactly; where it is
silent (pagination, authorisation, the meaning of the time filters, 403/503) the behaviour is ours and
documented in docs/logboek.md ("Read API", deviations table).

- Request: one JSON object (OAS ``ProcessingActivityRequest``): the attributes
  ``dpl.core.processing_activity_id``, ``dpl.core.data_subject_id``, ``dpl.core.data_subject_id_type``,
  ``dpl.core.foreign_operation.processor`` (OAS ``Attributes`` = ``media/attributes.schema.json``) and
  ``traceId``, ``startTime``, ``endTime``. A body, never query parameters: no BSN in a URL.
- At least one of ``traceId``, ``dpl.core.processing_activity_id`` or ``dpl.core.data_subject_id``,
  else 400 problem+json ("Werking lezen API": "MOET tenminste een van de volgende parameters").
- The query is bound to the authenticated citizen (``auth.py``); naming someone else is 403.
- Confidential activities (per the register version a record points to) are never returned.
- A record made *for another organisation's processing* (its ``foreign_operation`` names an entity
  for which ``chain_entity`` is true; by default every foreign entity) is only returned when the
  query names its trace: the citizen view reaches it by following the chain from the consumer's
  (visible) record, so a confidential consumer is never revealed through its provider's ordinary
  record. A foreign operation of the organisation's own client (e.g. a web front end sending a
  ``traceparent``) does not make its own processing a chain record: tell them apart with
  ``chain_entity``.
- Pagination (ours; the extension lists it under "Todo"): ``pageSize`` (1–1000, default 100) and an
  opaque ``cursor`` in the body; the response adds ``next`` (a cursor, or null).
- Looking is itself a processing: every query is logged as an "inzageverzoek" for that citizen.
- Database work (records and register lookups) runs in a bounded thread pool, never on the event
  loop: a slow query does not stall other requests. When too many queries wait, 503 + Retry-After.
- The release-1.0 body (``processingActivityId``, ``dataSubject: {id, type}``) is still accepted for
  one release, answered with a ``Deprecation`` header (RFC 9745).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from nds.api import Problem, make_api, problem_response
from nds.db import is_sqlite, make_engine
from nds.logboek.auth import Authenticator, AuthError
from nds.logboek.model import (
    ATTR_ACTIVITY,
    ATTR_SUBJECT,
    ForeignOperation,
    Processing,
    Record,
    TraceParent,
    new_trace_id,
)
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import MAX_PAGE, Query, find
from nds.logboek.read_schema import (
    ATTR_FOREIGN_PROCESSOR,
    ReadRequest,
    ReadResponse,
    processing_activity,
    trace_id_from_api,
    trace_id_to_api,
)
from nds.logboek.register import ProcessingActivity, Register
from nds.logboek.store import Logboek

__all__ = [
    "ATTR_FOREIGN_PROCESSOR",
    "ReadRequest",
    "create_read_api",
    "processing_activity",
    "trace_id_from_api",
    "trace_id_to_api",
]

API_VERSION = "1.1.0"  # the version of the extension's OAS this API implements
# RFC 9745: the old (release 1.0) request body is deprecated since 2026-11-28T00:00:00Z
DEPRECATED_SINCE = "@1795824000"
DEFAULT_QUERY_THREADS = 4
DEFAULT_MAX_WAITING = 64
_ACTIVITY_CACHE = 1024
FSC_PEER_ENTITY = "urn:nds:fsc:peer:"  # the foreign-operation entity of a caller known by its FSC peer ID
INZAGE_NAME = "inzageverzoek"
LOOKUP_RESOURCE = {"component": "ldv-read-api"}


def _own_lookup(r: Record) -> bool:
    """A citizen's own lookup, logged by this API: always shown to that citizen, even when the
    calling organisation sent a ``traceparent`` (it reveals nothing about anyone else)."""
    return r.name == INZAGE_NAME and r.resource.get("component") == LOOKUP_RESOURCE["component"]


class _Activities:
    """Register lookups, cached: a version URI's content never changes (a change is a new URI), so a
    found activity can be kept; whether it is confidential is decided per request (it can end)."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self._found: OrderedDict[str, ProcessingActivity] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, uri: str) -> ProcessingActivity | None:
        with self._lock:
            act = self._found.get(uri)
            if act is not None:
                self._found.move_to_end(uri)
                return act
        act = self.register.get(uri)
        if act is not None:
            with self._lock:
                self._found[uri] = act
                while len(self._found) > _ACTIVITY_CACHE:
                    self._found.popitem(last=False)
        return act


@dataclass(frozen=True)
class _Filter:
    query: Query
    trace_named: str | None
    start_time: int | None
    end_time: int | None
    processor: str | None
    page_size: int


def _reader(engine: Engine) -> Engine:
    """The engine to read with. A SQLite engine made for writing (``immediate=True``) starts every
    transaction with BEGIN IMMEDIATE, which would queue readers behind the writer and each other;
    reads get their own plain engine on the same file (WAL: readers never block)."""
    url = engine.url.render_as_string(hide_password=False)
    if not is_sqlite(url) or engine.url.database in (None, "", ":memory:"):
        return engine  # PostgreSQL (no such issue), or an in-memory database only this engine sees
    return make_engine(url)


def create_read_api(
    *,
    engine: Engine,
    logboek: Logboek,
    keyring: Keyring,
    register: Register,
    authenticator: Authenticator,
    entity: str,
    inzage_activity_uri: str,
    chain_entity: Callable[[str], bool] | None = None,
    query_threads: int = DEFAULT_QUERY_THREADS,
    max_waiting: int = DEFAULT_MAX_WAITING,
) -> FastAPI:
    """``query_threads``: database queries run at most this many at a time, off the event loop;
    ``max_waiting``: beyond this many queries in flight (running or queued) a request gets 503."""
    is_chain = chain_entity or (lambda _entity: True)
    reader = _reader(engine)
    activities = _Activities(register)
    pool = ThreadPoolExecutor(max_workers=max(1, query_threads), thread_name_prefix="ldv-read")
    inflight = [0]  # changed on the event loop only
    api = make_api(
        "LDV lezen API",
        API_VERSION,
        "Lezen van het Logboek Dataverwerkingen van één organisatie, volgens de extensie lezen "
        "(Logius-standaarden/logboek-extensie-lezen, OAS 1.1.0).",
    )
    # idle pool threads and the reader's connections go when the app does
    weakref.finalize(api, pool.shutdown, wait=False)
    if reader is not engine:
        weakref.finalize(api, reader.dispose)

    def run_query(f: _Filter, today: date) -> tuple[list[Record], int | None]:
        """In a pool thread: the visible page and its cursor."""
        hidden: dict[str, bool] = {}  # activity URI -> confidential or unknown (one lookup each)

        def shown(r: Record) -> bool:
            if r.activity_uri not in hidden:
                act = activities.get(r.activity_uri)
                hidden[r.activity_uri] = act is None or act.is_confidential(today)
            if hidden[r.activity_uri]:
                return False
            if (
                r.foreign_trace_id
                and not _own_lookup(r)
                and is_chain(r.foreign_entity or "")
                and f.trace_named != r.trace_id
            ):
                return False
            # our reading of "Query op starttijd/eindtijd": started at/after startTime, ended at/before
            # endTime (the database already narrowed to overlapping records)
            if f.start_time is not None and r.start_time < f.start_time:
                return False
            if f.end_time is not None and r.end_time > f.end_time:
                return False
            return f.processor is None or r.foreign_entity == f.processor

        # Filter before paginating: a page and its cursor are computed over the visible records
        # only, so an empty page with a "next" (or the cursor's value) cannot betray that hidden,
        # e.g. confidential, records exist.
        q = f.query
        visible: list[Record] = []
        while len(visible) <= f.page_size:
            rows, more = find(reader, keyring, q)
            visible += [r for r in rows if shown(r)]
            if more is None:
                break
            q = replace(q, after_seq=more)
        page = visible[: f.page_size]
        return page, (page[-1].seq if len(visible) > f.page_size else None)

    async def in_pool(f: _Filter) -> tuple[list[Record], int | None]:
        inflight[0] += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, run_query, f, datetime.now(UTC).date())
        finally:
            inflight[0] -= 1

    @api.post(
        "/processing-activities",
        operation_id="listProcessingActivitiesPost",
        summary="Alle dataverwerkingen ophalen",
        description="Alle dataverwerkingen ophalen (extensie lezen, OAS 1.1.0), gebonden aan de "
        "geauthenticeerde burger.",
        tags=["ProcessingActivities"],
        responses={
            200: {"model": ReadResponse, "description": "OK"},
            400: {"description": "Geen filter of ongeldige invoer"},
            401: {"description": "Niet geauthenticeerd"},
            403: {"description": "Andere betrokkene dan de geauthenticeerde burger"},
            503: {"description": "Te veel gelijktijdige zoekvragen"},
        },
    )
    async def processing_activities(body: ReadRequest, request: Request) -> JSONResponse:
        try:
            caller = authenticator.authenticate({k.lower(): v for k, v in request.headers.items()})
        except AuthError as exc:
            raise Problem(exc.status, "Niet geauthenticeerd", exc.detail) from exc
        trace, activity, subject = body.trace(), body.activity(), body.subject()
        # "Werking lezen API": at least one of traceID, processingActivityID, dataSubjectId, else 400
        if not (trace or activity or subject):
            raise Problem(
                400,
                "Ongeldige invoer",
                f"Geef ten minste één van traceId, {ATTR_ACTIVITY} of {ATTR_SUBJECT} op.",
            )
        # "Beveilingsoverwegingen": a client only gets the records it is entitled to
        if subject is not None and (subject.id, subject.type) != (caller.subject.id, caller.subject.type):
            raise Problem(403, "Geen toegang", "U kunt alleen verwerkingen over uzelf opvragen.")
        f = _Filter(
            query=Query(
                trace_id=trace,
                activity_uri=activity,
                subject=caller.subject,  # always bound to the citizen, whatever else was asked
                start_time=body.startTime,
                end_time=body.endTime,
                after_seq=int(body.cursor) if body.cursor else 0,
                limit=MAX_PAGE,
            ),
            trace_named=trace,
            start_time=body.startTime,
            end_time=body.endTime,
            processor=body.foreign_operation_processor,
            page_size=body.pageSize,
        )
        if inflight[0] >= max_waiting:  # shed load rather than queue without bound
            return problem_response(
                503,
                "Dienst niet beschikbaar",
                "Te veel gelijktijdige zoekvragen; probeer het zo opnieuw.",
                headers={"Retry-After": "1"},
            )
        page, nxt = await in_pool(f)
        # the query itself is a processing about this citizen, logged before we answer
        tp = TraceParent.parse(request.headers.get("traceparent"))
        await logboek.awrite(
            Processing(
                INZAGE_NAME,
                inzage_activity_uri,
                (caller.subject,),
                tp.trace_id if tp else new_trace_id(),
                foreign_operation=ForeignOperation(
                    tp.trace_id, tp.parent_id, FSC_PEER_ENTITY + (caller.peer_id or "onbekend")
                )
                if tp
                else None,
                resource=LOOKUP_RESOURCE | {"entity": entity},
            )
        )
        headers = {"Deprecation": DEPRECATED_SINCE} if body.uses_old_shape else None
        return JSONResponse(
            {
                "processingActivities": [processing_activity(r) for r in page],
                "next": str(nxt) if nxt is not None else None,
            },
            headers=headers,
        )

    return api
