"""Every row of the deadline table (data/deadlines.toml, data/calendar.toml), also phrases the seed lacks."""

from __future__ import annotations

from datetime import date

import pytest

from nds.programme.timex import find_time_expressions, prinsjesdag, recess

pytestmark = pytest.mark.unit
A = date(2025, 9, 26)  # the seed's answering letter


def one(text: str, anchor: date = A) -> tuple[str, str] | None:
    found = [t for t in find_time_expressions(text, 0, len(text), anchor) if t.interval]
    assert len(found) == 1, (text, found)
    iv = found[0].interval
    assert iv is not None
    return iv.start.isoformat(), iv.end.isoformat()


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("in 2026", "2026-01-01", "2026-12-31"),
        ("eind 2026", "2026-10-01", "2026-12-31"),
        ("Eind 2025", "2025-10-01", "2025-12-31"),
        ("einde van 2027", "2027-10-01", "2027-12-31"),
        ("begin 2026", "2026-01-01", "2026-03-31"),
        ("medio 2026", "2026-05-01", "2026-08-31"),
        ("halverwege 2026", "2026-05-01", "2026-08-31"),
        ("in het voorjaar van 2026", "2026-03-01", "2026-06-30"),
        ("In het najaar van 2025", "2025-09-01", "2025-12-31"),
        ("najaar 2026", "2026-09-01", "2026-12-31"),
        ("in het eerste kwartaal van 2026", "2026-01-01", "2026-03-31"),
        ("in het tweede kwartaal van 2026", "2026-04-01", "2026-06-30"),
        ("het derde kwartaal 2026", "2026-07-01", "2026-09-30"),
        ("In het vierde kwartaal van dit jaar", "2025-10-01", "2025-12-31"),
        ("in het laatste kwartaal van volgend jaar", "2026-10-01", "2026-12-31"),
        ("Q2 2026", "2026-04-01", "2026-06-30"),
        ("in de eerste helft van 2026", "2026-01-01", "2026-06-30"),
        ("in de tweede helft van 2026", "2026-07-01", "2026-12-31"),
        ("in de loop van 2026", "2026-01-01", "2026-12-31"),
        ("in de loop van 2025", "2025-09-26", "2025-12-31"),  # from the anchor when in the same year
        ("dit jaar", "2025-09-26", "2025-12-31"),
        ("volgend jaar", "2026-01-01", "2026-12-31"),
        ("uiterlijk 1 maart 2026", "2025-09-26", "2026-03-01"),
        ("vóór 1 maart 2026", "2025-09-26", "2026-02-28"),
        ("vóór 2027", "2025-09-26", "2026-12-31"),
        ("op 3 november 2025", "2025-11-03", "2025-11-03"),
        ("in december 2025", "2025-12-01", "2025-12-31"),
        ("eind november 2025", "2025-11-21", "2025-11-30"),
        ("begin februari 2026", "2026-02-01", "2026-02-10"),
        ("binnen drie maanden", "2025-09-26", "2025-12-26"),
        ("binnen 6 weken", "2025-09-26", "2025-11-07"),
        ("voor de zomer", "2025-09-26", "2026-07-02"),  # zomerreces 2026 starts 3 July
        ("voor het zomerreces van 2026", "2026-01-01", "2026-07-02"),
        ("na de zomer", "2025-09-02", "2025-10-31"),  # zomerreces 2025 ended 1 Sep; still running
        ("voor het kerstreces", "2025-09-26", "2025-12-18"),  # kerstreces 2025 starts 19 Dec
        ("rond de jaarwisseling", "2025-12-15", "2026-01-15"),
        ("op Prinsjesdag 2026", "2026-09-15", "2026-09-15"),
        ("rond Prinsjesdag 2026", "2026-09-08", "2026-09-22"),
        ("voor Prinsjesdag", "2025-09-26", "2026-09-14"),  # 2025's (16 Sep) is past: the next one
        ("het vierde kwartaal", "2025-10-01", "2025-12-31"),  # no year: the first not ended before the anchor
        ("het eerste kwartaal", "2026-01-01", "2026-03-31"),
        ("in het voorjaar", "2026-03-01", "2026-06-30"),
        ("in de lente van 2026", "2026-03-01", "2026-06-30"),
        ("in de herfst", "2025-09-01", "2025-12-31"),
        ("in het eerste halfjaar van 2026", "2026-01-01", "2026-06-30"),
        ("voor het einde van het jaar", "2025-10-01", "2025-12-31"),
        ("volgende week", "2025-09-29", "2025-10-05"),
        ("deze maand", "2025-09-26", "2025-09-30"),
        ("volgende maand", "2025-10-01", "2025-10-31"),
        ("bij de Voorjaarsnota", "2026-04-01", "2026-06-01"),
        ("bij de Voorjaarsnota van 2027", "2027-04-01", "2027-06-01"),
        ("voor de Najaarsnota", "2025-09-26", "2025-10-31"),
        ("met de Miljoenennota", "2026-09-15", "2026-09-15"),
        ("in de begroting voor 2027", "2026-09-15", "2026-09-15"),  # presented on Prinsjesdag 2026
        ("op Verantwoordingsdag", "2026-05-20", "2026-05-20"),  # third Wednesday of May
    ],
)
def test_phrase_interval(phrase: str, start: str, end: str) -> None:
    assert one(phrase) == (start, end)


@pytest.mark.parametrize(
    "phrase",
    [
        "zo spoedig mogelijk",
        "zo snel mogelijk",
        "in de komende maanden",
        "na de verkiezingen",
        "in de volgende verzamelbrief",
        "binnenkort",
        "op korte termijn",
        "te zijner tijd",
        "zo spoedig",
    ],
)
def test_vague_phrases_have_no_interval(phrase: str) -> None:
    found = find_time_expressions(phrase, 0, len(phrase), A)
    assert len(found) == 1 and found[0].vague and found[0].interval is None


@pytest.mark.parametrize(
    "text",
    [
        "het Rijkscloudbeleid 2022",
        "de uitvoeringsagenda voor 2026 - 2027",
        "in de afgelopen 25 jaar",
        "ISO 27001 en 27002",
        "salarisschalen 8 tot en met 13",
        "de agenda voor 2026 wordt vastgesteld",  # unaccented "voor 2026" = "for 2026"
        "na 1 maart 2026",  # after a date is not a deadline
        "vanaf 1 januari 2027",
    ],
)
def test_not_time_phrases(text: str) -> None:
    assert [t for t in find_time_expressions(text, 0, len(text), A) if t.interval] == []


def test_past_markers() -> None:
    t = "de door uw Kamer eerder dit jaar aangenomen motie"
    found = find_time_expressions(t, 0, len(t), A)
    assert [x.past_marker for x in found] == [True]


def test_prinsjesdag_is_third_tuesday_of_september() -> None:
    assert prinsjesdag(2025) == date(2025, 9, 16)
    assert prinsjesdag(2026) == date(2026, 9, 15)
    assert prinsjesdag(2030) == date(2030, 9, 17)
    for y in range(2020, 2040):
        d = prinsjesdag(y)
        assert d.weekday() == 1 and d.month == 9 and 15 <= d.day <= 21


def test_recess_calendar_and_estimated_fallback() -> None:
    assert recess("zomerreces", 2024) == (date(2024, 7, 5), date(2024, 9, 2), False)
    assert recess("kerstreces", 2023) == (date(2023, 12, 22), date(2024, 1, 15), False)
    first, last, estimated = recess("zomerreces", 2031)
    assert estimated and first.month == 7 and first.weekday() == 4 and last.month == 9 and last.weekday() == 0
    t = "voor de zomer van 2031"
    iv = find_time_expressions(t, 0, len(t), A)[0].interval
    assert iv is not None and iv.estimated and iv.end == first.replace(day=first.day - 1)


def test_anchor_moves_relative_phrases() -> None:
    assert one("dit jaar", date(2026, 3, 1)) == ("2026-03-01", "2026-12-31")
    assert one("het vierde kwartaal", date(2026, 3, 1)) == ("2026-10-01", "2026-12-31")
