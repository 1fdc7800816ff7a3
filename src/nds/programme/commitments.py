"""Commitments in answers: clauses saying something will be done or delivered, with actor and deadline.

A clause with a time phrase whose interval has not ended before the anchor is a dated commitment
unless it states a fact or cost ("de geschatte kosten in 2026 bedragen ..."), a past event (perfect
or past tense around the phrase, "eerder dit jaar", an interval in the past) or is negated ("wordt
niet op Prinsjesdag gepresenteerd"). Clauses without a date are commitments when they carry a
commitment cue ("zal", "informeer", "houd ... op de hoogte", "met uw Kamer delen"). "ik"/"wij"
and impersonal or passive clauses resolve to the Zaak's Indiener; a named third party after the
finite verb ("brengt ... TNO ... uit", "zal het kabinet ... vaststellen") is the actor itself.
Answers that delegate to another answer yield nothing: the target's commitments are not duplicated.
"""

from __future__ import annotations

import re
from datetime import date

from nds.programme.model import Commitment, Pair, TimeExpr
from nds.programme.split import next_terminator
from nds.programme.timex import find_time_expressions
from nds.programme.xrefs import REFERRAL_VERB

REFERRAL_START = re.compile(r"(?i)[ (]*zie[ ]+(?:ook[ ]+)?(?:het[ ]+|de[ ]+)?(?:antwoord|beantwoording)")

COST = re.compile(
    r"(?i)(?<!\w)(?:kosten|bedragen|bedraagt|geschat[ ]op|begroot|budget|€|euro|miljoen|miljard)(?!\w)"
)
NEGATED_VERB = re.compile(
    r"(?i)(?<!\w)(?:wordt|worden|zal|zullen|is|zijn|komt|komen|gaat|gaan|kan|kunnen|wil|willen)"
    r"[ ]+(?:\w+[ ]+)?(?:niet|geen|nooit)(?!\w)"
)
PAST_AUX = re.compile(r"(?i)^(?:is|zijn|was|waren|werd|werden|heeft|hebben|had|hadden)(?!\w)")
PARTICIPLE = re.compile(r"(?i)(?<!\w)ge\w{2,}(?:d|t|n)(?!\w)")
PAST_IN_CLAUSE = re.compile(r"(?i)(?<!\w)(?:heeft|hebben|had|hadden|werd|werden|was|waren)(?!\w)")
FUTURE_CUE = re.compile(
    r"(?i)(?<!\w)(?:zal|zullen|verwacht\w*|streven|streeft|beoog\w*|gaat|gaan|wordt|worden)(?!\w)"
)
CUE = re.compile(
    r"(?i)(?<!\w)(?:zal|zullen|informeer|informeren|zeg(?:gen)?[ ]+(?:ik|wij|we)[ ]+toe|"
    r"houd(?:en)?[ ]+(?:ik|wij|we)[ ]+(?:uw|de)[ ]+Kamer|(?:wordt|worden)[ ]+(?:u|de[ ]+Kamer|uw[ ]+Kamer)"
    r"[ ]+(?:\w+[ ]+){0,3}(?:geïnformeerd|op[ ]+de[ ]+hoogte[ ]+gehouden)|"
    r"(?:u|de[ ]+Kamer)[ ]+wordt[ ]+(?:\w+[ ]+){0,3}(?:geïnformeerd|op[ ]+de[ ]+hoogte[ ]+gehouden)|"
    r"aangeboden[ ]+aan[ ]+de[ ]+(?:Tweede[ ]+)?Kamer|"
    r"met[ ]+(?:uw|de)[ ]+Kamer[ ]+(?:worden[ ]+)?(?:gedeeld|delen))"
    r"(?!\w)"
)
PREDICTION = re.compile(
    r"(?i)(?<!\w)(?:zal|zullen)[ ]+(?:zeker[ ]+|zich[ ]+|vervolgens[ ]+groeien|"
    r"(?:\w+[ ]+){0,3}(?:bijdragen|plaatsvinden|groeien))"
)
RELATIVE_CUE = re.compile(r"(?i)(?<!\w)(?:die|dat|welke)[ ]+(?:[\w(),-]+[ ]+){0,25}(?:zal|zullen)(?!\w)")
FIRST_PERSON = re.compile(r"(?<![\w'])(?:[Ii]k|[Ww]ij|[Ww]e)(?![\w'])")
HEDGE = re.compile(
    r"(?i)(?<!\w)(?:naar[ ]+verwachting|verwacht\w*|het[ ]+streven|streven|beoog\w*|voorzien|"
    r"(?<!spoedig[ ])(?<!snel[ ])mogelijk|waarschijnlijk|indien|ambitie)(?!\w)"
)
FINITE = re.compile(
    r"(?i)(?<!\w)(?:zal|zullen|wordt|worden|brengt|brengen|gaat|gaan|komt|komen|levert|leveren|stelt|"
    r"stellen|publiceert|publiceren|presenteert|presenteren|start|starten|is|zijn|heeft|hebben)(?!\w)"
)
AGENT_NOUNS = (
    "kabinet",
    "programma",
    "ministerie",
    "minister",
    "staatssecretaris",
    "raad",
    "commissie",
    "forum",
    "aanjaagteam",
    "werkgroep",
    "projectteam",
    "uitvoeringsorganisatie",
    "programmaorganisatie",
)
_CAP = r"(?-i:[A-Z][\w&.-]*)"
_NAME = _CAP + r"(?:[ ](?:van[ ](?:de[ ]|het[ ])?)?" + _CAP + r"){0,4}"  # TNO, Raad van State
NP = (
    r"(?:(?:het|de)[ ]+(?:"
    + "|".join(AGENT_NOUNS)
    + r")(?:[ ]van[ ](?:"
    + _CAP
    + r"(?:[ ](?:en[ ])?"
    + _CAP
    + r"){0,4}))?(?!\w)"  # de minister van Economische Zaken
    r"|(?:het|de)[ ]+"
    + _NAME  # het CBS, de VNG, de Raad van State
    + r"|"
    + _NAME
    + r")"
)
THIRD_PARTY = re.compile(
    r"(?i)[ ]+(?:(?P<desc>onderzoeksorganisatie|organisatie|instituut|toezichthouder)[ ]+)?(?P<np>" + NP + ")"
)
# subject, then a finite verb ("zal", "organiseert", "brengen"): a lower-case word ending in -t or -en
FRONT_SUBJECT = re.compile(r"(?i)(?P<np>" + NP + r")[ ]+(?:zal|zullen|(?-i:[a-z]{2,}(?:t|en)))(?!\w)")
NOT_ACTORS = {
    "Kamer",
    "U",
    "Uw",
    "In",
    "De",
    "Het",
    "Dit",
    "Dat",
    "Deze",
    "Er",
    "Daarnaast",
    "Ook",
    "Nederland",
}
BOUNDARY = re.compile(r",[ ]+(?:waarna|waarbij|terwijl|en|maar)[ ]+|;[ ]+|,[ ]+|[ ]+en[ ]+")


def sentences(norm: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    while pos < end:
        while pos < end and norm[pos].isspace():
            pos += 1
        if pos >= end:
            break
        t = next_terminator(norm, pos, end)
        stop = t[0] if t else end
        out.append((pos, stop))
        pos = stop
    return out


def _is_past(norm: str, s: int, e: int, tx: TimeExpr) -> bool:
    # "In de zomer zijn ... gedaan": the finite verb right after a fronted time phrase is past/perfect
    if tx.span[0] - s <= 2:
        rest = norm[tx.span[1] : e].lstrip(" ,")
        if PAST_AUX.match(rest) and PARTICIPLE.search(norm, tx.span[1], e):
            return True
    clause = norm[s:e]
    return bool(PAST_IN_CLAUSE.search(clause) and PARTICIPLE.search(clause) and not FUTURE_CUE.search(clause))


MAIN_CLAUSE_END = re.compile(r"(?i),[ ]|[ ](?:dat|zodat|omdat|waardoor|waarmee|terwijl|als|wanneer|zodra)[ ]")
NEGATION = re.compile(r"(?i)(?<!\w)(?:niet(?![ ]alleen)|geen|nooit)(?!\w)")


def _negated(norm: str, s: int, e: int, tx: TimeExpr | None) -> bool:
    if NEGATED_VERB.search(norm, s, e):
        return True
    end_main = MAIN_CLAUSE_END.search(norm, s, e)
    if NEGATION.search(norm, s, end_main.start() if end_main else e):
        return True
    if tx is not None:
        before = norm[max(s, tx.span[0] - 25) : tx.span[0]].split()[-3:]
        return any(w.lower() in ("niet", "geen", "nooit") for w in before)
    return False


def _acceptable(np: str) -> bool:
    words = np.split()
    head = words[1] if words[0].lower() in ("het", "de") and len(words) > 1 else words[0]
    return head not in NOT_ACTORS and head.lower() not in ("uw", "u")


def _self_or(np: str, indiener: str) -> tuple[str, str]:
    """ "de staatssecretaris" / "de minister" without further name is the answering office itself."""
    if np.lower() in ("de staatssecretaris", "de minister", "het ministerie"):
        return indiener, "indiener"
    return np, "text"


def actor_of(norm: str, s: int, e: int, indiener: str) -> tuple[str, str]:
    clause = norm[s:e]
    if FIRST_PERSON.search(clause):
        return indiener, "indiener"
    passive = re.search(r"(?i)(?<!\w)(?:wordt|worden)(?!\w)", clause)
    front = FRONT_SUBJECT.match(clause.lstrip())
    if front and not passive:
        np = front.group("np")
        first = np.split()[0]
        # a sentence-initial capitalised word is a name only if it looks like one (acronym or several words)
        named = first.lower() in ("het", "de") or any(ch.isupper() for ch in first[1:]) or " " in np
        if named and _acceptable(np):
            return _self_or(np, indiener)
    fin = FINITE.search(clause)
    if fin and not re.search(r"(?i)(?<!\w)(?:wordt|worden)(?!\w)", clause[fin.start() :]):
        m = THIRD_PARTY.match(clause, fin.end())
        if m:
            np = m.group("np")
            if _acceptable(np):
                return _self_or(np, indiener)
    return indiener, "indiener"


def _clauses(norm: str, s: int, e: int, txs: list[TimeExpr]) -> list[tuple[int, int, TimeExpr]]:
    """Split a sentence between consecutive time phrases at the last clause boundary between them."""
    out = []
    cur = s
    for i, tx in enumerate(txs):
        if i + 1 < len(txs):
            nxt = txs[i + 1]
            cut = None
            for m in BOUNDARY.finditer(norm, tx.span[1], nxt.span[0]):
                cut = m
            if cut is not None:
                out.append((cur, cut.start(), tx))
                cur = cut.start() + (1 if norm[cut.start()] in ",;" else 0)
                while cur < e and norm[cur] == " ":
                    cur += 1
                continue
        out.append((cur, e if i + 1 == len(txs) else txs[i + 1].span[0], tx))
        if i + 1 < len(txs):
            cur = txs[i + 1].span[0]
    return out


def extract(raw: str, norm: str, pairs: list[Pair], anchor: date, indiener: str) -> list[Commitment]:
    """Commitments per answer. Referral sentences are skipped, and an answer shared by several numbers
    ("Vraag 2 en 3") is read once, so a delegating pair never duplicates its target's commitments; its
    own further sentences still count."""
    found: list[Commitment] = []
    seen_spans: set[tuple[int, int]] = set()
    for p in pairs:
        if not p.answer_span or p.answer_span in seen_spans:
            continue
        seen_spans.add(p.answer_span)
        context_year: int | None = None  # the last year named in this answer
        for s, e in sentences(norm, *p.answer_span):
            if REFERRAL_START.match(norm, s, e) or REFERRAL_VERB.search(norm, s, e):
                continue  # "Zie het antwoord op vraag 19." / "... verwijs ik u naar het antwoord op vraag 24"
            txs = find_time_expressions(norm, s, e, anchor, context_year)
            years = [t.explicit_year for t in txs if t.explicit_year and t.explicit_year >= anchor.year]
            if years:
                context_year = years[-1]
            if any(t.past_marker for t in txs):
                continue
            dated = [t for t in txs if t.interval is not None and t.interval.end >= anchor]
            vague = [t for t in txs if t.vague]
            if dated and not COST.search(norm, s, e):
                marked = sorted(dated + vague, key=lambda t: t.span[0])
                for cs, ce, tx in _clauses(norm, s, e, marked):
                    if _negated(norm, cs, ce, tx) or (tx.interval is not None and _is_past(norm, cs, ce, tx)):
                        continue
                    actor, source = actor_of(norm, cs, ce, indiener)
                    found.append(_make(raw, norm, p.number, cs, ce, tx.span, actor, source, tx))
                continue
            if dated:
                continue
            cue = CUE.search(norm, s, e)
            if cue is None or _negated(norm, s, e, None) or PREDICTION.search(norm, s, e):
                continue
            if RELATIVE_CUE.search(norm, s, e) and not FIRST_PERSON.search(norm[s:e]):
                continue
            actor, source = actor_of(norm, s, e, indiener)
            phrase_tx = vague[0] if vague else None
            span = phrase_tx.span if phrase_tx else (cue.start(), cue.end())
            found.append(_make(raw, norm, p.number, s, e, span, actor, source, phrase_tx))
    return found


def _make(
    raw: str,
    norm: str,
    question: int,
    s: int,
    e: int,
    phrase_span: tuple[int, int],
    actor: str,
    source: str,
    tx: TimeExpr | None,
) -> Commitment:
    return Commitment(
        question,
        raw[s:e].strip(),
        (s, e),
        raw[phrase_span[0] : phrase_span[1]],
        phrase_span,
        actor,
        source,
        tx.interval if tx else None,
        bool(tx and tx.vague),
        bool(HEDGE.search(norm, s, e)),
    )
