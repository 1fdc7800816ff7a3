"""Cross-references between answers: ``see`` (every answer referred to) and ``delegates_to``.

A whole-answer delegation is an answer that consists of a referral ("Zie het antwoord op vraag 19.")
or that hands its substance over with a referral verb ("... verwijs ik u naar het antwoord op vraag
24."). Other mentions ("(zie antwoord vraag 68)", "Zoals al toegelicht in de beantwoording van vraag
68") only add to ``see``. Chains are followed to their end (``resolved_to``); cycles are reported.
"""

from __future__ import annotations

import re

from nds.programme.model import Pair, Warning_

_NUMS = r"(?P<nums>\d{1,4}(?:[ ]*(?:,|en|t/m|-)[ ]*\d{1,4}){0,20})"
MENTION = re.compile(
    r"(?i)(?<!\w)(?:antwoord(?:en)?|beantwoording)[ ]+(?:op[ ]+|van[ ]+|bij[ ]+)?(?:de[ ]+)?"
    r"vra(?:ag|gen)[ ]+" + _NUMS
)
WHOLE = re.compile(
    r"(?i)^[ (]*(?:zie[ ]+(?:ook[ ]+)?|voor[ ]+het[ ]+antwoord[ ]+)?(?:hiervoor[ ]+)?"
    r"(?:verwijs[ ]+ik[ ]+(?:u[ ]+)?naar[ ]+)?(?:het[ ]+|de[ ]+)?(?:antwoord(?:en)?|beantwoording)"
    r"[ ]+(?:op[ ]+|van[ ]+|bij[ ]+)?(?:de[ ]+)?vra(?:ag|gen)[ ]+" + _NUMS + r"[ .)]*$"
)
REFERRAL_VERB = re.compile(
    r"(?i)(?:verwijs[ ]+ik[ ]+(?:u[ ]+)?|ik[ ]+verwijs[ ]+(?:u[ ]+)?|wordt[ ]+verwezen[ ]+)"
    r"(?:hiervoor[ ]+)?naar[ ]+(?:het[ ]+|de[ ]+)?(?:antwoord(?:en)?|beantwoording)[ ]+"
    r"(?:op[ ]+|van[ ]+|bij[ ]+)?(?:de[ ]+)?vra(?:ag|gen)[ ]+" + _NUMS
)


def _numbers(s: str) -> list[int]:
    out: list[int] = []
    for m in re.finditer(r"(t/m|-)?[ ]*(\d{1,4})", s):
        n = int(m.group(2))
        if m.group(1) and out and 0 < n - out[-1] <= 50:
            out.extend(range(out[-1] + 1, n + 1))
        elif n not in out:
            out.append(n)
    return out


def resolve(norm: str, pairs: list[Pair]) -> list[Warning_]:
    warnings: list[Warning_] = []
    numbers = {p.number for p in pairs}
    for p in pairs:
        if not p.answer_span or p.delegates_to is not None:
            continue
        a, b = p.answer_span
        answer = norm[a:b]
        see: list[int] = list(p.see)
        for m in MENTION.finditer(answer):
            for n in _numbers(m.group("nums")):
                if n not in see:
                    see.append(n)
        whole = WHOLE.match(answer.strip())
        verb = REFERRAL_VERB.search(answer)
        if whole:
            p.delegates_to = _numbers(whole.group("nums"))[0]
        elif verb:
            p.delegates_to = _numbers(verb.group("nums"))[0]
        p.see = sorted(see)
        for n in p.see:
            if n not in numbers:
                warnings.append(
                    Warning_(
                        "xref_missing",
                        f"vraag {p.number} verwijst naar vraag {n}, die niet in het document staat",
                        p.number,
                    )
                )
    by_number = {p.number: p for p in pairs}
    reported: set[frozenset[int]] = set()
    for p in pairs:
        chain = [p.number]
        cur = p
        while cur.delegates_to is not None and cur.delegates_to in by_number:
            nxt = cur.delegates_to
            if nxt in chain:
                cycle = chain[chain.index(nxt) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    warnings.append(
                        Warning_(
                            "xref_cycle",
                            "kringverwijzing: " + " → ".join(f"vraag {n}" for n in [*cycle, nxt]),
                            p.number,
                        )
                    )
                cur = None  # type: ignore[assignment]
                break
            chain.append(nxt)
            cur = by_number[nxt]
        if p.delegates_to is not None:
            p.resolved_to = cur.number if cur is not None and cur.number != p.number else None
    return warnings
