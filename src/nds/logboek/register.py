"""Register of processing activities (GDPR art. 30(1)), versioned.

Every change to an activity creates a new version with its own URI
(``<base>/verwerkingsactiviteiten/<slug>/versies/<n>``); records point to the version that applied
when they were written, so a later change never rewrites history.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from sqlalchemy.engine import Engine

from nds.logboek import tables as t
from nds.logboek.model import now_ms

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Art6Ground(StrEnum):
    """GDPR art. 6(1) grounds."""

    CONSENT = "a"  # toestemming
    CONTRACT = "b"  # overeenkomst
    LEGAL_OBLIGATION = "c"  # wettelijke verplichting
    VITAL_INTERESTS = "d"  # vitale belangen
    PUBLIC_TASK = "e"  # algemeen belang / openbaar gezag
    LEGITIMATE_INTERESTS = "f"  # gerechtvaardigd belang


ART6_LABELS = {
    "a": "toestemming (AVG art. 6 lid 1 sub a)",
    "b": "uitvoering van een overeenkomst (AVG art. 6 lid 1 sub b)",
    "c": "wettelijke verplichting (AVG art. 6 lid 1 sub c)",
    "d": "vitale belangen (AVG art. 6 lid 1 sub d)",
    "e": "taak van algemeen belang of openbaar gezag (AVG art. 6 lid 1 sub e)",
    "f": "gerechtvaardigd belang (AVG art. 6 lid 1 sub f)",
}


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ground: Art6Ground
    provision: str = Field(
        min_length=3, max_length=300, description="National provision, e.g. 'Wet BRP art. 3.3'"
    )
    link: HttpUrl = Field(description="Link to the provision, e.g. on wetten.overheid.nl")


class ProcessingActivity(BaseModel):
    """One entry of the art. 30(1) register."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=3, max_length=200)
    purpose: str = Field(min_length=3, max_length=2000)
    legal_basis: LegalBasis
    controller_oin: str = Field(pattern=r"^\d{20}$")
    controller_name: str = Field(min_length=2, max_length=200)
    role: str = Field(
        pattern=r"^(controller|processor)$", description="verwerkingsverantwoordelijke or verwerker"
    )
    processor_for_oin: str | None = Field(default=None, pattern=r"^\d{20}$")
    data_subject_categories: list[str] = Field(min_length=1)
    personal_data_categories: list[str] = Field(min_length=1)
    recipients: list[str] = Field(default_factory=list)
    third_country_transfers: list[str] = Field(default_factory=list)
    security_measures: list[str] = Field(min_length=1)
    confidential: bool = False
    confidential_until: date | None = Field(default=None, description="When confidentiality ends, if known")
    retention_days: int = Field(ge=1, le=365 * 100)

    @field_validator("processor_for_oin")
    @classmethod
    def _processor_needs_controller(cls, v: str | None, info: Any) -> str | None:
        if info.data.get("role") == "processor" and not v:
            raise ValueError("a processor must name the controller it processes for")
        return v

    def is_confidential(self, today: date) -> bool:
        if not self.confidential:
            return False
        return self.confidential_until is None or today < self.confidential_until


class RegisterError(ValueError):
    pass


class Register:
    def __init__(self, engine: Engine, base_uri: str) -> None:
        self.engine = engine
        self.base_uri = base_uri.rstrip("/")

    def uri(self, slug: str, version: int) -> str:
        return f"{self.base_uri}/verwerkingsactiviteiten/{slug}/versies/{version}"

    def publish(self, slug: str, activity: ProcessingActivity) -> str:
        """Store ``activity`` as the current version of ``slug``; unchanged content keeps its URI."""
        if not _SLUG.match(slug) or len(slug) > 100:
            raise RegisterError("slug must be lowercase words joined by '-'")
        data = activity.model_dump(mode="json")
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.activities.c.uri, t.activities.c.version, t.activities.c.data)
                .where(t.activities.c.slug == slug)
                .order_by(t.activities.c.version.desc())
                .limit(1)
            ).first()
            if row is not None and row.data == data:
                return str(row.uri)
            version = 1 if row is None else row.version + 1
            uri = self.uri(slug, version)
            conn.execute(
                t.activities.insert().values(
                    uri=uri, slug=slug, version=version, created_at=now_ms(), data=data
                )
            )
        return uri

    def get(self, uri: str) -> ProcessingActivity | None:
        with self.engine.connect() as conn:
            data = conn.execute(sa.select(t.activities.c.data).where(t.activities.c.uri == uri)).scalar()
        return None if data is None else ProcessingActivity.model_validate(data)

    def current(self) -> list[tuple[str, str, int, ProcessingActivity]]:
        """(slug, uri, version, activity) for the newest version of every activity."""
        a = t.activities
        newest = sa.select(a.c.slug, sa.func.max(a.c.version).label("v")).group_by(a.c.slug).subquery()
        q = (
            sa.select(a.c.slug, a.c.uri, a.c.version, a.c.data)
            .join(newest, sa.and_(a.c.slug == newest.c.slug, a.c.version == newest.c.v))
            .order_by(a.c.slug)
        )
        with self.engine.connect() as conn:
            return [
                (r.slug, r.uri, r.version, ProcessingActivity.model_validate(r.data)) for r in conn.execute(q)
            ]

    def versions(self, slug: str) -> list[tuple[str, int]]:
        a = t.activities
        with self.engine.connect() as conn:
            return [
                (r.uri, r.version)
                for r in conn.execute(
                    sa.select(a.c.uri, a.c.version).where(a.c.slug == slug).order_by(a.c.version)
                )
            ]
