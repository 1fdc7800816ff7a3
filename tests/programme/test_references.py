"""Each reference form normalised to (dossier, toevoeging, number), and de-duplication."""

from __future__ import annotations

import pytest

from nds.programme.references import find_references, merge

pytestmark = pytest.mark.unit


def refs(text: str) -> list[tuple[str, str | None, str | None, int | None]]:
    return [(r.kind, r.dossier, r.toevoeging, r.number) for r, _ in find_references(text, 0, len(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(Kamerstuk 36 574, nr. 13)", ("36574", None, 13)),
        ("(Kamerstuk 26643-1366)", ("26643", None, 1366)),
        ("Kamerstuk 36740-VII, nr. 21", ("36740", "VII", 21)),
        ("Kamerstuk II 2024/25, 36740 VII, nr. 27", ("36740", "VII", 27)),
        ("Kamerstuk 2023/2024, 26 643 nr. 1125.", ("26643", None, 1125)),
        ("Kamerstukken II 2024/25, 36 574, nr. 3", ("36574", None, 3)),
        ("Kamerstuk II 2024/25, 36740, nr. 9", ("36740", None, 9)),
        ("(Kamerstuk 36740-VII-21)", ("36740", "VII", 21)),
        ("zie 36740-VII-21 hierover", ("36740", "VII", 21)),
        ("motie (29 435, nr. 256)", ("29435", None, 256)),
        ("(Kamerstuk 36 600 XII, nr. 48)", ("36600", "XII", 48)),
        ("Kamerstuk 36200-A, nr. 5", ("36200", "A", 5)),
    ],
)
def test_kamerstuk_forms(text: str, expected: tuple[str, str | None, int]) -> None:
    found = [r for r in refs(text) if r[0] == "kamerstuk"]
    assert [(d, t, n) for _k, d, t, n in found] == [expected]


def test_multi_dossier_form() -> None:
    found = refs("Kamerstuk 26 643 en 32 761, nr. 640")
    assert {(d, n) for _k, d, _t, n in found} == {("26643", 640), ("32761", 640)}


def test_handelingen_and_aanhangsel() -> None:
    assert refs("Aanhangsel Handelingen II 2024/25, nr. 2345") == [("aanhangsel", None, "2024/25", 2345)]
    assert refs("Handelingen II 2024/25, nr. 45, item 12") == [("handelingen", None, "2024/25", 45)]


@pytest.mark.parametrize(
    ("text", "members", "number"),
    [
        ("de aangenomen motie van het lid Kathmann (Kamerstuk 36740-VII-21) om", ["Kathmann"], 21),
        (
            "de motie van de leden Thijssen en Bruyning over per 2029 minstens 30% (Kamerstuk 36 574, nr. 5)",
            ["Thijssen", "Bruyning"],
            5,
        ),
        ("de aangenomen motie Six Dijkstra, die oproept", ["Six Dijkstra"], None),
        ("de motie Stoffer c.s. (Kamerstuk 36 600 XII, nr. 48)", ["Stoffer"], 48),
        ("de motie van het lid Van der Plas over X", ["Van der Plas"], None),
    ],
)
def test_motions(text: str, members: list[str], number: int | None) -> None:
    motions = [r for r, _ in find_references(text, 0, len(text)) if r.kind == "motie"]
    assert len(motions) == 1
    assert motions[0].members == members and motions[0].number == number


def test_two_motions_in_one_phrase_and_generic_mentions() -> None:
    t = (
        "Ook wordt gevolg gegeven aan de moties van het lid Sneller  en van de leden Thijssen en Bruyning  "
        "over X."
    )
    motions = [r.members for r, _ in find_references(t, 0, len(t)) if r.kind == "motie"]
    assert motions == [["Sneller"], ["Thijssen", "Bruyning"]]
    t2 = "Alle relevante moties van de Kamer worden meegenomen, ook Kamermoties."
    assert [r for r, _ in find_references(t2, 0, len(t2)) if r.kind == "motie"] == []


def test_dedup_across_forms_and_kinds() -> None:
    t = "motie van het lid Kathmann (Kamerstuk 36740-VII-21). Later: Kamerstuk 36740-VII, nr. 21."
    merged = merge([(r, s, "answer", 1) for r, s in find_references(t, 0, len(t))])
    assert len(merged) == 1
    assert merged[0].kind == "motie" and (merged[0].dossier, merged[0].toevoeging, merged[0].number) == (
        "36740",
        "VII",
        21,
    )
    assert len(merged[0].occurrences) == 3
