"""Splitting a document into numbered question/answer pairs.

Layouts handled:

- ``opentk``: the OpenTK preview, one ``N | question answer |`` row per item, a row may span lines;
- ``vraag``: "Vraag N" headings, answers labelled "Antwoord N", "Antwoord op vraag N:" or "Antwoord:",
  or not labelled at all (the answer starts after the question's last question mark);
- ``number``: bare number lines ("1") followed by the question and an "Antwoord:" label (or none).

Where question and answer share a text block, the split is the end of the run of question sentences:
everything up to the first sentence ending in "?", plus directly following sentences that also end in
"?". Answers may therefore contain question marks, and questions may hold several questions.
Every regex here is linear (no nested quantifiers) and bounded per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nds.programme.model import Pair, Warning_

ROW = re.compile(r"(?m)^(\d{1,4}) \| ")
VRAAG = re.compile(
    r"(?m)^[ ]{0,8}Vra(?:ag|gen)[ ]+(\d{1,4})((?:[ ]*(?:,|en|t/m|-)[ ]*\d{1,4}){0,20})[ ]*[:.]?[ ]*"
)
BARE = re.compile(r"(?m)^[ ]{0,8}(\d{1,4})[.)]?[ ]*$")
NUMBERED = re.compile(r"(?m)^[ ]{0,8}(\d{1,4})[.)][ ]+(?=\S)")
ANTWOORD = re.compile(r"(?m)^[ ]{0,8}Antwoord(?:[ ]+(?:op[ ]+)?(?:vraag[ ]+)?(\d{1,4}))?[ ]*[:.]?[ ]*")
ABBREVIATIONS = {
    "bijv",
    "o.a",
    "nr",
    "c.s",
    "e.d",
    "m.b.t",
    "t.a.v",
    "i.p.v",
    "d.w.z",
    "z.s.m",
    "ca",
    "art",
    "blz",
    "p",
    "jl",
    "mr",
    "dr",
    "drs",
    "ir",
    "prof",
    "e.a",
    "etc",
    "vs",
    "resp",
    "incl",
    "excl",
}
LOST_LIST = re.compile(r":[ ]*\n(?![ ]{0,8}(?:[-*\u2022\u25cf\u2013]|\d{1,2}[.)]|[a-z][.)]))")
_TERM = re.compile(r"[.?!][\"')\]]*(?=\s|$)")


@dataclass
class SplitResult:
    layout: str
    pairs: list[Pair]
    body_start: int
    body_end: int
    warnings: list[Warning_] = field(default_factory=list)


def _is_abbreviation(text: str, dot: int) -> bool:
    k = dot
    while k > 0 and (text[k - 1].isalpha() or text[k - 1] == "."):
        k -= 1
    word = text[k:dot].lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def next_terminator(text: str, pos: int, end: int) -> tuple[int, str] | None:
    """Position just after the next sentence terminator in text[pos:end] and the terminator."""
    while True:
        m = _TERM.search(text, pos, end)
        if m is None:
            return None
        ch = text[m.start()]
        if ch == "." and _is_abbreviation(text, m.start()):
            pos = m.end()
            continue
        return m.end(), ch


def question_end(text: str, start: int, end: int) -> int | None:
    """End of the leading run of question sentences in text[start:end], or None without any '?'."""
    q = text.find("?", start, end)
    if q < 0:
        return None
    pos = q + 1
    while pos < end and text[pos] in "\"')]":
        pos += 1
    while True:
        nxt = next_terminator(text, pos, end)
        if nxt is None:
            # the rest has no terminator: it is a question only if it is empty
            return pos
        after, ch = nxt
        if ch != "?":
            return pos
        pos = after


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_block(
    norm: str, number: int, start: int, q_start: int, end: int, warnings: list[Warning_]
) -> Pair:
    q_start, end = _strip(norm, q_start, end)
    qe = question_end(norm, q_start, end)
    if qe is None:
        warnings.append(
            Warning_(
                "no_question_mark",
                f"vraag {number}: geen vraagteken gevonden; de hele tekst is als vraag genomen",
                number,
            )
        )
        return Pair(number, start, (q_start, end), None)
    a_start, a_end = _strip(norm, qe, end)
    if a_start >= a_end:
        warnings.append(Warning_("no_answer", f"vraag {number}: geen antwoord gevonden", number))
        return Pair(number, start, (q_start, qe), None)
    return Pair(number, start, (q_start, qe), (a_start, a_end))


NUMBERED_NOTE = re.compile(r"[ ]{0,4}(\d{1,3})[ ]+(?![.)])\S")


def numbered_notes_start(norm: str, after: int) -> int | None:
    """Start of a trailing run of footnote lines "1 …", "2 …", … "N …" that ends the text, if any."""
    lines: list[tuple[int, str]] = []
    pos = len(norm)
    while pos > after and len(lines) < 1000:
        start = norm.rfind("\n", after, pos - 1) + 1 if pos - 1 > after else after
        start = max(start, after)
        line = norm[start:pos].rstrip("\n")
        pos = start
        if not line.strip():
            continue
        m = NUMBERED_NOTE.match(line)
        if m is None:
            break
        lines.append((start, m.group(1)))
        if m.group(1) == "1":
            numbers = [int(n) for _, n in reversed(lines)]
            return start if numbers == list(range(1, len(numbers) + 1)) else None
    return None


def _tail_start(norm: str, after: int) -> int:
    """Start of the footnote list after the last item: lines ending in the return arrow (OpenTK), or a
    trailing run of numbered footnote lines (plain Kamerstuk text)."""
    m = re.search(r"(?m)^[^\n]{0,4000}\u21a9", norm[after:])
    if m:
        return after + m.start()
    numbered = numbered_notes_start(norm, after)
    return numbered if numbered is not None else len(norm)


def _split_opentk(norm: str, rows: list[re.Match[str]]) -> SplitResult:
    warnings: list[Warning_] = []
    pairs: list[Pair] = []
    last_end = len(norm)
    for i, m in enumerate(rows):
        limit = rows[i + 1].start() if i + 1 < len(rows) else len(norm)
        # the row ends at the first line (from its start) that ends with "|"
        close = re.compile(r"\|[ ]*(?:\n|$)")
        c = close.search(norm, m.end(), limit)
        if c is None:
            warnings.append(
                Warning_("row_not_closed", f"rij {m.group(1)} is niet afgesloten met '|'", int(m.group(1)))
            )
            body_end = _tail_start(norm, m.end()) if i + 1 == len(rows) else limit
        else:
            body_end = c.start()
        if i + 1 == len(rows):
            last_end = c.end() if c else body_end
        pairs.append(_split_block(norm, int(m.group(1)), m.start(), m.end(), body_end, warnings))
    return SplitResult("opentk", pairs, rows[0].start(), _tail_start(norm, last_end), warnings)


def _split_headed(norm: str, layout: str, heads: list[tuple[int, int, list[int]]]) -> SplitResult:
    """heads: (heading start, text start, numbers) in order."""
    warnings: list[Warning_] = []
    pairs: list[Pair] = []
    body_end = _tail_start(norm, heads[-1][1])
    for i, (h_start, t_start, numbers) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else body_end
        a = ANTWOORD.search(norm, t_start, end)
        if a is not None and a.group(1) and int(a.group(1)) not in numbers:
            warnings.append(
                Warning_(
                    "answer_number_mismatch",
                    f"antwoord {a.group(1)} staat onder vraag {numbers[0]}",
                    numbers[0],
                )
            )
        if a is not None:
            q = _strip(norm, t_start, a.start())
            ans = _strip(norm, a.end(), end)
            first = Pair(numbers[0], h_start, q, ans if ans[0] < ans[1] else None)
            if first.answer_span is None:
                warnings.append(Warning_("no_answer", f"vraag {numbers[0]}: leeg antwoord", numbers[0]))
        else:
            first = _split_block(norm, numbers[0], h_start, t_start, end, warnings)
        pairs.append(first)
        for n in numbers[1:]:  # "Vraag 2 en 3": one text for several numbers
            pairs.append(
                Pair(
                    n,
                    h_start,
                    first.question_span,
                    first.answer_span,
                    see=[numbers[0]],
                    delegates_to=numbers[0],
                )
            )
    return SplitResult(layout, pairs, heads[0][0], body_end, warnings)


def _numbers(first: str, rest: str) -> list[int]:
    out = [int(first)]
    for m in re.finditer(r"(t/m|-)?[ ]*(\d{1,4})", rest):
        n = int(m.group(2))
        if m.group(1) and out and 0 < n - out[-1] <= 50:
            out.extend(range(out[-1] + 1, n + 1))
        elif n not in out:
            out.append(n)
    return out


def _numbered_questions(norm: str) -> list[tuple[int, int, list[int]]]:
    """ "1. Waarom …?" paragraphs: numbered lines whose paragraph holds a question mark, numbered upwards
    (an enumeration inside an answer, "1. Eerste punt.", has no question mark and is skipped)."""
    heads: list[tuple[int, int, list[int]]] = []
    for m in NUMBERED.finditer(norm):
        para_end = norm.find("\n\n", m.end())
        para_end = len(norm) if para_end < 0 else para_end
        if "?" not in norm[m.end() : min(para_end, m.end() + 4000)]:
            continue
        n = int(m.group(1))
        if heads and n <= heads[-1][2][0]:
            continue
        heads.append((m.start(), m.end(), [n]))
    return heads


def split(norm: str) -> SplitResult:
    rows = list(ROW.finditer(norm))
    if rows:
        result = _split_opentk(norm, rows)
    else:
        heads = [(m.start(), m.end(), _numbers(m.group(1), m.group(2))) for m in VRAAG.finditer(norm)]
        layout = "vraag"
        if not heads:
            heads = [(m.start(), m.end(), [int(m.group(1))]) for m in BARE.finditer(norm)]
            layout = "number"
        if not heads:
            heads = _numbered_questions(norm)
            layout = "numbered"
        if not heads:
            return SplitResult(
                "none",
                [],
                len(norm),
                len(norm),
                [
                    Warning_(
                        "not_a_qa_list",
                        "geen genummerde vragen gevonden: dit lijkt geen lijst van vragen en antwoorden",
                    )
                ],
            )
        result = _split_headed(norm, layout, heads)
    check_numbering(result)
    check_lost_lists(norm, result)
    return result


def check_numbering(result: SplitResult) -> None:
    seen: set[int] = set()
    expected = 1
    for p in result.pairs:
        if p.number in seen:
            result.warnings.append(
                Warning_("duplicate", f"vraag {p.number} komt meer dan eens voor", p.number)
            )
            continue
        if p.number > expected:
            missing = list(range(expected, p.number))
            shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
            result.warnings.append(
                Warning_(
                    "gap",
                    f"nummering springt van {expected - 1} naar {p.number} (ontbreekt: {shown})",
                    p.number,
                )
            )
        elif p.number < expected:
            result.warnings.append(
                Warning_("out_of_order", f"vraag {p.number} staat na vraag {expected - 1}", p.number)
            )
        seen.add(p.number)
        expected = max(expected, p.number + 1)


def check_lost_lists(norm: str, result: SplitResult) -> None:
    """An answer line ending in ':' followed by ordinary prose: the announced list was lost."""
    for p in result.pairs:
        if not p.answer_span:
            continue
        a, b = p.answer_span
        if LOST_LIST.search(norm, a, b):
            result.warnings.append(
                Warning_(
                    "lost_list",
                    f"vraag {p.number}: het antwoord kondigt een opsomming aan die in de tekst ontbreekt",
                    p.number,
                )
            )
