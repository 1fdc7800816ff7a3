"""Commitment rules on small texts: actors, hedging, exclusions, vague phrases, delegation."""

from __future__ import annotations

from datetime import date

import pytest

from nds.programme.parse import parse_text

pytestmark = pytest.mark.unit
HEAD = (
    "Nummer: 2025D00002, datum: 2025-10-01, bijgewerkt: 2025-10-01 10:00, versie: 1\n"
    "Onderdeel van zaak 2025Z00002:\n- Indiener: A. de Vries, minister van Testzaken\n"
)


def commitments(answer: str) -> list[tuple[str, str | None, bool, bool]]:
    r = parse_text(HEAD + f"1 | Wanneer? {answer} |\n")
    return [
        (c.actor, c.deadline.end.isoformat() if c.deadline else None, c.vague, c.hedged)
        for c in r.commitments
    ]


@pytest.mark.parametrize(
    ("sentence", "actor"),
    [
        ("Ik stuur uw Kamer voor de zomer een brief.", "A. de Vries"),
        ("Wij verwachten de visie eind 2026 op te leveren.", "A. de Vries"),
        (
            "Dit onderzoek wordt naar verwachting eind 2026 opgeleverd.",
            "A. de Vries",
        ),  # passive: the Indiener
        ("In het vierde kwartaal van 2026 brengt onderzoeksorganisatie TNO een monitor uit.", "TNO"),
        ("Naar verwachting zal de Raad van State in het voorjaar van 2026 adviseren.", "de Raad van State"),
        ("In 2026 publiceert het CBS de monitor.", "het CBS"),
        (
            "De minister van Economische Zaken zal in 2026 een visie vaststellen.",
            "De minister van Economische Zaken",
        ),
        ("Dit aansluitplan zal het kabinet in 2026 vaststellen.", "het kabinet"),
        ("Eind 2026 zal de minister de agenda vaststellen.", "A. de Vries"),  # the answering office itself
        ("Daarnaast zullen in 2026 toepassingen worden verbonden.", "A. de Vries"),
    ],
)
def test_actor(sentence: str, actor: str) -> None:
    found = commitments(sentence)
    assert len(found) == 1 and found[0][0] == actor


@pytest.mark.parametrize(
    "sentence",
    [
        "De geschatte kosten hiervoor in 2026 bedragen €1.500.000.",
        "De kosten worden geschat op €350.000 in 2026.",
        "De eerste groep heeft in december 2024 de verklaring getekend.",
        "In de zomer zijn tien voorstellen gedaan die nu worden uitgewerkt.",
        "Dit sluit aan bij de eerder dit jaar aangenomen motie.",
        "De agenda wordt niet op Prinsjesdag gepresenteerd.",
        "Er komt in 2026 geen nieuwe wet.",
        "Het Rijkscloudbeleid 2022 blijft van kracht.",
    ],
)
def test_not_a_commitment(sentence: str) -> None:
    assert commitments(sentence) == []


def test_negation_then_commitment_in_next_sentence() -> None:
    found = commitments(
        "De agenda wordt niet op Prinsjesdag gepresenteerd. Ik verwacht de agenda in het eerste "
        "kwartaal van 2026."
    )
    assert found == [("A. de Vries", "2026-03-31", False, True)]


def test_vague_and_undated() -> None:
    assert commitments("Ik informeer uw Kamer zo spoedig mogelijk.") == [("A. de Vries", None, True, False)]
    assert commitments("Ik informeer u hierover, zodra het overleg is afgerond.") == [
        ("A. de Vries", None, False, False)
    ]
    assert commitments("Dit zal zeker bijdragen aan het doel.") == []  # a prediction, not a promise


def test_two_deadlines_in_one_sentence_are_two_clauses() -> None:
    r = parse_text(
        HEAD + "1 | Wanneer? Wij verwachten de visie eind 2025 op te leveren, waarna deze begin 2026 "
        "kan worden vastgesteld. |\n"
    )
    assert [(c.text, c.deadline.end.isoformat()) for c in r.commitments if c.deadline] == [
        ("Wij verwachten de visie eind 2025 op te leveren", "2025-12-31"),
        ("waarna deze begin 2026 kan worden vastgesteld.", "2026-03-31"),
    ]


def test_relative_phrases_anchor_on_answer_date() -> None:
    r = parse_text(HEAD + "1 | Wanneer? Ik stuur de brief dit jaar. |\n")
    assert r.anchor == date(2025, 10, 1)
    c = r.commitments[0]
    assert c.deadline is not None and (c.deadline.start, c.deadline.end) == (
        date(2025, 10, 1),
        date(2025, 12, 31),
    )
