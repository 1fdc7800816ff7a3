"""The read API of the read extension (``logboek-extensie-lezen``): ``POST /processing-activities``.

- A JSON body, never query parameters: a data subject ID must never appear in a URL.
- At least one of ``traceId``, ``processingActivityId`` or ``dataSubject``, else 400 (problem+json).
- The query is bound to the authenticated citizen (``auth.py``); asking for someone else is 403.
- Confidential activities (per the register version a record points to) are never returned.
- A record made *for another organisation's processing* (its ``foreign_operation`` names an entity
  for which ``chain_entity`` is true; by default every foreign entity) is only returned when the
  query names its trace: the citizen view reaches it by following the chain from the consumer's
  (visible) record, so a confidential consumer is never revealed through its provider's ordinary
  record. A foreign operation of the organisation's own client (e.g. a web front end sending a
  ``traceparent``) does not make its own processing a chain record: tell them apart with
  ``chain_entity``.
- Pagination (our own, documented): ``pageSize`` (1–1000, default 100) and an opaque ``cursor``;
  the response has ``next`` (a cursor, or null).
- Looking is itself a processing: every query is logged as an "inzageverzoek" for that citizen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Engine

from nds.api import Problem, make_api
from nds.logboek.auth import Authenticator, AuthError
from nds.logboek.model import ForeignOperation, Processing, Record, TraceParent, new_trace_id
from nds.logboek.pseudonym import Keyring
from nds.logboek.query import MAX_PAGE, Query, find
from nds.logboek.register import Register
from nds.logboek.store import Logboek

MAX_SEQ = 2**63 - 1  # the largest signed 64-bit integer: sequence numbers and ms timestamps


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    type: str = Field(default="BSN", max_length=100)

    def __repr__(self) -> str:
        return "SubjectIn(<redacted>)"


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    traceId: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    processingActivityId: str | None = Field(default=None, max_length=500)
    dataSubject: SubjectIn | None = None
    startTime: int | None = Field(
        default=None, ge=0, le=MAX_SEQ, description="ms since epoch: records ending at or after"
    )
    endTime: int | None = Field(
        default=None, ge=0, le=MAX_SEQ, description="ms since epoch: records starting at or before"
    )
    pageSize: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,19}$")

    @field_validator("cursor")
    @classmethod
    def _cursor_in_range(cls, v: str | None) -> str | None:
        # a sequence number is a signed 64-bit integer in both databases; a larger cursor is bad
        # input (400), not a database error (500)
        if v is not None and int(v) > MAX_SEQ:
            raise ValueError("cursor is out of range")
        return v


class ReadResponse(BaseModel):
    processingActivities: list[dict[str, Any]]
    next: str | None


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
) -> FastAPI:
    is_chain = chain_entity or (lambda _entity: True)
    api = make_api("LDV lezen API", "1.0.0", "Lezen van het Logboek Dataverwerkingen van één organisatie.")

    @api.post(
        "/processing-activities",
        response_model=ReadResponse,
        responses={
            400: {"description": "Geen filter of ongeldige invoer"},
            401: {"description": "Niet geauthenticeerd"},
            403: {"description": "Andere betrokkene dan de geauthenticeerde burger"},
        },
    )
    async def processing_activities(body: ReadRequest, request: Request) -> ReadResponse:
        try:
            caller = authenticator.authenticate({k.lower(): v for k, v in request.headers.items()})
        except AuthError as exc:
            raise Problem(exc.status, "Niet geauthenticeerd", exc.detail) from exc
        if not (body.traceId or body.processingActivityId or body.dataSubject):
            raise Problem(
                400,
                "Ongeldige invoer",
                "Geef ten minste één van traceId, processingActivityId of dataSubject op.",
            )
        if body.dataSubject and (body.dataSubject.id, body.dataSubject.type) != (
            caller.subject.id,
            caller.subject.type,
        ):
            raise Problem(403, "Geen toegang", "U kunt alleen verwerkingen over uzelf opvragen.")
        q = Query(
            trace_id=body.traceId,
            activity_uri=body.processingActivityId,
            subject=caller.subject,
            start_time=body.startTime,
            end_time=body.endTime,
            after_seq=int(body.cursor) if body.cursor else 0,
            limit=MAX_PAGE,
        )
        today = datetime.now(UTC).date()
        hidden: dict[str, bool] = {}  # activity URI -> confidential or unknown (one lookup each)

        def shown(r: Record) -> bool:
            if r.activity_uri not in hidden:
                act = register.get(r.activity_uri)
                hidden[r.activity_uri] = act is None or act.is_confidential(today)
            if hidden[r.activity_uri]:
                return False
            return not (
                r.foreign_trace_id and is_chain(r.foreign_entity or "") and body.traceId != r.trace_id
            )

        # Filter before paginating: a page and its cursor are computed over the visible records
        # only, so an empty page with a "next" (or the cursor's value) cannot betray that hidden,
        # e.g. confidential, records exist.
        visible: list[Record] = []
        while len(visible) <= body.pageSize:
            rows, more = find(engine, keyring, q)
            visible += [r for r in rows if shown(r)]
            if more is None:
                break
            q = replace(q, after_seq=more)
        page = visible[: body.pageSize]
        nxt = page[-1].seq if len(visible) > body.pageSize else None
        # the query itself is a processing about this citizen, logged before we answer
        tp = TraceParent.parse(request.headers.get("traceparent"))
        await logboek.awrite(
            Processing(
                "inzageverzoek",
                inzage_activity_uri,
                (caller.subject,),
                tp.trace_id if tp else new_trace_id(),
                foreign_operation=ForeignOperation(tp.trace_id, tp.parent_id, caller.peer_id or "onbekend")
                if tp
                else None,
                resource={"component": "ldv-read-api", "entity": entity},
            )
        )
        return ReadResponse(
            processingActivities=[r.to_ldv() for r in page], next=str(nxt) if nxt is not None else None
        )

    return api
