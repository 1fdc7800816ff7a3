"""The read extension's request and response shapes (``logboek-extensie-lezen``, OAS 1.1.0).

``ReadRequest`` is OAS ``ProcessingActivityRequest`` (the ``Attributes`` schema plus ``traceId``,
``startTime``, ``endTime``) with our pagination and the deprecated release-1.0 fields;
``processing_activity`` renders a record as OAS ``ProcessingActivity``. The endpoint is ``read_api``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nds.logboek.model import (
    ATTR_ACTIVITY,
    ATTR_EXTERNAL_READ_API,
    ATTR_FSC_TRANSACTION,
    ATTR_SUBJECT,
    ATTR_SUBJECT_TYPE,
    DataSubject,
    Record,
)
from nds.logboek.query import MAX_PAGE

# OAS 1.1.0 media/attributes.schema.json: the entity URI of the foreign operation
ATTR_FOREIGN_PROCESSOR = "dpl.core.foreign_operation.processor"
MAX_SEQ = 2**63 - 1  # the largest signed 64-bit integer: sequence numbers and ms timestamps

# OAS 1.1.0 ``TraceID``: "type: string, format: uuid" (example ef4e77b9-b03b-585f-b613-5fcf8d8555fb).
# The core standard's trace_id is 16 bytes, written as W3C Trace Context's 32 hex digits. We accept
# both spellings and answer in the UUID form the schema asks for (the same 16 bytes).
_TRACE_ID = re.compile(
    r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def trace_id_from_api(value: str) -> str:
    """A read-API trace ID (UUID form or 32 hex digits) as the core standard's 32 lowercase hex."""
    return value.replace("-", "").lower()


def trace_id_to_api(trace_id: str) -> str:
    """32 hex digits in the UUID form of OAS 1.1.0 ``TraceID``."""
    return str(uuid.UUID(hex=trace_id))


class SubjectIn(BaseModel):
    """Release-1.0 ``dataSubject`` (deprecated)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    type: str = Field(default="BSN", min_length=1, max_length=100)

    def __repr__(self) -> str:
        return "SubjectIn(<redacted>)"


def _uri(v: str | None) -> str | None:
    if v is not None and not _URI.match(v):
        raise ValueError("must be a URI")
    return v


class ReadRequest(BaseModel):
    """OAS 1.1.0 ``ProcessingActivityRequest`` (``Attributes`` + traceId/startTime/endTime), plus our
    pagination (``pageSize``, ``cursor``) and, deprecated, the release-1.0 field names."""

    model_config = ConfigDict(extra="forbid")

    traceId: str | None = Field(
        default=None,
        pattern=_TRACE_ID.pattern,
        description="Trace (UUID-vorm of 32 hexadecimale tekens)",
    )
    processing_activity_id: str | None = Field(
        default=None,
        alias="dpl.core.processing_activity_id",
        min_length=1,
        max_length=2000,
        description="URI van één versie van een verwerkingsactiviteit in het register",
    )
    data_subject_id: str | None = Field(
        default=None,
        alias="dpl.core.data_subject_id",
        min_length=1,
        max_length=64,
        description="Identificerende code van de betrokkene (moet de geauthenticeerde burger zijn)",
    )
    data_subject_id_type: str | None = Field(
        default=None,
        alias="dpl.core.data_subject_id_type",
        min_length=1,
        max_length=100,
        description="Standaard BSN",
    )
    foreign_operation_processor: str | None = Field(
        default=None,
        alias="dpl.core.foreign_operation.processor",
        min_length=1,
        max_length=2000,
        description="Alleen dataverwerkingen uitgevoerd voor deze externe applicatie (URI)",
    )
    startTime: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEQ,
        description="ms sinds epoch: dataverwerkingen gestart op of na dit tijdstip",
    )
    endTime: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEQ,
        description="ms sinds epoch: dataverwerkingen beëindigd op of vóór dit tijdstip",
    )
    pageSize: int = Field(default=100, ge=1, le=MAX_PAGE, description="Paginering (eigen): 1–1000")
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,19}$",
        description="Paginering (eigen): 'next' uit het vorige antwoord",
    )
    # release 1.0 (deprecated; accepted for one release with a Deprecation header)
    processingActivityId: str | None = Field(
        default=None, min_length=1, max_length=2000, json_schema_extra={"deprecated": True}
    )
    dataSubject: SubjectIn | None = Field(default=None, json_schema_extra={"deprecated": True})

    _check_activity = field_validator("processing_activity_id", "processingActivityId")(_uri)
    _check_processor = field_validator("foreign_operation_processor")(_uri)

    @field_validator("cursor")
    @classmethod
    def _cursor_in_range(cls, v: str | None) -> str | None:
        # a sequence number is a signed 64-bit integer in both databases; a larger cursor is bad
        # input (400), not a database error (500)
        if v is not None and int(v) > MAX_SEQ:
            raise ValueError("cursor is out of range")
        return v

    @model_validator(mode="after")
    def _one_shape(self) -> ReadRequest:
        if self.uses_old_shape and (
            self.processing_activity_id or self.data_subject_id or self.data_subject_id_type
        ):
            raise ValueError(
                "use either the dpl.core.* attributes or the deprecated "
                "processingActivityId/dataSubject, not both"
            )
        if self.data_subject_id_type is not None and self.data_subject_id is None:
            raise ValueError(f"{ATTR_SUBJECT_TYPE} needs {ATTR_SUBJECT}")
        if self.startTime is not None and self.endTime is not None and self.startTime > self.endTime:
            raise ValueError("startTime is after endTime")
        return self

    def __repr__(self) -> str:  # never a data subject ID in a log or traceback
        return "ReadRequest(<redacted>)"

    @property
    def uses_old_shape(self) -> bool:
        return self.processingActivityId is not None or self.dataSubject is not None

    def activity(self) -> str | None:
        return self.processing_activity_id or self.processingActivityId

    def subject(self) -> DataSubject | None:
        if self.dataSubject is not None:
            return DataSubject(self.dataSubject.id, self.dataSubject.type)
        if self.data_subject_id is not None:
            return DataSubject(self.data_subject_id, self.data_subject_id_type or "BSN")
        return None

    def trace(self) -> str | None:
        return trace_id_from_api(self.traceId) if self.traceId else None


class ForeignOperationOut(BaseModel):
    traceId: str
    spanId: str
    entity: str


class ResourceOut(BaseModel):
    attributes: dict[str, str]


class ProcessingActivityOut(BaseModel):
    """OAS 1.1.0 ``ProcessingActivity`` (plus ``foreignOperation``: the core standard's
    foreign_operation message, which the extension's schema does not name)."""

    traceId: str = Field(description="UUID-vorm")
    spanId: str
    status: Literal["Unset", "Ok", "Error"]
    name: str
    startTime: int
    endTime: int
    parentSpanId: str | None = None
    resource: ResourceOut | None = None
    attributes: dict[str, str]
    foreignOperation: ForeignOperationOut | None = None


class ReadResponse(BaseModel):
    """OAS 1.1.0 ``ListProcessingActivities`` plus our ``next`` cursor."""

    processingActivities: list[ProcessingActivityOut]
    next: str | None


def processing_activity(r: Record) -> dict[str, Any]:
    """A record in the shape of OAS 1.1.0 ``ProcessingActivity``; optional fields are left out
    rather than null (the schema does not make them nullable)."""
    attributes: dict[str, str] = {ATTR_ACTIVITY: r.activity_uri}
    if r.subject_pseudonym is not None:  # the keyed pseudonym, never the BSN
        attributes[ATTR_SUBJECT] = r.subject_pseudonym
        attributes[ATTR_SUBJECT_TYPE] = r.subject_type or "BSN"
    if r.foreign_entity:
        attributes[ATTR_FOREIGN_PROCESSOR] = r.foreign_entity
    if r.external_read_api:
        attributes[ATTR_EXTERNAL_READ_API] = r.external_read_api
    if r.fsc_transaction_id:
        attributes[ATTR_FSC_TRANSACTION] = r.fsc_transaction_id
    out: dict[str, Any] = {
        "traceId": trace_id_to_api(r.trace_id),
        "spanId": r.span_id,
        "status": ("Unset", "Ok", "Error")[int(r.status_code)],
        "name": r.name,
        "startTime": r.start_time,
        "endTime": r.end_time,
        "attributes": attributes,
    }
    if r.parent_span_id:
        out["parentSpanId"] = r.parent_span_id
    if r.resource:
        out["resource"] = {"attributes": dict(r.resource)}
    if r.foreign_trace_id and r.foreign_span_id:
        out["foreignOperation"] = {
            "traceId": trace_id_to_api(r.foreign_trace_id),
            "spanId": r.foreign_span_id,
            "entity": r.foreign_entity or "",
        }
    return out
