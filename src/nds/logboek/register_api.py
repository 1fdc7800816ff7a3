"""Public read access to the register of processing activities.

An activity version's URI is where it can be read: ``GET <base>/verwerkingsactiviteiten/<slug>/versies/<n>``.
Confidential activities answer 404 while confidential (their existence is not revealed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from nds.api import Problem, make_api
from nds.logboek.register import ART6_LABELS, ProcessingActivity, Register


def public_view(uri: str, version: int, a: ProcessingActivity) -> dict[str, Any]:
    return {
        "uri": uri,
        "versie": version,
        "naam": a.name,
        "doel": a.purpose,
        "grondslag": {
            "avgGrond": a.legal_basis.ground.value,
            "omschrijving": ART6_LABELS[a.legal_basis.ground.value],
            "wettelijkeBepaling": a.legal_basis.provision,
            "link": str(a.legal_basis.link),
        },
        "verwerkingsverantwoordelijke": {"oin": a.controller_oin, "naam": a.controller_name},
        "rol": a.role,
        "categorieenBetrokkenen": a.data_subject_categories,
        "categorieenPersoonsgegevens": a.personal_data_categories,
        "ontvangers": a.recipients,
        "doorgiftenDerdeLanden": a.third_country_transfers,
        "beveiligingsmaatregelen": a.security_measures,
        "bewaartermijnDagen": a.retention_days,
    }


def create_register_api(register: Register) -> FastAPI:
    api = make_api(
        "Register van verwerkingsactiviteiten",
        "1.0.0",
        "De verwerkingsactiviteiten van één organisatie (AVG art. 30 lid 1), per versie.",
    )

    @api.get("/verwerkingsactiviteiten")
    async def list_activities() -> dict[str, Any]:
        today = datetime.now(UTC).date()
        return {
            "verwerkingsactiviteiten": [
                public_view(uri, v, a)
                for _slug, uri, v, a in register.current()
                if not a.is_confidential(today)
            ]
        }

    @api.get("/verwerkingsactiviteiten/{slug}/versies/{version}")
    async def get_version(slug: str, version: int) -> dict[str, Any]:
        uri = register.uri(slug, version)
        a = register.get(uri)
        if a is None or a.is_confidential(datetime.now(UTC).date()):
            raise Problem(
                404, "Niet gevonden", "Deze verwerkingsactiviteit bestaat niet of is niet openbaar."
            )
        return public_view(uri, version, a)

    return api
