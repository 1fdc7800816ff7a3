"""Kamerstuk, Handelingen and motion references, normalised to (dossier, toevoeging, number).

Forms: "Kamerstuk 36 574, nr. 13", "Kamerstuk 26643-1366", "Kamerstuk 36740-VII, nr. 21",
"Kamerstuk II 2024/25, 36740 VII, nr. 27", "Kamerstuk 2023/2024, 26 643 nr. 1125", "36740-VII-21",
"29 435, nr. 256", "26 643 en 32 761, nr. 640" (one number, two dossiers), "Aanhangsel Handelingen II
2024/25, nr. 1234", "Handelingen II 2024/25, nr. 45, item 12", and motions: "de motie van het lid
Kathmann", "de leden Thijssen en Bruyning", "motie Six Dijkstra", "motie Stoffer c.s." with their
Kamerstuk where the same sentence gives one.
"""

from __future__ import annotations

import re
from typing import Any

from nds.programme.model import Reference
from nds.programme.split import next_terminator

_D = r"(?<![\d/])\d{2}[ ]?\d{3}(?!\d)"
_T = r"(?:[IVXL]{1,6}|[A-Z]{1,2})(?![\w])"
_KW = r"(?:[Kk]amerstuk(?:ken)?(?:[ ]+I{1,2})?(?:[ ]+\d{4}/\d{2,4})?,?[ ]+)"
NR_FORM = re.compile(
    r"(?P<kw>"
    + _KW
    + r")?(?P<ds>"
    + _D
    + r"(?:[ ]?[- ][ ]?"
    + _T
    + r")?(?:[ ]+en[ ]+"
    + _D
    + r"(?:[ ]?[- ][ ]?"
    + _T
    + r")?){0,3})[ ]?,?[ ]+nr\.?[ ]?(?P<n>\d{1,5})(?!\d)"
)
DASH_FORM = re.compile(
    r"(?P<kw>[Kk]amerstuk(?:ken)?[ ]+)?(?<![\d-])(?P<d>\d{5})-(?:(?P<t>[IVXL]{1,6}|[A-Z]{1,2})-)?"
    r"(?P<n>\d{1,5})(?![\d-])"
)
AANHANGSEL = re.compile(
    r"Aanhangsel(?:[ ]+(?:van[ ]+de[ ]+)?Handelingen)?(?:[ ]+I{1,2})?(?:[ ]+(?P<vj>\d{4}/\d{2,4}))?"
    r",?[ ]+nr\.?[ ]?(?P<n>\d{1,5})"
)
HANDELINGEN = re.compile(
    r"(?<!Aanhangsel )Handelingen[ ]+I{1,2}[ ]+(?P<vj>\d{4}/\d{2,4}),?[ ]+nr\.?[ ]?(?P<n>\d{1,4})"
    r"(?:,[ ]+item[ ]+(?P<item>\d{1,3}))?"
)
_NAME = r"(?:(?:[Vv]an|[Dd]e|[Dd]er|[Dd]en|[Tt]er|[Tt]en)[ ]){0,2}[A-Z][\w'-]{1,40}(?:[ ][A-Z][\w'-]{1,40})?"
_WHO = r"(?:(?:van[ ]+)?(?:het[ ]+lid|de[ ]+leden)[ ]+)"
MOTION = re.compile(
    r"(?<![\w])[Mm]oties?[ ]+"
    + _WHO
    + r"?(?P<names>"
    + _NAME
    + r"(?:(?:[ ]*,[ ]*|[ ]+en[ ]+)"
    + _NAME
    + r"){0,6})(?P<cs>[ ]+c\.s\.)?"
)
MORE_MOVERS = re.compile(
    r"[ ]+en[ ]+(?:van[ ]+)?(?:het[ ]+lid|de[ ]+leden)[ ]+(?P<names>"
    + _NAME
    + r"(?:(?:[ ]*,[ ]*|[ ]+en[ ]+)"
    + _NAME
    + r"){0,6})"
)
NOT_A_NAME = {"kamer", "tweede", "eerste", "nds", "regering", "staten", "generaal", "over", "om"}


def _dossier(s: str) -> tuple[str, str | None]:
    m = re.match(r"(\d{2})[ ]?(\d{3})(?:[ ]?[- ][ ]?(\S+))?", s.strip())
    assert m
    return m.group(1) + m.group(2), m.group(3)


def _names(s: str) -> list[str]:
    parts = re.split(r"[ ]*,[ ]*|[ ]+en[ ]+", s.strip())
    return [p.strip() for p in parts if p.strip() and p.strip().split()[-1].lower() not in NOT_A_NAME]


def find_references(norm: str, start: int, end: int) -> list[tuple[Reference, tuple[int, int]]]:
    """Every reference occurrence in norm[start:end] (not yet de-duplicated)."""
    out: list[tuple[Reference, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in NR_FORM.finditer(norm, start, end):
        ds = re.split(r"[ ]+en[ ]+", m.group("ds"))
        for d in ds:
            dossier, toev = _dossier(d)
            out.append(
                (
                    Reference("kamerstuk", norm[m.start() : m.end()], dossier, toev, int(m.group("n"))),
                    (m.start(), m.end()),
                )
            )
        taken.append((m.start(), m.end()))
    for m in DASH_FORM.finditer(norm, start, end):
        if free(m.start(), m.end()):
            out.append(
                (
                    Reference("kamerstuk", m.group(0), m.group("d"), m.group("t"), int(m.group("n"))),
                    (m.start(), m.end()),
                )
            )
            taken.append((m.start(), m.end()))
    for m in AANHANGSEL.finditer(norm, start, end):
        if free(m.start(), m.end()):
            out.append(
                (
                    Reference("aanhangsel", m.group(0), None, m.group("vj"), int(m.group("n"))),
                    (m.start(), m.end()),
                )
            )
            taken.append((m.start(), m.end()))
    for m in HANDELINGEN.finditer(norm, start, end):
        if free(m.start(), m.end()):
            out.append(
                (
                    Reference("handelingen", m.group(0), None, m.group("vj"), int(m.group("n"))),
                    (m.start(), m.end()),
                )
            )
    kst = sorted(((span, ref) for ref, span in out if ref.kind == "kamerstuk"), key=lambda x: x[0])
    motions: list[tuple[Reference, tuple[int, int]]] = []
    for m in MOTION.finditer(norm, start, end):
        groups = [(m.group("names"), m.start(), m.end())]
        more = MORE_MOVERS.match(norm, m.end(), end)
        while more:
            groups.append((more.group("names"), more.start(), more.end()))
            more = MORE_MOVERS.match(norm, more.end(), end)
        for names, s, e in groups:
            members = _names(names)
            if members:
                motions.append((Reference("motie", norm[s:e].strip(), None, None, None, members), (s, e)))
    # attach the first Kamerstuk in the same sentence, before the next motion
    for i, (ref, (_s, e)) in enumerate(motions):
        nxt = motions[i + 1][1][0] if i + 1 < len(motions) else end
        term = next_terminator(norm, e, end)
        limit = min(nxt, term[0] if term else end, e + 400)
        for (ks, ke), kref in kst:
            if e <= ks < limit:
                ref.dossier, ref.toevoeging, ref.number = kref.dossier, kref.toevoeging, kref.number
                ref.occurrences.append({"text": kref.text, "span": [ks, ke]})
                break
    return out + motions


def _same_name(a: str, b: str) -> bool:
    from nds.programme.footnotes import _similar

    return _similar(a, b)


def merge(found: list[tuple[Reference, tuple[int, int], str, int | None]]) -> list[Reference]:
    """De-duplicate by (dossier, toevoeging, number), or by movers for motions without a number."""
    by_key: dict[tuple[Any, ...], Reference] = {}
    for ref, span, where, question in found:
        occ = {"text": ref.text, "span": list(span), "where": where, "question": question}
        key = ref.key()
        have = by_key.get(key)
        if have is None:
            have = Reference(
                ref.kind,
                ref.text,
                ref.dossier,
                ref.toevoeging,
                ref.number,
                list(ref.members),
                [],
                list(ref.flags),
            )
            by_key[key] = have
        if ref.kind == "motie" and have.kind != "motie":
            have.kind, have.text = "motie", ref.text
        for mbr in ref.members:
            if not any(_same_name(mbr, x) for x in have.members):
                have.members.append(mbr)
        have.occurrences.append(occ)
        for f in ref.flags:
            if f not in have.flags:
                have.flags.append(f)
    return list(by_key.values())
