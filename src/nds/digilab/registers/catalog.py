"""The DigiLab organisations' registers of processing activities (as data).

Each activity is published in its organisation's own register at start-up; records point to the
version URI. One activity is confidential: the benefits agency's fraud inquiry.
"""

from __future__ import annotations

from typing import Any

_BIO = [
    "Baseline Informatiebeveiliging Overheid (BIO)",
    "versleuteling in transport (TLS, FSC)",
    "logging van alle verwerkingen (LDV)",
]


def _act(
    name: str,
    purpose: str,
    ground: str,
    provision: str,
    link: str,
    oin: str,
    controller: str,
    *,
    data: list[str],
    subjects: list[str],
    recipients: list[str] | None = None,
    retention: int = 365 * 7,
    confidential: bool = False,
    role: str = "controller",
    for_oin: str | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "purpose": purpose,
        "legal_basis": {"ground": ground, "provision": provision, "link": link},
        "controller_oin": oin,
        "controller_name": controller,
        "role": role,
        "processor_for_oin": for_oin,
        "data_subject_categories": subjects,
        "personal_data_categories": data,
        "recipients": recipients or [],
        "third_country_transfers": [],
        "security_measures": _BIO,
        "confidential": confidential,
        "confidential_until": None,
        "retention_days": retention,
    }


def inzage(oin: str, controller: str) -> dict[str, Any]:
    return _act(
        "Inzageverzoek",
        "Een betrokkene laten zien welke verwerkingen over hem of haar zijn gelogd",
        "c",
        "AVG art. 15 (recht op inzage)",
        "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
        oin,
        controller,
        data=["BSN (gepseudonimiseerd)", "tijdstip van inzage"],
        subjects=["betrokkenen"],
    )


def activities(kind: str, oin: str, name: str) -> dict[str, dict[str, Any]]:
    """slug → activity for one organisation kind."""
    acts: dict[str, dict[str, Any]] = {"inzage": inzage(oin, name)}
    if kind == "brp":
        acts["verstrekking"] = _act(
            "Verstrekking uit de BRP",
            "Persoonsgegevens verstrekken aan overheidsorganen voor hun taak",
            "e",
            "Wet basisregistratie personen art. 3.3",
            "https://wetten.overheid.nl/BWBR0033715",
            oin,
            name,
            data=["naam", "geboortedatum", "adres", "BSN"],
            subjects=["ingezetenen"],
            recipients=["gemeenten", "uitvoeringsorganisaties"],
            retention=365 * 20,
        )
    elif kind == "hr":
        acts["verstrekking"] = _act(
            "Verstrekking uit het Handelsregister",
            "Gegevens over ondernemingen en hun eigenaren verstrekken",
            "e",
            "Handelsregisterwet 2007 art. 22",
            "https://wetten.overheid.nl/BWBR0021777",
            oin,
            name,
            data=["naam eigenaar", "BSN eigenaar", "vestigingsadres"],
            subjects=["eigenaren van eenmanszaken"],
            recipients=["overheidsorganen"],
            retention=365 * 7,
        )
    elif kind == "gemeente":
        acts["verhuizing"] = _act(
            "Verhuizing verwerken",
            "Een adreswijziging van een inwoner verwerken in de basisregistratie",
            "c",
            "Wet basisregistratie personen art. 2.39",
            "https://wetten.overheid.nl/BWBR0033715",
            oin,
            name,
            data=["naam", "adres", "BSN"],
            subjects=["inwoners"],
        )
    elif kind == "uitkering":
        acts["uitkering"] = _act(
            "Uitkering toekennen",
            "Het recht op een uitkering vaststellen",
            "c",
            "Participatiewet art. 7",
            "https://wetten.overheid.nl/BWBR0015703",
            oin,
            name,
            data=["naam", "adres", "geboortedatum", "BSN"],
            subjects=["aanvragers"],
        )
        acts["fraudeonderzoek"] = _act(
            "Fraudeonderzoek",
            "Onderzoek naar mogelijk onrechtmatig verkregen uitkeringen",
            "c",
            "Wet structuur uitvoeringsorganisatie werk en inkomen art. 64",
            "https://wetten.overheid.nl/BWBR0013060",
            oin,
            name,
            data=["naam", "adres", "BSN"],
            subjects=["uitkeringsgerechtigden"],
            confidential=True,
        )
    elif kind == "saas":
        acts["parkeervergunning"] = _act(
            "Parkeervergunning verlenen (namens de gemeente)",
            "Een parkeervergunning voor een bewoner verlenen",
            "e",
            "Gemeentewet art. 160 jo. Wegenverkeerswet 1994 art. 2",
            "https://wetten.overheid.nl/BWBR0005416",
            oin,
            name,
            data=["naam", "adres", "BSN"],
            subjects=["bewoners"],
            role="processor",
            for_oin="00000001001000000003",
        )
    return acts
