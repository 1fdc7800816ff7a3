"""Reading parliamentary documents: size cap, decoding, a same-length normalised view, the header.

Every later stage runs its regular expressions over ``Text.norm``, a copy of the raw text in which
each character is replaced by exactly one character (non-breaking and other odd spaces become a
space, curly quotes become straight ones, glued footnote digits become spaces). Offsets found in the
normalised view are therefore offsets into the raw file, which is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

MAX_BYTES = 5 * 1024 * 1024  # a Lijst van vragen en antwoorden is ~100 kB; 5 MB is generous

MONTHS = {
    "januari": 1,
    "februari": 2,
    "maart": 3,
    "april": 4,
    "mei": 5,
    "juni": 6,
    "juli": 7,
    "augustus": 8,
    "september": 9,
    "oktober": 10,
    "november": 11,
    "december": 12,
}

_SAME_LENGTH = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\t": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2011": "-",
        "\u2010": "-",
        "\u00ad": " ",  # soft hyphen
        "\ufe0e": " ",
        "\ufeff": " ",
    }
)


class InputError(ValueError):
    """The input cannot be parsed at all (too large, binary, not text)."""


@dataclass
class Text:
    raw: str
    norm: str

    def blank(self, spans: list[tuple[int, int]]) -> None:
        """Replace stretches of the normalised view by spaces (offsets stay valid)."""
        if not spans:
            return
        parts, pos = [], 0
        for start, end in sorted(spans):
            parts += [self.norm[pos:start], " " * (end - start)]
            pos = end
        parts.append(self.norm[pos:])
        self.norm = "".join(parts)


_ODD = re.compile("[" + "".join(re.escape(chr(c)) for c in _SAME_LENGTH) + "]")


def normalise(raw: str) -> str:
    """Same-length normalisation (one character for one character)."""
    out = _ODD.sub(lambda m: _SAME_LENGTH[ord(m.group())], raw)
    assert len(out) == len(raw)
    return out


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise InputError(f"bestand is te groot ({len(data)} bytes; maximaal {MAX_BYTES})")
    if b"\x00" in data[:4096]:
        raise InputError("dit lijkt geen tekstbestand (bevat NUL-bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_document(path: str | Path) -> str:
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"kan {p} niet lezen: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise InputError(f"bestand is te groot ({size} bytes; maximaal {MAX_BYTES})")
    return decode(p.read_bytes())


def parse_dutch_date(s: str) -> date | None:
    m = re.search(r"(\d{1,2})\s+([a-z]+)\s+(\d{4})", s, re.IGNORECASE)
    if not m or m.group(2).lower() not in MONTHS:
        return None
    try:
        return date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
    except ValueError:
        return None


@dataclass
class Header:
    title: str | None = None
    soort: str | None = None
    nummer: str | None = None
    datum: str | None = None
    bijgewerkt: str | None = None
    versie: int | None = None
    persons: list[dict[str, str]] = field(default_factory=list)
    dossier: dict[str, Any] | None = None
    zaak: str | None = None
    indiener: str | None = None
    indiener_function: str | None = None
    voortouwcommissie: str | None = None
    activities: list[dict[str, str]] = field(default_factory=list)
    vastgesteld: str | None = None
    letter_date: str | None = None
    letter_subject: str | None = None
    answer_date: str | None = None
    asked_to: str | None = None
    answered_by: str | None = None
    committee: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


HEADER_LIMIT = 50_000  # header + intro of real documents are a few kB; bounds the work on odd input
_LINE = r"[^\n]{0,2000}"  # bounded line pieces: no unbounded backtracking on a 1 MB line


def _subject_before(text: str, at: int) -> str | None:
    """The noun phrase right before ``at`` on its line, e.g. "staatssecretaris van BZK" from
    "De staatssecretaris van BZK heeft ..." or "de Algemene Rekenkamer" after a semicolon."""
    line_start = text.rfind("\n", max(0, at - 300), at) + 1
    piece = re.split(r"[.;,:]", text[max(line_start, at - 300) : at])[-1].strip()
    piece = re.sub(r"^(?:[Dd]e|[Hh]et)\s+", "", piece)
    return piece or None


def parse_header(norm: str, body_start: int) -> Header:
    """Parse the OpenTK header and the intro boilerplate found before the first Q&A item."""
    h = Header()
    head = norm[: min(body_start, HEADER_LIMIT)]
    first = head.split("\n", 1)[0].strip()
    if first:
        h.title = first[:500]
    m = re.search(
        r"(?m)^Nummer: (\d{4}D\d{4,6}), datum: (\d{4}-\d{2}-\d{2})(?:, bijgewerkt: ([\d: -]{10,16}))?"
        r"(?:, versie: (\d+))?",
        head,
    )
    if m:
        h.nummer, h.datum, h.bijgewerkt = m.group(1), m.group(2), (m.group(3) or "").strip() or None
        h.versie = int(m.group(4)) if m.group(4) else None
        lines = head[: m.start()].rstrip("\n").split("\n")
        if len(lines) >= 2:
            h.soort = lines[-1].strip() or None
    for pm in re.finditer(
        r"(?m)(?:^|:)- ([A-Z][a-z]+(?: [a-z]+)?): ([^\n,]{1,200}?)\s*,\s*(" + _LINE + r")$", head
    ):
        role, name, rest = pm.group(1), pm.group(2).strip(), pm.group(3).strip()
        if role == "Indiener":
            h.indiener, h.indiener_function = name, rest
        elif role in ("Eerste ondertekenaar", "Mede ondertekenaar"):
            h.persons.append({"role": role, "name": name, "function": rest})
    m = re.search(r"(?m)^- Voortouwcommissie: (" + _LINE + r")$", head)
    if m:
        h.voortouwcommissie = m.group(1).strip()
    m = re.search(r"kamerstukdossier (\d{5}) ?-? ?(?:([A-Z]{1,5})-)?(\d{1,5})\s+(" + _LINE + r")", head)
    if m:
        h.dossier = {
            "dossier": m.group(1),
            "toevoeging": m.group(2),
            "number": int(m.group(3)),
            "title": m.group(4).strip().rstrip("."),
        }
    m = re.search(r"zaak (\d{4}Z\d{4,6})", head)
    if m:
        h.zaak = m.group(1)
    for am in re.finditer(r"(?m)^- (\d{4}-\d{2}-\d{2} \d{2}:\d{2}): (" + _LINE + r")$", head):
        h.activities.append({"when": am.group(1), "what": am.group(2).strip()})
    m = re.search(r"Vastgesteld (\d{1,2} [a-z]+ \d{4})", head)
    if m and (d := parse_dutch_date(m.group(1))):
        h.vastgesteld = d.isoformat()
    m = re.search(
        r"(?:De|de) (" + r"[^\n.]{1,200}?" + r") heeft een aantal vragen voorgelegd aan (?:de |het )?"
        r"([^\n]{1,200}?) over de brief van (\d{1,2} [a-z]+ \d{4})(?: inzake ([^\n]{1,300}?))?"
        r"(?: \(|\.|\n)",
        head,
    )
    if m:
        h.committee, h.asked_to = m.group(1).strip(), m.group(2).strip()
        d = parse_dutch_date(m.group(3))
        h.letter_date = d.isoformat() if d else None
        h.letter_subject = (m.group(4) or "").strip() or None
    m = re.search(r"heeft deze vragen beantwoord bij brief van (\d{1,2} [a-z]+ \d{4})", head)
    if m:
        h.answered_by = _subject_before(head, m.start())
        d = parse_dutch_date(m.group(1))
        h.answer_date = d.isoformat() if d else None
    m = re.search(r"(?m)^Antwoord van ([^\n]{1,300}?) \(ontvangen (\d{1,2} [a-z]+ \d{4})\)", head)
    if m:
        h.answered_by = h.answered_by or m.group(1).strip()
        d = parse_dutch_date(m.group(2))
        h.answer_date = h.answer_date or (d.isoformat() if d else None)
    if h.indiener is None and h.answered_by:
        h.indiener = h.answered_by
    return h
