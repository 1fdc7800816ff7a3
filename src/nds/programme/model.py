"""Plain data classes shared by the programme monitor's parsing stages (no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass
class Warning_:
    code: str
    message: str
    question: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.question is not None:
            out["question"] = self.question
        return out


@dataclass
class Pair:
    number: int
    start: int  # row/heading start in the raw text
    question_span: tuple[int, int]
    answer_span: tuple[int, int] | None  # None: no answer found
    see: list[int] = field(default_factory=list)
    delegates_to: int | None = None
    resolved_to: int | None = None  # end of the delegation chain

    @property
    def split(self) -> int | None:
        return self.answer_span[0] if self.answer_span else None


@dataclass
class Interval:
    start: date
    end: date
    rule: str
    estimated: bool = False  # e.g. a recess date computed by rule, not from the published calendar

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass
class TimeExpr:
    span: tuple[int, int]
    text: str
    interval: Interval | None
    vague: bool = False
    past_marker: bool = False  # "eerder dit jaar", "vorig jaar"
    explicit_year: int | None = None  # the year as written ("2026"), if any


@dataclass
class Commitment:
    question: int
    text: str
    span: tuple[int, int]
    phrase: str
    phrase_span: tuple[int, int] | None
    actor: str
    actor_source: str  # "indiener" (ik/wij/passive) or "text" (named third party)
    deadline: Interval | None
    vague: bool
    hedged: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "phrase": self.phrase,
            "span": list(self.span),
            "actor": self.actor,
            "actor_source": self.actor_source,
            "deadline": self.deadline.to_json() if self.deadline else None,
            "deadline_rule": self.deadline.rule if self.deadline else None,
            "vague": self.vague,
            "hedged": self.hedged,
        }


@dataclass
class Reference:
    kind: str  # kamerstuk | motie | handelingen | aanhangsel
    text: str
    dossier: str | None
    toevoeging: str | None
    number: int | None
    members: list[str] = field(default_factory=list)
    occurrences: list[dict[str, Any]] = field(default_factory=list)  # {"text", "span", "where", "question"}
    flags: list[str] = field(default_factory=list)

    def key(self) -> tuple[Any, ...]:
        if self.number is not None:
            return ("n", self.dossier, self.toevoeging, self.number)
        return ("m", self.kind, tuple(sorted(m.lower() for m in self.members)))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return d


@dataclass
class Footnote:
    number: int  # position in the footnote list, 1-based
    text: str
    span: tuple[int, int]


@dataclass
class Marker:
    number: int
    offset: int
    length: int
    question: int | None
    context: str
    entry: int | None = None  # confirmed link
    candidate: int | None = None  # positional guess, unconfirmed
