"""Small fixtures written in each layout of the genre, parsed end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from nds.programme.parse import ParseResult, parse_text

pytestmark = pytest.mark.unit
FIX = Path(__file__).parent / "fixtures"


def load(name: str) -> ParseResult:
    return parse_text((FIX / name).read_text(encoding="utf-8"))


def dated(r: ParseResult) -> list[tuple[int, str, str, str]]:
    return [
        (c.question, c.deadline.start.isoformat(), c.deadline.end.isoformat(), c.actor)
        for c in r.commitments
        if c.deadline
    ]


def test_vraag_n_antwoord_n() -> None:
    r = load("layout_vraag_antwoord_n.txt")
    assert r.layout == "vraag"
    assert [p.number for p in r.pairs] == [1, 2, 3]
    assert r.text_of(r.pairs[0].answer_span) == "Ja."
    assert r.text_of(r.pairs[1].question_span) == "Wanneer is de Wegwijzer klaar? Kunt u een datum noemen?"
    assert r.pairs[2].delegates_to == 2 and r.pairs[2].resolved_to == 2
    assert r.anchor is not None and r.anchor.isoformat() == "2025-10-02"  # "(ontvangen 2 oktober 2025)"
    who = "staatssecretaris Van Marum (Binnenlandse Zaken en Koninkrijksrelaties)"
    assert dated(r) == [(2, "2026-05-01", "2026-08-31", who), (2, "2025-10-02", "2026-07-02", who)]
    keys = {(x.kind, x.dossier, x.toevoeging, x.number) for x in r.references}
    assert ("aanhangsel", None, "2024/25", 2345) in keys
    assert ("motie", "36600", "XII", 48) in keys
    assert not r.partial


def test_antwoord_op_vraag_n() -> None:
    r = load("layout_antwoord_op_vraag.txt")
    assert r.layout == "vraag"
    assert [p.number for p in r.pairs] == [1, 2]
    assert r.header.letter_date == "2022-03-03" and r.header.answer_date == "2022-04-01"
    assert r.text_of(r.pairs[1].answer_span) == "De kosten bedragen in 2022 €2 miljoen."
    # "in het najaar" without a year: the first najaar not over at the anchor (1 April 2022)
    assert dated(r) == [(1, "2022-09-01", "2022-12-31", "minister van Financiën")]
    keys = {(x.kind, x.dossier, x.number) for x in r.references}
    assert {("motie", "26643", 640), ("kamerstuk", "32761", 640), ("kamerstuk", "29435", 256)} <= keys
    motion = next(x for x in r.references if x.kind == "motie")
    assert motion.members == ["Van der Plas", "Omtzigt"]


def test_vraag_without_answer_label_and_grouped_heading() -> None:
    r = load("layout_vraag_unlabelled.txt")
    assert [p.number for p in r.pairs] == [1, 2, 3]
    q1 = r.pairs[0]
    assert r.text_of(q1.question_span) == "Waarom is het onderzoek uitgesteld? Wat is de nieuwe planning?"
    assert "Waarom dat zo is?" in r.text_of(q1.answer_span)  # an answer may hold a question mark
    assert r.pairs[2].delegates_to == 2 and r.pairs[2].answer_span == r.pairs[1].answer_span
    assert dated(r) == [(1, "2023-01-01", "2023-03-31", "Algemene Rekenkamer")]


def test_bare_number_lines_with_antwoord_label() -> None:
    r = load("layout_bare_numbers.txt")
    assert r.layout == "number"
    assert [p.number for p in r.pairs] == [1, 2]
    assert r.pairs[1].delegates_to == 1
    assert dated(r) == [(1, "2025-02-10", "2025-06-01", "minister")]
    assert any(x.kind == "motie" and x.members == ["Stoffer"] and x.number == 48 for x in r.references)


def test_opentk_row_spanning_lines_and_nbsp_curly_quotes() -> None:
    text = (
        "Nummer: 2025D00001, datum: 2025-09-26, bijgewerkt: 2025-09-29 16:30, versie: 1\n"
        "Onderdeel van zaak 2025Z00001:\n- Indiener: A. Minister, minister van Testzaken\n"
        "1 | Wanneer komt \u2018de\u00a0brief\u2019? Ik\u00a0stuur de brief eind\u00a02025.\n"
        "Dat doe ik samen met \u201cTNO\u201d. |\n"
        "2 | Waarom? Zie het antwoord op vraag\u00a01. |\n"
    )
    r = parse_text(text)
    assert r.layout == "opentk" and [p.number for p in r.pairs] == [1, 2]
    assert r.text_of(r.pairs[0].question_span) == "Wanneer komt \u2018de\u00a0brief\u2019?"
    assert (
        r.pairs[0].answer_span
        and r.raw[r.pairs[0].answer_span[1] - 6 : r.pairs[0].answer_span[1]] == "\u201cTNO\u201d."
    )
    assert r.pairs[1].delegates_to == 1
    c = [c for c in r.commitments if c.deadline]
    assert len(c) == 1 and c[0].actor == "A. Minister" and c[0].phrase == "eind\u00a02025"
    assert r.raw[c[0].span[0] : c[0].span[1]] == c[0].text  # spans point into the raw file


def test_cross_reference_chain_and_cycle() -> None:
    text = (
        "1 | Vraag een? Zie het antwoord op vraag 2. |\n2 | Vraag twee? Zie het antwoord op vraag 3. |\n"
        "3 | Vraag drie? Het rapport komt in 2030. |\n"
        "4 | Vraag vier? Zie het antwoord op vraag 5. |\n5 | Vraag vijf? Zie het antwoord op vraag 4. |\n"
        "6 | Vraag zes? Zie het antwoord op vraag 9. |\n"
    )
    r = parse_text(text, anchor=__import__("datetime").date(2025, 1, 1))
    by = {p.number: p for p in r.pairs}
    assert by[1].delegates_to == 2 and by[1].resolved_to == 3
    assert by[4].resolved_to is None and by[5].resolved_to is None
    codes = [w.code for w in r.warnings]
    assert codes.count("xref_cycle") == 1 and "xref_missing" in codes
    # a delegating pair does not duplicate the target's commitment
    assert [c.question for c in r.commitments] == [3]


def test_year_from_context_of_the_answer() -> None:
    text = (
        "1 | Wat is de planning? Het programma start in 2027. In het tweede kwartaal wordt het eerste "
        "rapport opgeleverd. |\n2 | En daarna? In het tweede kwartaal wordt het rapport opgeleverd. |\n"
    )
    r = parse_text(text, anchor=__import__("datetime").date(2025, 3, 1))
    got = [(c.question, c.deadline.start.isoformat()) for c in r.commitments if c.deadline]
    # Q1 names 2027 first; Q2 has no year in context: the first second quarter not over at the anchor
    assert got == [(1, "2027-01-01"), (1, "2027-04-01"), (2, "2025-04-01")]


def test_plain_layout_numbered_footnotes() -> None:
    r = load("layout_plain_footnotes.txt")
    assert [p.number for p in r.pairs] == [1, 2]
    assert r.text_of(r.pairs[1].answer_span) == "Dat beleid blijft van kracht."  # notes not in the answer
    assert [(f.number, f.text[:20]) for f in r.footnotes] == [
        (1, "Kamerstuk 26643, nr."),
        (2, "Rapport verkenning s"),
        (3, "Rijkscloudbeleid 202"),
    ]
    assert [(m.number, m.entry) for m in r.markers] == [(1, None), (2, 2), (3, 3)]
    # marker 1: "Kathmann" vs a bare Kamerstuk - no agreement in the text, so flagged, not linked
    assert any(w.code == "footnote_unlinked" and w.question == 1 for w in r.warnings)
    ends = [(c.question, c.deadline.end.isoformat()) for c in r.commitments if c.deadline]
    assert ends == [(1, "2026-12-31")]


def test_numbered_paragraphs_with_wrapped_question_and_unlabelled_answer() -> None:
    r = load("layout_numbered_paragraphs.txt")
    assert r.layout == "numbered"
    assert [p.number for p in r.pairs] == [1, 2]  # the enumeration "1. Eerste punt." is not a question
    assert r.text_of(r.pairs[0].question_span).endswith("(Kamerstuk 34 775 IX, nr. 8)?")
    assert "2. Tweede punt." in r.text_of(r.pairs[0].answer_span)
    assert r.header.answer_date == "2025-12-08" and r.header.letter_date == "2025-10-30"
    got = [
        (c.question, c.deadline.start.isoformat(), c.deadline.end.isoformat())
        for c in r.commitments
        if c.deadline
    ]
    assert got == [(1, "2026-03-01", "2026-06-30"), (1, "2025-12-08", "2026-01-31")]  # costs in Q2 are not
    assert [(m.number, m.entry) for m in r.markers] == [(1, None), (2, 2)]
    keys = {(x.dossier, x.toevoeging, x.number) for x in r.references}
    assert {("34775", "IX", 8), ("31066", None, 490), ("31066", None, 470)} <= keys


def test_hard_line_wraps_do_not_break_phrases() -> None:
    text = (
        "De minister heeft deze vragen beantwoord bij brief van 12 september 2022.\n"
        "Vraag 1\nWanneer komt de agenda? Kunt u dat per\nsector aangeven?\n"
        "Antwoord op vraag 1:\nIk verwacht de agenda in het eerste\nkwartaal van 2023 te publiceren, zoals\n"
        "gevraagd in de motie van het lid\nSneller (Kamerstuk 31 865,\nnr. 207).\n"
    )
    r = parse_text(text)
    assert r.text_of(r.pairs[0].question_span) == "Wanneer komt de agenda? Kunt u dat per\nsector aangeven?"
    c = [c for c in r.commitments if c.deadline]
    assert [(x.deadline.start.isoformat(), x.deadline.end.isoformat()) for x in c] == [
        ("2023-01-01", "2023-03-31")
    ]
    assert c[0].phrase == "in het eerste\nkwartaal van 2023"  # the raw text, as written
    motion = next(x for x in r.references if x.kind == "motie")
    assert (motion.members, motion.dossier, motion.number) == (["Sneller"], "31865", 207)
