"""Dutch deadline phrases to date intervals, driven by the table in ``data/deadlines.toml``.

``find_time_expressions(text, start, end, anchor)`` returns every time phrase in ``text[start:end]``
with its interval (inclusive) or, for phrases such as "zo spoedig mogelijk", no interval and
``vague=True``. Relative phrases ("dit jaar", "het vierde kwartaal", "voor de zomer") are anchored on
``anchor``, the date of the answering letter: a phrase without a year takes the first occurrence
that has not ended before the anchor. Recess-based phrases use the Tweede Kamer recess calendar in
``data/calendar.toml``; Prinsjesdag is the third Tuesday of September.
"""

from __future__ import annotations

import calendar
import re
import tomllib
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from nds.programme.ingest import MONTHS
from nds.programme.model import Interval, TimeExpr

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    with open(DATA / "deadlines.toml", "rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=1)
def recess_calendar() -> dict[str, dict[int, tuple[date, date]]]:
    with open(DATA / "calendar.toml", "rb") as fh:
        raw = tomllib.load(fh)
    return {
        name: {int(y): (date.fromisoformat(v[0]), date.fromisoformat(v[1])) for y, v in years.items()}
        for name, years in raw.items()
    }


def prinsjesdag(year: int) -> date:
    """The third Tuesday of September."""
    first = date(year, 9, 1)
    return first + timedelta(days=(1 - first.weekday()) % 7 + 14)


def recess(name: str, year: int) -> tuple[date, date, bool]:
    """(first day, last day, estimated) of the zomerreces or kerstreces starting in ``year``."""
    known = recess_calendar().get(name, {})
    if year in known:
        return known[year][0], known[year][1], False
    if name == "zomerreces":
        first = date(year, 7, 1)
        start = first + timedelta(days=(4 - first.weekday()) % 7)
        sep = date(year, 9, 1)
        return start, sep + timedelta(days=(0 - sep.weekday()) % 7), True
    dec24 = date(year, 12, 24)
    start = dec24 - timedelta(days=(dec24.weekday() - 4) % 7 or 7)
    jan = date(year + 1, 1, 1)
    return start, jan + timedelta(days=(0 - jan.weekday()) % 7 + 7), True


def _md(year: int, md: str) -> date:
    month, day = (int(x) for x in md.split("-"))
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


_YEAR = r"(?:(?P<y>(?:19|20)\d\d)(?!\d|[ ]?-[ ]?\d)|(?P<rel>dit|volgend|komend|het komende|vorig|het)[ ]jaar)"
_NUM = {
    "een": 1,
    "één": 1,
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "twaalf": 12,
    "achttien": 18,
}


def _alts(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    t = table()
    months = _alts(MONTHS)
    parts = _alts(
        k for k in t["parts"] if k not in ("voorjaar", "najaar", "zomer", "winter", "lente", "herfst")
    )
    seasons = _alts(("voorjaar", "najaar", "zomer", "winter", "lente", "herfst"))
    before = r"(?P<pre>uiterlijk(?:[ ]in)?|v[oó][oó]r|voor|tot|per|op|in|vanaf|na)"
    pats = [
        ("vague", r"(?<!\w)(?:" + _alts(t["vague"]["phrases"]) + r")(?!\w)"),
        ("past", r"(?<!\w)(?:" + _alts(t["past"]["phrases"]) + r")(?!\w)"),
        (
            "quarter",
            r"(?<!\w)(?:in[ ])?(?:(?:het|de)[ ])?(?P<ord>" + _alts(t["quarters"]) + r")[ ]kwartaal"
            r"(?:[ ](?:van[ ])?(?:het[ ]jaar[ ])?" + _YEAR + r")?",
        ),
        ("quarter_q", r"(?<!\w)Q(?P<qn>[1-4])(?:[ ]?-?[ ]?(?P<y>20\d\d))?(?!\w)"),
        (
            "half",
            r"(?<!\w)(?:in[ ])?(?:de[ ]|het[ ])?(?P<ord>eerste|tweede)[ ](?:(?:jaar)?helft|halfjaar)"
            r"(?:[ ](?:van[ ])?(?:het[ ]jaar[ ])?" + _YEAR + r")?",
        ),
        (
            "recess",
            r"(?<!\w)(?P<pre>v[oó][oó]r|voor|na|rond|tijdens|in|direct[ ]na)[ ](?:het|de)[ ]"
            r"(?P<recess>zomerreces|zomer|kerstreces|kerst|jaarwisseling)(?![\w-])"
            r"(?:[ ](?:van[ ])?" + _YEAR + r")?",
        ),
        (
            "prinsjesdag",
            r"(?<!\w)(?P<pre>op|v[oó][oó]r|voor|na|rond|met|bij)[ ]Prinsjesdag(?:[ ](?:van[ ])?"
            + _YEAR
            + r")?",
        ),
        (
            "season",
            r"(?<!\w)(?:in[ ])?(?:(?:het|de|dit|komend|komende|volgend|volgende)[ ])?(?P<season>"
            + seasons
            + r")(?![\w-])(?:[ ](?:van[ ])?(?:het[ ]jaar[ ])?"
            + _YEAR
            + r")?",
        ),
        (
            "part",
            r"(?<!\w)(?:in[ ])?(?:(?:het|de)[ ])?(?P<part>"
            + parts
            + r")[ ](?:van[ ])?(?:het[ ]jaar[ ])?"
            + _YEAR,
        ),
        (
            "date",
            r"(?<!\w)(?:" + before + r"[ ])?(?P<d>\d{1,2})[ ](?P<month>" + months + r")(?:[ ](?P<y>20\d\d))?"
            r"(?!\w)",
        ),
        (
            "month",
            r"(?<!\w)(?:" + before + r"[ ])?(?:(?:de[ ]maand[ ])|(?P<mpart>begin|medio|midden|eind)[ ])?"
            r"(?P<month>" + months + r")(?:[ ](?P<y>20\d\d))?(?!\w)",
        ),
        ("loop", r"(?<!\w)in[ ]de[ ]loop[ ]van[ ]" + _YEAR),
        (
            "year",
            # bare "voor 2026" usually means "for 2026": only the accented "vóór" means "before"
            r"(?<!\w)(?P<pre>uiterlijk[ ]in|uiterlijk|v(?:óó|óo|oó)r|in|per|gedurende|vanaf)[ ]"
            r"(?P<y>(?:19|20)\d\d)"
            r"(?![\d/]|[ ]?-[ ]?\d)",
        ),
        ("relyear", r"(?<!\w)(?:in[ ])?(?:het[ ])?(?P<rel>dit|volgend|komend|het komende)[ ]jaar(?!\w)"),
        ("relunit", r"(?<!\w)(?:in[ ])?(?P<which>deze|volgende|komende)[ ](?P<unit>week|maand)(?!\w)"),
        (
            "budget",
            r"(?<!\w)(?P<pre>bij|met|in|voor|v[oó][oó]r|op|rond)[ ](?:de[ ])?(?P<event>"
            + _alts(t["budget"])
            + r")(?:[ ](?:van[ ]|voor[ ])?"
            + _YEAR
            + r")?(?!\w)",
        ),
        (
            "within",
            r"(?<!\w)(?P<pre>binnen|over)[ ](?P<n>\d{1,3}|" + _alts(_NUM) + r")[ ]"
            r"(?P<unit>dagen|dag|weken|week|maanden|maand|jaar)(?!\w)",
        ),
    ]
    return [(name, re.compile(p, re.IGNORECASE)) for name, p in pats]


def _year_from(m: re.Match[str], anchor: date) -> int | None:
    gd = m.groupdict()
    if gd.get("y"):
        return int(gd["y"])
    rel = (gd.get("rel") or "").lower()
    if rel == "dit":
        return anchor.year
    if rel in ("volgend", "komend", "het komende"):
        return anchor.year + 1
    if rel == "vorig":
        return anchor.year - 1
    return None


def _next(anchor: date, make: Any) -> Interval:
    """The first of this year's or next year's interval that has not ended before the anchor."""
    for y in (anchor.year, anchor.year + 1):
        iv: Interval = make(y)
        if iv.end >= anchor:
            return iv
    return make(anchor.year + 1)


def _interval(name: str, m: re.Match[str], anchor: date, context_year: int | None = None) -> Interval | None:
    t = table()
    year = _year_from(m, anchor)
    if year is None and context_year is not None and name in _CONTEXTUAL:
        year = context_year
    gd = m.groupdict()
    if name in ("quarter", "quarter_q"):
        q = int(gd["qn"]) if gd.get("qn") else t["quarters"][gd["ord"].lower()]

        def make(y: int) -> Interval:
            start = date(y, 3 * q - 2, 1)
            return Interval(start, _md(y, f"{3 * q:02d}-31"), f"kwartaal Q{q}")

        return make(year) if year else _next(anchor, make)
    if name == "half":
        lo, hi = t["halves"][gd["ord"].lower()]
        return (
            (lambda y: Interval(_md(y, lo), _md(y, hi), f"helft {gd['ord'].lower()}"))(year)
            if year
            else _next(anchor, lambda y: Interval(_md(y, lo), _md(y, hi), f"helft {gd['ord'].lower()}"))
        )
    if name in ("season", "part"):
        word = (gd.get("season") or gd.get("part") or "").lower()
        lo, hi = t["parts"][word]

        def mk(y: int) -> Interval:
            return Interval(_md(y, lo), _md(y, hi), word)

        return mk(year) if year else _next(anchor, mk)
    if name == "loop":
        if year is None:
            return None
        start = anchor if anchor.year == year else date(year, 1, 1)
        return Interval(start, date(year, 12, 31), "in de loop van")
    if name == "year":
        pre = gd["pre"].lower()
        y = int(gd["y"])
        if pre.startswith("v") and pre != "vanaf":  # vóór 2027 = by the end of 2026
            return (
                Interval(anchor, date(y - 1, 12, 31), "vóór jaar") if date(y - 1, 12, 31) >= anchor else None
            )
        if pre == "per":
            return Interval(date(y, 1, 1), date(y, 1, 1), "per jaar")
        if pre == "vanaf":
            return Interval(date(y, 1, 1), date(y, 12, 31), "vanaf jaar")
        return Interval(date(y, 1, 1), date(y, 12, 31), "jaar")
    if name == "relunit":
        if gd["unit"].lower() == "week":
            monday = anchor - timedelta(days=anchor.weekday())
            if gd["which"].lower() != "deze":
                monday += timedelta(days=7)
            return Interval(max(anchor, monday), monday + timedelta(days=6), f"{gd['which'].lower()} week")
        y, mo = anchor.year, anchor.month
        if gd["which"].lower() != "deze":
            y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
        first = date(y, mo, 1)
        return Interval(
            max(anchor, first), date(y, mo, calendar.monthrange(y, mo)[1]), f"{gd['which'].lower()} maand"
        )
    if name == "budget":
        if year and gd.get("y") and gd["event"].lower() in ("begroting", "miljoenennota"):
            year -= 1  # the begroting for 2027 is presented on Prinsjesdag 2026
        return _budget_interval(gd, year, anchor)
    if name == "relyear":
        y = year or anchor.year
        start = anchor if y == anchor.year else date(y, 1, 1)
        return Interval(start, date(y, 12, 31), "dit jaar" if y == anchor.year else "volgend jaar")
    if name in ("date", "month"):
        return _date_interval(name, gd, year, anchor)
    if name == "within":
        n = int(gd["n"]) if gd["n"].isdigit() else _NUM[gd["n"].lower()]
        unit = gd["unit"].lower()
        if unit.startswith("dag"):
            end = anchor + timedelta(days=n)
        elif unit.startswith("we"):
            end = anchor + timedelta(weeks=n)
        else:
            months = n * (12 if unit == "jaar" else 1)
            y, mo = divmod(anchor.month - 1 + months, 12)
            y += anchor.year
            end = date(y, mo + 1, min(anchor.day, calendar.monthrange(y, mo + 1)[1]))
        start = anchor if gd["pre"].lower() == "binnen" else end
        return Interval(start, end, f"{gd['pre'].lower()} {n} {unit}")
    if name == "recess":
        return _recess_interval(gd, year, anchor)
    if name == "prinsjesdag":
        pre = gd["pre"].lower()

        def mkp(y: int) -> Interval:
            p = prinsjesdag(y)
            w = timedelta(days=int(t["parliament"]["prinsjesdag_window_days"]))
            if pre == "rond":
                return Interval(p - w, p + w, "rond Prinsjesdag")
            if pre.startswith("v"):
                return Interval(min(anchor, p - timedelta(days=1)), p - timedelta(days=1), "voor Prinsjesdag")
            if pre == "na":
                return Interval(p + timedelta(days=1), date(y, 12, 31), "na Prinsjesdag")
            return Interval(p, p, "op Prinsjesdag")

        return mkp(year) if year else _next(anchor, mkp)
    return None


def verantwoordingsdag(year: int) -> date:
    """The third Wednesday of May."""
    first = date(year, 5, 1)
    return first + timedelta(days=(2 - first.weekday()) % 7 + 14)


def _budget_interval(gd: dict[str, Any], year: int | None, anchor: date) -> Interval:
    event = gd["event"].lower()
    rule = table()["budget"][event]
    pre = gd["pre"].lower()

    def mk(y: int) -> Interval:
        if rule == "prinsjesdag":
            d = prinsjesdag(y)
            iv = Interval(d, d, event)
        elif rule == "verantwoordingsdag":
            d = verantwoordingsdag(y)
            iv = Interval(d, d, event)
        else:
            iv = Interval(_md(y, rule[0]), _md(y, rule[1]), event)
        if pre.startswith("v"):  # "voor de Voorjaarsnota": by the day before it
            end = iv.start - timedelta(days=1)
            return Interval(min(anchor, end), end, f"voor {event}")
        return iv

    return mk(year) if year else _next(anchor, mk)


def _date_interval(name: str, gd: dict[str, Any], year: int | None, anchor: date) -> Interval | None:
    """A day or (part of a) month, with "uiterlijk" (ends that day), "voor/vóór/tot" (ends the day
    before) or "na/vanaf" (not a deadline: None)."""
    mon = MONTHS[gd["month"].lower()]
    if name == "date":
        day = int(gd["d"])

        def make(y: int) -> Interval:
            d = date(y, mon, min(day, calendar.monthrange(y, mon)[1]))
            return Interval(d, d, "datum")
    else:
        mp = (gd.get("mpart") or "").lower()
        lo, hi = table()["month_parts"].get(mp, [1, 31])

        def make(y: int) -> Interval:
            last = calendar.monthrange(y, mon)[1]
            return Interval(date(y, mon, min(lo, last)), date(y, mon, min(hi, last)), f"maand {mp}".strip())

    iv = make(year) if year else _next(anchor, make)
    pre = (gd.get("pre") or "").lower()
    if pre in ("na", "vanaf"):
        return None
    if pre.startswith("uiterlijk"):
        return Interval(min(anchor, iv.end), iv.end, f"uiterlijk {iv.rule}")
    if pre in ("tot", "voor") or pre.startswith("v"):
        end = iv.start - timedelta(days=1)
        return Interval(min(anchor, end), end, f"voor {iv.rule}")
    return iv


def _recess_interval(gd: dict[str, Any], year: int | None, anchor: date) -> Interval:
    t = table()
    pre = gd["pre"].lower()
    word = gd["recess"].lower()
    if word == "jaarwisseling":
        lo, hi = t["parliament"]["jaarwisseling"]
        return (
            (lambda y: Interval(_md(y, lo), _md(y + 1, hi), "rond de jaarwisseling"))(year)
            if year
            else _next(anchor, lambda y: Interval(_md(y, lo), _md(y + 1, hi), "rond de jaarwisseling"))
        )
    name = "zomerreces" if word.startswith("zomer") else "kerstreces"

    def mk(y: int) -> Interval:
        first, last, est = recess(name, y)
        if pre.startswith("v"):
            start = anchor if (year is None or anchor.year == y) else date(y, 1, 1)
            return Interval(
                min(start, first - timedelta(days=1)), first - timedelta(days=1), f"voor {name}", est
            )
        if "na" in pre:
            end = (
                _md(y, t["parliament"]["na_de_zomer_end"])
                if name == "zomerreces"
                else last + timedelta(days=31)
            )
            return Interval(last + timedelta(days=1), end, f"na {name}", est)
        return Interval(first, last, f"{pre} {name}", est)

    return mk(year) if year else _next(anchor, mk)


@lru_cache(maxsize=1)
def _trigger() -> re.Pattern[str]:
    """Cheap pre-filter: a stretch without any of these words or a number holds no time phrase."""
    t = table()
    words = [
        "kwartaal",
        "helft",
        "zomer",
        "kerst",
        "jaarwisseling",
        "prinsjesdag",
        "jaar",
        "binnen",
        "over",
        "halfjaar",
        "week",
        "maand",
        *t["budget"],
        *t["parts"],
        *MONTHS,
        *t["vague"]["phrases"],
        *t["past"]["phrases"],
    ]
    return re.compile(r"\d|(?<!\w)(?:" + _alts(words) + r"|q[1-4])", re.IGNORECASE)


_CONTEXTUAL = {"quarter", "half", "season", "part", "month", "date", "budget"}


def find_time_expressions(
    text: str, start: int, end: int, anchor: date, context_year: int | None = None
) -> list[TimeExpr]:
    """All time phrases in text[start:end]; overlapping matches resolved longest-first.

    A phrase without a year ("het tweede kwartaal") takes ``context_year`` when given (the year named
    earlier in the same answer), else the first occurrence not ended before the anchor.
    """
    found: list[tuple[int, int, str, re.Match[str]]] = []
    if _trigger().search(text, start, end) is None:
        return []
    for name, pat in _patterns():
        for m in pat.finditer(text, start, end):
            if m.end() > m.start():
                found.append((m.start(), m.end(), name, m))
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    out: list[TimeExpr] = []
    last_end = -1
    for s, e, name, m in found:
        if s < last_end:
            continue
        if name == "vague":
            out.append(TimeExpr((s, e), text[s:e], None, vague=True))
        elif name == "past":
            out.append(TimeExpr((s, e), text[s:e], None, past_marker=True))
        else:
            try:
                iv = _interval(name, m, anchor, context_year)
            except (ValueError, KeyError, OverflowError):
                iv = None
            if iv is None:  # a phrase that is not a deadline ("na 1 maart") still consumes its words
                last_end = e
                continue
            y = m.groupdict().get("y")
            out.append(TimeExpr((s, e), text[s:e], iv, explicit_year=int(y) if y else None))
        last_end = e
    return out
