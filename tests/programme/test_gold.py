"""The seed document against the gold annotations written by hand before the extractor existed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nds.programme.parse import ParseResult, parse_text

HERE = Path(__file__).parent
GOLD = json.loads((HERE / "gold" / "seed_gold.json").read_text(encoding="utf-8"))
pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def result() -> ParseResult:
    return parse_text((HERE / "fixtures" / "seed.txt").read_text(encoding="utf-8"))


def prf(pred: set[Any], gold: set[Any]) -> tuple[float, float, str]:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(gold) if gold else 1.0
    return p, r, f"P={p:.3f} R={r:.3f} (tp={tp}, predicted={len(pred)}, gold={len(gold)})"


def test_seed_unchanged(result: ParseResult) -> None:
    assert result.sha256 == GOLD["sha256"]


def test_exactly_107_pairs_with_gold_split_offsets(result: ParseResult, scores: dict[str, str]) -> None:
    assert [p.number for p in result.pairs] == list(range(1, 108))
    exact = sum(
        1
        for p, g in zip(result.pairs, GOLD["pairs"], strict=True)
        if p.split == g["answer_start"]
        and p.question_span == (g["question_start"], g["question_end"])
        and p.answer_span
        and p.answer_span[1] == g["answer_end"]
    )
    scores["pairs"] = f"{len(result.pairs)} pairs, {exact}/107 split offsets exact"
    assert exact == 107


def test_document_header(result: ParseResult) -> None:
    h, g = result.header, GOLD["document"]
    assert (h.nummer, h.datum, h.zaak, h.indiener) == (g["nummer"], g["datum"], g["zaak"], g["indiener"])
    assert (h.vastgesteld, h.letter_date, h.answer_date) == (
        g["vastgesteld"],
        g["letter_date"],
        g["answer_date"],
    )
    assert h.dossier and h.dossier["number"] == 1401 and h.versie == 2
    assert result.anchor is not None and result.anchor.isoformat() == g["answer_date"]


def test_cross_references(result: ParseResult, scores: dict[str, str]) -> None:
    pred = {(p.number, "see", n) for p in result.pairs for n in p.see} | {
        (p.number, "delegates_to", p.delegates_to) for p in result.pairs if p.delegates_to is not None
    }
    gold = {(g["number"], "see", n) for g in GOLD["pairs"] for n in g["see"]} | {
        (g["number"], "delegates_to", g["delegates_to"])
        for g in GOLD["pairs"]
        if g["delegates_to"] is not None
    }
    p, r, line = prf(pred, gold)
    scores["cross-references"] = line
    assert p >= 0.95 and r >= 0.95


def _overlap(a: list[int] | tuple[int, int], b: list[int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_dated_commitments(result: ParseResult, scores: dict[str, str]) -> None:
    pred = [c for c in result.commitments if c.deadline is not None]
    gold = GOLD["commitments_dated"]
    matched_gold: set[int] = set()
    tp = 0
    for c in pred:
        for i, g in enumerate(gold):
            if i in matched_gold or g["question"] != c.question or not _overlap(c.span, g["span"]):
                continue
            if (c.deadline.start.isoformat(), c.deadline.end.isoformat()) == (
                g["deadline"]["start"],
                g["deadline"]["end"],
            ):
                matched_gold.add(i)
                tp += 1
                break
    p = tp / len(pred) if pred else 1.0
    r = tp / len(gold)
    scores["dated commitments"] = (
        f"P={p:.3f} R={r:.3f} (exact intervals; tp={tp}, predicted={len(pred)}, gold={len(gold)})"
    )
    assert p >= 0.9 and r >= 0.9


def test_dated_commitment_actors(result: ParseResult, scores: dict[str, str]) -> None:
    gold = {(g["question"], g["deadline"]["end"], g["phrase"]): g["actor"] for g in GOLD["commitments_dated"]}
    pred = {
        (c.question, c.deadline.end.isoformat(), c.phrase): c.actor for c in result.commitments if c.deadline
    }
    agree = sum(1 for k, v in gold.items() if pred.get(k) == v)
    scores["commitment actors"] = f"{agree}/{len(gold)} actors as in gold"
    assert agree >= 0.9 * len(gold)


def test_undated_commitments_reported(result: ParseResult, scores: dict[str, str]) -> None:
    gold = GOLD["commitments_undated"]
    pred = [c for c in result.commitments if c.deadline is None]
    hit = sum(
        1 for g in gold if any(c.question == g["question"] and _overlap(c.span, g["span"]) for c in pred)
    )
    correct = sum(
        1 for c in pred if any(c.question == g["question"] and _overlap(c.span, g["span"]) for g in gold)
    )
    scores["undated commitments"] = (
        f"P={correct / max(1, len(pred)):.3f} R={hit / len(gold):.3f} "
        f"(no threshold; predicted={len(pred)}, gold={len(gold)})"
    )
    vague = [c for c in pred if c.vague]
    assert [c.question for c in vague] == [g["question"] for g in gold if g["vague"]]
    assert hit >= 0.75 * len(gold)


def test_not_commitments(result: ParseResult) -> None:
    for g in GOLD["not_commitments"]:
        bad = [
            c
            for c in result.commitments
            if c.question == g["question"] and c.deadline is not None and _overlap(c.span, g["span"])
        ]
        assert not bad, (g["reason"], g["text"])


def _ref_key(r: dict[str, Any]) -> tuple[Any, ...]:
    if r["number"] is not None:
        return ("n", r["dossier"], r["toevoeging"], r["number"])
    return ("m", tuple(sorted(m.lower() for m in r["members"])))


def test_references(result: ParseResult, scores: dict[str, str]) -> None:
    pred = {
        _ref_key({"number": r.number, "dossier": r.dossier, "toevoeging": r.toevoeging, "members": r.members})
        for r in result.references
    }
    gold = {_ref_key(r) for r in GOLD["references"]}
    p, r, line = prf(pred, gold)
    scores["references"] = line
    assert p >= 0.9 and r >= 0.9
    kinds = {(x.dossier, x.number): x.kind for x in result.references if x.number}
    assert kinds[("36740", 21)] == "motie" and kinds[("26643", 1366)] == "kamerstuk"


def test_footnote_links_confirmed_only(result: ParseResult, scores: dict[str, str]) -> None:
    fn = GOLD["footnotes"]
    assert [m.number for m in result.markers] == [m["marker"] for m in fn["markers"]]
    assert [m.offset for m in result.markers] == [m["offset"] for m in fn["markers"]]
    assert len(result.footnotes) == len(fn["entries"])
    linked = {m.number: m.entry for m in result.markers if m.entry}
    true = {int(k): v for k, v in fn["true_links"].items()}
    wrong = {k: v for k, v in linked.items() if true.get(k) != v}
    scores["footnote links"] = (
        f"{len(linked)} confirmed, {len(wrong)} wrong, "
        f"{len(true) - len(linked)} of {len(true)} true links left flagged"
    )
    assert not wrong
    assert linked == {int(k): v for k, v in fn["confirmed_links"].items()}
    codes = [w.code for w in result.warnings]
    assert "footnote_count" in codes and "footnote_unlinked" in codes


def test_q45_lost_list_flagged(result: ParseResult) -> None:
    assert any(w.code == "lost_list" and w.question == 45 for w in result.warnings)
    assert result.partial
