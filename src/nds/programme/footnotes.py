"""Footnote markers in the text and the footnote list, linked only where the content agrees.

Markers are found in sequence: marker k is the first digit run after marker k-1 that ends in k and
is glued to a word ("Horizon8", "weerbaar2'", "202211" = 2022 + marker 11, "2021-202522") or stands
alone between a word and a full stop ("Computing 10."). The list is the run of lines ending in the
return arrow after the last item. A marker is linked to an entry only where the text confirms it
(shared distinctive words, or a Kamerstuk the document elsewhere ties to the same motion); the
alignment is monotonic and one-to-one. Unconfirmed markers get a positional candidate at most, and
are reported, never silently linked.
"""

from __future__ import annotations

import itertools
import re

from nds.programme.model import Footnote, Marker, Pair, Warning_

_STANDALONE_BLOCK = {
    "vraag",
    "vragen",
    "nr",
    "nummer",
    "artikel",
    "bijlage",
    "paragraaf",
    "hoofdstuk",
    "punt",
    "lid",
    "schaal",
    "schalen",
    "versie",
    "jaar",
    "tot",
    "en",
    "met",
    "van",
    "de",
    "het",
    "op",
}
_GLUE_BEFORE = set(".)'\"]")
_STOP = {
    "de",
    "het",
    "een",
    "van",
    "voor",
    "en",
    "in",
    "op",
    "met",
    "aan",
    "over",
    "naar",
    "die",
    "dat",
    "is",
    "zijn",
    "wordt",
    "worden",
    "als",
    "ook",
    "bij",
    "door",
    "om",
    "nl",
    "www",
    "https",
    "http",
    "html",
    "rijksoverheid",
    "documenten",
    "publicaties",
    "rapporten",
    "kamerstuk",
    "kamerstukken",
    "motie",
    "leden",
    "lid",
    "nr",
    "ii",
    "the",
    "of",
    "and",
    "to",
    "com",
    "org",
}
MAX_MARKERS = 2000
MAX_LINK_CELLS = 250_000  # markers x entries compared by content; beyond this only counts are reported


def _candidate(norm: str, m: re.Match[str], k: int) -> bool:
    digits = m.group(0)
    ks = str(k)
    if not digits.endswith(ks):
        return False
    prefix = digits[: -len(ks)]
    before = norm[m.start() - 1] if m.start() > 0 else " "
    after = norm[m.end()] if m.end() < len(norm) else " "
    if prefix:
        return len(prefix) == 4 and prefix[:2] in ("19", "20") and not before.isdigit() and after not in "%,"
    if before.isalpha() or before in _GLUE_BEFORE:
        return after in " \n.,;:)'\"" and not (
            before == "." and m.start() > 1 and norm[m.start() - 2].isdigit()
        )
    if before == " " and after in ".," and (m.end() + 1 >= len(norm) or norm[m.end() + 1] in " \n"):
        w = re.search(r"([\w.]+)[ ]$", norm[max(0, m.start() - 40) : m.start()])
        if w is None:
            return False
        return w.group(1).lower().strip(".") not in _STANDALONE_BLOCK and w.group(1)[-1].isalpha()
    return False


def find_markers(norm: str, pairs: list[Pair]) -> list[Marker]:
    spans = []
    for p in pairs:
        spans.append((p.question_span[0], (p.answer_span or p.question_span)[1], p.number))
    spans.sort()
    markers: list[Marker] = []
    k, pos, misses = 1, 0, 0
    digit = re.compile(r"\d+")
    while k <= MAX_MARKERS and misses < 2:
        hit = None
        for s, e, n in spans:
            if e <= pos:
                continue
            for m in digit.finditer(norm, max(s, pos), e):
                if _candidate(norm, m, k):
                    hit = (m, n)
                    break
            if hit:
                break
        if hit is None:
            misses += 1
            k += 1
            continue
        m, n = hit
        ks = str(k)
        off = m.end() - len(ks)
        ctx_start = max(markers[-1].offset + len(str(markers[-1].number)) if markers else 0, off - 160)
        ctx = norm[ctx_start:off]
        ctx = re.split(r"[.?!][ ]", ctx)[-1] if re.search(r"[.?!][ ]\S", ctx[:-2]) else ctx
        markers.append(Marker(k, off, len(ks), n, " ".join(ctx.split()[-15:])))
        pos = m.end()
        k += 1
        misses = 0
    return markers


def find_entries(norm: str, tail_start: int) -> list[Footnote]:
    """The footnote list: OpenTK lines ending in the return arrow, else numbered lines "N text"."""
    out: list[Footnote] = []
    for m in re.finditer(r"(?m)^([^\n]{1,4000}?)[ ]*\u21a9[ ]*$", norm[tail_start:]):
        s = tail_start + m.start(1)
        text = m.group(1).strip()
        out.append(Footnote(len(out) + 1, text, (s, s + len(m.group(1).rstrip()))))
    if out:
        return out
    for m in re.finditer(r"(?m)^[ ]{0,4}(\d{1,3})[ ]+(\S[^\n]{0,4000})$", norm[tail_start:]):
        s = tail_start + m.start(2)
        text = m.group(2).rstrip()
        out.append(Footnote(int(m.group(1)), text, (s, s + len(text))))
    return out


def _tokens(s: str) -> set[str]:
    return {w for w in re.split(r"[^0-9a-zà-ÿ]+", s.lower()) if len(w) >= 4 and w not in _STOP}


def agreement(
    context: str,
    entry: str,
    tied: dict[tuple[str | None, str | None, int], set[str]],
    entry_refs: list[tuple[str | None, str | None, int]],
) -> int:
    """How strongly the text before a marker and a footnote entry agree (0 = not at all)."""
    a, b = _tokens(context), _tokens(entry)
    score = 0
    for x in a:
        if x in b or any(len(y) >= 6 and (y in x or x in y) for y in b):
            score += 1
    for ref in entry_refs:  # the document ties this Kamerstuk to a motion named in the context
        for member in tied.get(ref, set()):
            if any(_similar(member, w) for w in re.findall(r"[A-Z][\w'-]+", context)):
                score += 3
                break
    return score if score >= 2 else 0


def _tail_words(text: str, limit: int = 60) -> str:
    """The end of ``text``, at most ``limit`` characters, starting at a word boundary."""
    if len(text) <= limit:
        return text.strip()
    cut = text[-limit:]
    return ("…" + cut[cut.find(" ") + 1 :]) if " " in cut else cut


def _similar(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 5:
        return False
    # one insertion/deletion/substitution
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i + 1 :] or a[i:] == b[i + 1 :] or a[i + 1 :] == b[i:]


def link(markers: list[Marker], entries: list[Footnote], scores: list[list[int]]) -> list[Warning_]:
    """Monotonic one-to-one alignment maximising agreement; only agreeing pairs are linked."""
    n, m = len(markers), len(entries)
    if n * m > MAX_LINK_CELLS:
        return [
            Warning_(
                "footnote_too_many",
                f"{n} markeringen en {m} voetnoten: te veel om op inhoud te koppelen; niets gekoppeld",
            )
        ]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = max(
                best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + scores[i][j] if scores[i][j] else 0
            )
    i = j = 0
    while i < n and j < m:
        if scores[i][j] and best[i][j] == best[i + 1][j + 1] + scores[i][j]:
            markers[i].entry = entries[j].number
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    # positional candidates between confirmed anchors where the counts match
    anchors = [(-1, 0)] + [(idx, mk.entry) for idx, mk in enumerate(markers) if mk.entry] + [(n, m + 1)]
    for (i0, e0), (i1, e1) in itertools.pairwise(anchors):
        gap_markers = list(range(i0 + 1, i1))
        gap_entries = list(range((e0 or 0) + 1, e1))
        if gap_markers and len(gap_markers) == len(gap_entries):
            for idx, en in zip(gap_markers, gap_entries, strict=True):
                markers[idx].candidate = en
    warnings: list[Warning_] = []
    if markers and len(markers) != len(entries):
        warnings.append(
            Warning_(
                "footnote_count",
                f"{len(markers)} voetnootmarkeringen in de tekst maar "
                f"{len(entries)} voetnoten in de lijst; markeringen en lijst lopen niet gelijk",
            )
        )
    for mk in markers:
        if mk.entry is None:
            extra = (
                f" (op volgorde zou het voetnoot {mk.candidate} zijn, maar de inhoud bevestigt dat niet)"
                if mk.candidate
                else ""
            )
            warnings.append(
                Warning_(
                    "footnote_unlinked",
                    f"voetnootmarkering {mk.number} bij '{_tail_words(mk.context)}' "
                    f"is niet aan een voetnoot gekoppeld{extra}",
                    mk.question,
                )
            )
    linked = {mk.entry for mk in markers if mk.entry}
    for e in entries:
        if e.number not in linked:
            warnings.append(
                Warning_(
                    "footnote_entry_unlinked",
                    f"voetnoot {e.number} ('{e.text[:60]}') heeft geen bevestigde markering",
                )
            )
    return warnings
