"""Malformed input: a clear message and a flagged partial result, never a traceback, in bounded time."""

from __future__ import annotations

from pathlib import Path

import pytest

from nds.programme.ingest import MAX_BYTES, InputError, decode, read_document
from nds.programme.parse import parse_text

pytestmark = pytest.mark.unit


def codes(text: str) -> list[str]:
    return [w.code for w in parse_text(text).warnings]


def test_empty_file() -> None:
    r = parse_text("")
    assert r.pairs == [] and r.partial and [w.code for w in r.warnings] == ["empty"]
    assert r.to_json()["warnings"][0]["message"] == "het document is leeg"


def test_not_a_qa_list() -> None:
    r = parse_text(
        "Geachte voorzitter,\n\nHierbij stuur ik u de brief.\n\nMet vriendelijke groet,\nDe minister\n"
    )
    assert r.pairs == [] and r.partial and "not_a_qa_list" in [w.code for w in r.warnings]


def test_row_without_answer() -> None:
    r = parse_text("1 | Wat is het plan? |\n2 | Wanneer? Eind 2026. |\n")
    assert r.pairs[0].answer_span is None and r.pairs[1].answer_span is not None
    assert "no_answer" in [w.code for w in r.warnings] and r.partial
    assert r.to_json()["pairs"][0]["answer"] is None


def test_row_without_question_mark_and_unclosed_row() -> None:
    c = codes("1 | Een stelling zonder vraagteken. |\n2 | Wat nu? Niets\n")
    assert "no_question_mark" in c and "row_not_closed" in c


def test_numbering_gap_duplicate_and_order() -> None:
    c = codes("1 | A? B. |\n2 | C? D. |\n4 | E? F. |\n4 | G? H. |\n3 | I? J. |\n")
    assert c.count("gap") == 1 and c.count("duplicate") == 1 and c.count("out_of_order") == 1
    r = parse_text("1 | A? B. |\n2 | C? D. |\n4 | E? F. |\n")
    gap = next(w for w in r.warnings if w.code == "gap")
    assert "ontbreekt: 3" in gap.message and len(r.pairs) == 3


def test_lost_list_flagged() -> None:
    r = parse_text("1 | Welke risico's? Risico's die kunnen optreden zijn:\nEen mix is belangrijk. |\n")
    assert "lost_list" in [w.code for w in r.warnings]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "unit",
    [
        "x",
        "Kamerstuk 36 574, ",
        "motie van de leden A en ",
        "1 | ",
        "in het ",
        "die de zal ",
        "a1 ",
        "? ",
        "de heeft een aantal ",
        "zal ik eind 2026 ",
        "voor de zomer van ",
    ],
)
def test_one_megabyte_single_line_finishes(unit: str) -> None:
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    r = parse_text(text)  # bounded by the timeout marker, not a speed assertion
    assert isinstance(r.to_json(), dict)


def test_size_cap_and_binary(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_BYTES + 1))
    with pytest.raises(InputError, match="te groot"):
        read_document(big)
    with pytest.raises(InputError, match="NUL"):
        decode(b"\x00\x01binary")
    with pytest.raises(InputError, match="kan"):
        read_document(tmp_path / "missing.txt")
    assert decode("caf\u00e9".encode("cp1252")) == "caf\u00e9"


def test_missing_anchor_is_flagged_and_uses_the_given_clock() -> None:
    from datetime import date

    r = parse_text("1 | Wanneer? Ik stuur de brief dit jaar. |\n", today=date(2027, 5, 1))
    assert "no_anchor" in [w.code for w in r.warnings] and r.partial
    c = r.commitments[0]
    assert c.deadline is not None
    assert (c.deadline.start, c.deadline.end) == (date(2027, 5, 1), date(2027, 12, 31))
