"""Build a citizen's view across the federation from every organisation's LDV read API.

Requests and answers follow the read extension (``Logius-standaarden/logboek-extensie-lezen``, OAS
"LDV lezen API" 1.1.0): the filters are the attributes ``dpl.core.data_subject_id`` (+ ``_type``) and
``traceId`` (in the OAS's uuid form); a record made for another party's processing carries
``dpl.core.foreign_operation.processor``.

1. Ask every organisation's read API for the citizen's own processings (bound to the citizen).
2. For each record that called another organisation (``dpl.read.externalReadAPI_id``), ask that
   organisation for the records in the same trace that were made for a foreign operation: the
   processing done *for* this one. Where both records carry the FSC transaction ID, they must
   match: a client may reuse one trace for several calls, and a provision made for another
   (possibly confidential) call is not this one's. Repeat.
3. Resolve each record's activity through its register URI (purpose, legal basis). An activity
   that is confidential answers 404 and its records are dropped (defence in depth: the read API
   already omits them).

Because providers only return chain records when asked by trace, and the trace is only learnt from
a consumer record the citizen may see, a confidential consumer is never revealed through its
provider's ordinary record.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from nds.logboek.model import (
    ATTR_ACTIVITY,
    ATTR_EXTERNAL_READ_API,
    ATTR_FSC_TRANSACTION,
    ATTR_SUBJECT,
    ATTR_SUBJECT_TYPE,
)
from nds.logboek.read_api import ATTR_FOREIGN_PROCESSOR, trace_id_from_api, trace_id_to_api

INZAGE_NAME = "inzageverzoek"
_HEX32 = re.compile(r"[0-9a-f]{32}")
MAX_DEPTH = 8


@dataclass(frozen=True)
class Source:
    """One organisation's logboek as the citizen view reaches it."""

    name: str
    peer_id: str
    read_api: str  # base URL of its LDV read API (…/processing-activities is appended)


class Transport(Protocol):
    async def read(self, source: Source, body: dict[str, Any]) -> list[dict[str, Any]]:
        """All pages of ``POST {read_api}/processing-activities`` for the authenticated citizen;
        ``body`` is a read-extension request (``ProcessingActivityRequest``) without pagination."""
        ...

    async def activity(self, uri: str) -> dict[str, Any] | None:
        """The public register entry at ``uri``; None when absent or confidential (404)."""
        ...


@dataclass
class Use:
    """One processing of the citizen's data, with what it was based on."""

    organisation: str
    peer_id: str
    name: str
    activity: str
    purpose: str
    legal_basis: str
    provision: str
    provision_link: str
    personal_data: list[str]
    start: str
    end: str
    trace_id: str  # 32 hex digits (W3C Trace Context), whatever form the read API answered in
    obtained_from: list[Use] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CitizenView:
    uses: list[Use]
    lookups: list[Use]  # the citizen's own (and officers') inzageverzoeken
    unreachable: list[str]  # organisations that could not be asked (shown, never hidden)

    def to_json(self) -> dict[str, Any]:
        return {
            "gebruik": [u.to_json() for u in self.uses],
            "inzageverzoeken": [u.to_json() for u in self.lookups],
            "nietBereikbaar": self.unreachable,
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _trace(value: Any) -> str:
    """A read-API ``traceId`` as 32 hex digits; "" when it is no trace ID (nothing is followed)."""
    t = trace_id_from_api(str(value))
    return t if _HEX32.fullmatch(t) else ""


async def build_view(sources: list[Source], transport: Transport, subject: dict[str, str]) -> CitizenView:
    """``subject``: ``{"id": …, "type": …}`` of the authenticated citizen."""
    me = {ATTR_SUBJECT: subject["id"], ATTR_SUBJECT_TYPE: subject.get("type", "BSN")}
    by_api = {s.read_api.rstrip("/"): s for s in sources}
    activities: dict[str, dict[str, Any] | None] = {}
    unreachable: list[str] = []

    def mark_unreachable(source: Source) -> None:
        if source.name not in unreachable:
            unreachable.append(source.name)

    async def activity(source: Source, uri: str) -> dict[str, Any] | None:
        if uri not in activities:
            try:
                activities[uri] = await transport.activity(uri)
            except Exception:  # a register that cannot be read: reported like an unreachable read API
                mark_unreachable(source)
                return None  # not cached: another record may find it reachable again
        return activities[uri]

    async def safe_read(source: Source, body: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return await transport.read(source, body)
        except Exception:  # an unreachable organisation is reported, never fatal
            mark_unreachable(source)
            return []

    async def to_use(
        source: Source, rec: dict[str, Any], depth: int, seen: set[tuple[str, str]]
    ) -> Use | None:
        attrs = rec.get("attributes") or {}
        act = await activity(source, str(attrs.get(ATTR_ACTIVITY, "")))
        if act is None:
            return None
        grond = act.get("grondslag", {})
        use = Use(
            organisation=source.name,
            peer_id=source.peer_id,
            name=str(rec.get("name", "")),
            activity=str(act.get("naam", "")),
            purpose=str(act.get("doel", "")),
            legal_basis=str(grond.get("omschrijving", "")),
            provision=str(grond.get("wettelijkeBepaling", "")),
            provision_link=str(grond.get("link", "")),
            personal_data=list(act.get("categorieenPersoonsgegevens", [])),
            start=_iso(int(rec.get("startTime", 0))),
            end=_iso(int(rec.get("endTime", 0))),
            trace_id=_trace(rec.get("traceId", "")),
        )
        nxt = attrs.get(ATTR_EXTERNAL_READ_API)
        if nxt and depth < MAX_DEPTH:
            target = by_api.get(str(nxt).rstrip("/"))
            key = (str(nxt), use.trace_id)
            if target is not None and use.trace_id and key not in seen:
                seen.add(key)
                txid = attrs.get(ATTR_FSC_TRANSACTION)
                body = {"traceId": trace_id_to_api(use.trace_id), **me}
                for down in await safe_read(target, body):
                    down_attrs = down.get("attributes") or {}
                    if not down_attrs.get(ATTR_FOREIGN_PROCESSOR):
                        continue  # only records made for another party's processing: this chain
                    down_txid = down_attrs.get(ATTR_FSC_TRANSACTION)
                    if txid and down_txid and down_txid != txid:
                        continue  # made for another call in the same trace (maybe a confidential one)
                    child = await to_use(target, down, depth + 1, seen)
                    if child is not None:
                        use.obtained_from.append(child)
        return use

    uses: list[Use] = []
    lookups: list[Use] = []
    for source in sources:
        for rec in await safe_read(source, me):
            u = await to_use(source, rec, 0, set())
            if u is None:
                continue
            (lookups if u.name == INZAGE_NAME else uses).append(u)
    uses.sort(key=lambda u: u.start, reverse=True)
    lookups.sort(key=lambda u: u.start, reverse=True)
    return CitizenView(uses, lookups, unreachable)


AssertionFor = Callable[[Source], Awaitable[str]]
