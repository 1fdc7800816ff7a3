"""One parliamentary document, end to end: text -> pairs, cross-references, commitments, references."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nds.programme import commitments as commitments_mod
from nds.programme import footnotes, references, split, xrefs
from nds.programme.ingest import Header, InputError, Text, decode, normalise, parse_header
from nds.programme.model import Commitment, Footnote, Marker, Pair, Reference, Warning_


@dataclass
class ParseResult:
    raw: str
    layout: str
    header: Header
    anchor: date | None
    pairs: list[Pair]
    commitments: list[Commitment]
    references: list[Reference]
    footnotes: list[Footnote]
    markers: list[Marker]
    warnings: list[Warning_] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw.encode("utf-8")).hexdigest()

    @property
    def partial(self) -> bool:
        return any(w.code in PARTIAL_CODES for w in self.warnings)

    def text_of(self, span: tuple[int, int] | None) -> str:
        return self.raw[span[0] : span[1]] if span else ""

    def to_json(self) -> dict[str, Any]:
        h = self.header
        doc = {
            "nummer": h.nummer,
            "title": h.title,
            "soort": h.soort,
            "datum": h.datum,
            "bijgewerkt": h.bijgewerkt,
            "versie": h.versie,
            "kamerstuk": h.dossier,
            "zaak": h.zaak,
            "indiener": h.indiener,
            "indiener_function": h.indiener_function,
            "voortouwcommissie": h.voortouwcommissie,
            "persons": h.persons,
            "activities": h.activities,
            "vastgesteld": h.vastgesteld,
            "letter_date": h.letter_date,
            "letter_subject": h.letter_subject,
            "answer_date": h.answer_date,
            "answered_by": h.answered_by,
            "committee": h.committee,
            "layout": self.layout,
            "anchor": self.anchor.isoformat() if self.anchor else None,
            "sha256": self.sha256,
            "partial": self.partial,
        }
        pairs = [
            {
                "number": p.number,
                "question": self.text_of(p.question_span),
                "answer": self.text_of(p.answer_span) if p.answer_span else None,
                "split": p.split,
                "question_span": list(p.question_span),
                "answer_span": list(p.answer_span) if p.answer_span else None,
                "see": p.see,
                "delegates_to": p.delegates_to,
                "resolved_to": p.resolved_to,
            }
            for p in self.pairs
        ]
        refs = [
            {
                "kind": r.kind,
                "text": r.text,
                "dossier": r.dossier,
                "toevoeging": r.toevoeging,
                "number": r.number,
                "members": r.members,
                "occurrences": r.occurrences,
                "flags": r.flags,
            }
            for r in self.references
        ]
        notes = [{"number": f.number, "text": f.text, "span": list(f.span)} for f in self.footnotes]
        marks = [
            {
                "number": m.number,
                "offset": m.offset,
                "question": m.question,
                "context": m.context,
                "entry": m.entry,
                "candidate": m.candidate,
            }
            for m in self.markers
        ]
        return {
            "document": doc,
            "pairs": pairs,
            "commitments": [c.to_json() for c in self.commitments],
            "references": refs,
            "footnotes": notes,
            "footnote_markers": marks,
            "warnings": [w.to_json() for w in self.warnings],
        }


PARTIAL_CODES = {
    "footnote_too_many",
    "not_a_qa_list",
    "no_answer",
    "gap",
    "duplicate",
    "out_of_order",
    "row_not_closed",
    "no_question_mark",
    "lost_list",
    "empty",
    "no_anchor",
    "answer_number_mismatch",
}


def _question_of(pairs: list[Pair], pos: int) -> tuple[str, int | None]:
    for p in pairs:
        if p.question_span[0] <= pos < p.question_span[1]:
            return "question", p.number
        if p.answer_span and p.answer_span[0] <= pos < p.answer_span[1]:
            return "answer", p.number
    return "other", None


def parse_text(raw: str, anchor: date | None = None, today: date | None = None) -> ParseResult:
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = Text(raw, normalise(raw))
    if not raw.strip():
        return ParseResult(
            raw, "none", Header(), anchor, [], [], [], [], [], [Warning_("empty", "het document is leeg")]
        )
    sp = split.split(text.norm)
    warnings = list(sp.warnings)
    header = parse_header(text.norm, sp.body_start)
    if anchor is None:
        for d in (header.answer_date, header.datum, header.vastgesteld):
            if d:
                anchor = date.fromisoformat(d)
                break
    if anchor is None:
        anchor = today or date.today()
        warnings.append(
            Warning_(
                "no_anchor",
                "geen datum van de antwoordbrief gevonden; relatieve termijnen zijn "
                f"berekend vanaf {anchor.isoformat()}",
            )
        )
    pairs = sp.pairs
    markers = footnotes.find_markers(text.norm, pairs)
    # glued footnote digits must not read as numbers or years later on
    text.blank([(m.offset, m.offset + m.length) for m in markers])
    entries = footnotes.find_entries(text.norm, sp.body_end)
    # hard line wraps inside paragraphs must not break phrases ("in het eerste\nkwartaal"): the
    # content stages read a view with newlines as spaces (same length, so spans stay exact)
    flat = text.norm.replace("\n", " ")
    warnings += xrefs.resolve(flat, pairs)

    found: list[tuple[Reference, tuple[int, int], str, int | None]] = []
    for ref, span in references.find_references(flat, 0, sp.body_start):
        found.append((ref, span, "intro", None))
    for ref, span in references.find_references(flat, sp.body_start, sp.body_end):
        where, q = _question_of(pairs, span[0])
        found.append((ref, span, where, q))
    entry_refs: dict[int, list[Reference]] = {}
    for e in entries:
        for ref, span in references.find_references(flat, e.span[0], e.span[1]):
            found.append((ref, span, "footnote", None))
            entry_refs.setdefault(e.number, []).append(ref)
    tied: dict[tuple[str | None, str | None, int], set[str]] = {}
    for ref, _span, _w, _q in found:
        if ref.kind == "motie" and ref.number is not None:
            tied.setdefault((ref.dossier, ref.toevoeging, ref.number), set()).update(ref.members)
    big = len(markers) * len(entries) > footnotes.MAX_LINK_CELLS
    scores = (
        []
        if big
        else [
            [
                footnotes.agreement(
                    m.context,
                    e.text,
                    tied,
                    [
                        (r.dossier, r.toevoeging, r.number)
                        for r in entry_refs.get(e.number, [])
                        if r.number is not None
                    ],
                )
                for e in entries
            ]
            for m in markers
        ]
    )
    warnings += footnotes.link(markers, entries, scores)
    # a motion named right before a confirmed marker takes the Kamerstuk of its footnote
    by_offset = {m.offset: m for m in markers}
    for ref, span, _w, _q in found:
        if ref.kind != "motie" or ref.number is not None:
            continue
        mk = next((by_offset[o] for o in range(span[1], span[1] + 3) if o in by_offset), None)
        if mk is None:
            continue
        kst = [r for r in entry_refs.get(mk.entry or -1, []) if r.number is not None]
        if mk.entry and kst:
            ref.dossier, ref.toevoeging, ref.number = kst[0].dossier, kst[0].toevoeging, kst[0].number
        elif not mk.entry:
            ref.flags.append(
                f"voetnoot {mk.number} niet bevestigd"
                + (f" (op volgorde: voetnoot {mk.candidate})" if mk.candidate else "")
            )
    refs = references.merge(found)
    indiener = header.indiener or "onbekend (Indiener niet gevonden)"
    if header.indiener is None and pairs:
        warnings.append(Warning_("no_indiener", "geen Indiener gevonden; 'ik'/'wij' blijven onopgelost"))
    commits = commitments_mod.extract(raw, flat, pairs, anchor, indiener)
    return ParseResult(raw, sp.layout, header, anchor, pairs, commits, refs, entries, markers, warnings)


def parse_bytes(data: bytes, anchor: date | None = None) -> ParseResult:
    return parse_text(decode(data), anchor)


__all__ = ["InputError", "ParseResult", "parse_bytes", "parse_text"]
