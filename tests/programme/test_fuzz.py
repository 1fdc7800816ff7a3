"""Property tests: any text parses without an exception, and every reported span points into the raw text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nds.programme.parse import parse_text

pytestmark = pytest.mark.unit

PIECES = [
    "1 | ",
    "2 | ",
    " |\n",
    "Vraag 3\n",
    "Antwoord op vraag 3:\n",
    "?",
    ". ",
    "\n",
    "\u00a0",
    "\u2019",
    "\u21a9\ufe0e\n",
    "Zie het antwoord op vraag 2.",
    "eind 2026",
    "in het vierde kwartaal",
    "motie ",
    "van de leden ",
    "Kathmann",
    "Kamerstuk 36 574, nr. 13",
    "36740-VII-21",
    "Horizon8",
    "202211",
    "zo spoedig mogelijk",
    "niet",
    "kosten",
    "Ik zal",
    "voor de zomer",
    "Prinsjesdag",
    "Nummer: 2025D1, ",
    "datum: 2025-09-26",
    "- Indiener: A. B, minister\n",
    "vóór 2027",
    "Q4 2026",
    "binnen 3 maanden",
]

texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(PIECES), max_size=60).map("".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_parses_and_spans_point_into_raw(text: str) -> None:
    r = parse_text(text)
    raw = r.raw
    data = r.to_json()  # serialisable
    assert set(data) >= {"document", "pairs", "commitments", "references", "warnings"}
    for p in r.pairs:
        assert 0 <= p.question_span[0] <= p.question_span[1] <= len(raw)
        if p.answer_span:
            assert p.question_span[1] <= p.answer_span[0] <= p.answer_span[1] <= len(raw)
    for c in r.commitments:
        assert raw[c.span[0] : c.span[1]].strip() == c.text
        if c.deadline:
            assert c.deadline.start <= c.deadline.end
    for m in r.markers:
        assert raw[m.offset : m.offset + m.length] == str(m.number)
    for w in r.warnings:
        assert w.message
