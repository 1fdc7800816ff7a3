"""Hand-made gold for heldout_1.txt, written before the parser was run on that document.

heldout_1.txt is a self-written document in the OpenTK layout with phrasings the seed lacks. It is kept out
of rule tuning: its score is reported as is (see docs/programme.md). This script only turns the quoted
judgements into offsets. Run: python tests/programme/heldout/build_heldout_gold.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
DOC = HERE / "heldout_1.txt"
IND = "F. Bakker"

DELEGATES = {2: 1, 10: 12, 11: 3, 12: 10}
MENTIONS = {8: [4]}
DATED = [  # question, clause text, phrase, actor, start, end
    (
        1,
        "Het afsprakenstelsel wordt naar verwachting voor de zomer vastgesteld",
        "voor de zomer",
        IND,
        "2026-03-10",
        "2026-07-02",
    ),
    (
        3,
        "Een vervolgonderzoek van Geonovum wordt in het tweede kwartaal van 2026 afgerond.",
        "in het tweede kwartaal van 2026",
        IND,
        "2026-04-01",
        "2026-06-30",
    ),
    (
        5,
        "Het wetsvoorstel wordt naar verwachting in het najaar van 2026 voor advies naar de Raad van State",
        "in het najaar van 2026",
        IND,
        "2026-09-01",
        "2026-12-31",
    ),
    (
        5,
        "Het streven is dat de wet per 1 januari 2028 in werking treedt.",
        "per 1 januari 2028",
        IND,
        "2028-01-01",
        "2028-01-01",
    ),
    (
        7,
        "De raad brengt eind 2026 een eerste advies uit over de governance.",
        "eind 2026",
        "De raad",
        "2026-10-01",
        "2026-12-31",
    ),
    (8, "wordt het DigiLab dit jaar voortgezet.", "dit jaar", IND, "2026-03-10", "2026-12-31"),
    (
        8,
        "in het derde kwartaal van dit jaar.",
        "in het derde kwartaal van dit jaar",
        IND,
        "2026-07-01",
        "2026-09-30",
    ),
    (
        9,
        "De VNG organiseert in april 2026 een bijeenkomst voor gemeenten.",
        "in april 2026",
        "De VNG",
        "2026-04-01",
        "2026-04-30",
    ),
    (
        11,
        "Daarnaast wordt de standaard voor logging, Logboek Dataverwerkingen, binnen drie maanden voorgelegd",
        "binnen drie maanden",
        IND,
        "2026-03-10",
        "2026-06-10",
    ),
    (
        13,
        "In 2027 sluiten de eerste vijf uitvoeringsorganisaties aan",
        "In 2027",
        "de eerste vijf uitvoeringsorganisaties",
        "2027-01-01",
        "2027-12-31",
    ),
    (
        13,
        "Ik stuur uw Kamer hierover rond Prinsjesdag een brief",
        "rond Prinsjesdag",
        IND,
        "2026-09-08",
        "2026-09-22",
    ),
]
UNDATED = [
    (1, "Daarna informeer ik uw Kamer over de inhoud.", False),
    (4, "De financiering voor de jaren daarna wordt betrokken bij de Voorjaarsnota.", False),
    (6, "ik zeg toe dat ik uw Kamer twee keer per jaar via de verzamelbrief Digitalisering informeer", False),
    (13, "de overige volgen zo snel mogelijk daarna", True),
]
NOT_COMMITMENTS = [
    (3, "De motie is in 2025 afgedaan", "past"),
    (4, "Voor 2026 is een budget van € 2,4 miljoen beschikbaar.", "cost"),
    (8, "De evaluatie wordt niet in het eerste kwartaal afgerond", "negation"),
    (9, "Eerder dit jaar is al een webinar gehouden.", "past"),
]
REFERENCES = [
    {"kind": "kamerstuk", "dossier": "26643", "toevoeging": None, "number": 1380, "members": []},
    {"kind": "motie", "dossier": "26643", "toevoeging": None, "number": 1200, "members": ["Van Dijk"]},
    {"kind": "kamerstuk", "dossier": "26643", "toevoeging": None, "number": 1370, "members": []},
    {"kind": "motie", "dossier": "36574", "toevoeging": None, "number": 15, "members": ["Bruyning"]},
]


def main() -> None:
    raw = DOC.read_text(encoding="utf-8")
    rows = list(re.finditer(r"(?m)^(\d{1,3}) \| ", raw))
    pairs = []
    for i, m in enumerate(rows):
        end = rows[i + 1].start() if i + 1 < len(rows) else len(raw)
        seg = raw[m.end() : end]
        body_end = m.end() + len(seg[: seg.rstrip().rfind("|")].rstrip())
        q_end = m.end() + raw[m.end() : body_end].rfind("?") + 1  # by reading: no answer holds a '?'
        n = int(m.group(1))
        see = sorted(set(MENTIONS.get(n, [])) | ({DELEGATES[n]} if n in DELEGATES else set()))
        pairs.append(
            {
                "number": n,
                "question_end": q_end,
                "answer_start": q_end + 1,
                "answer_end": body_end,
                "see": see,
                "delegates_to": DELEGATES.get(n),
            }
        )
    by_n = {p["number"]: p for p in pairs}

    def locate(n: int, text: str) -> list[int]:
        k = raw.find(text, by_n[n]["answer_start"], by_n[n]["answer_end"])
        assert k >= 0, (n, text)
        return [k, k + len(text)]

    gold = {
        "pairs": pairs,
        "commitments_dated": [
            {
                "question": n,
                "text": t,
                "span": locate(n, t),
                "phrase": ph,
                "actor": a,
                "deadline": {"start": s, "end": e},
            }
            for n, t, ph, a, s, e in DATED
        ],
        "commitments_undated": [
            {"question": n, "text": t, "span": locate(n, t), "vague": v} for n, t, v in UNDATED
        ],
        "not_commitments": [
            {"question": n, "text": t, "span": locate(n, t), "reason": r} for n, t, r in NOT_COMMITMENTS
        ],
        "references": REFERENCES,
        "cycles": [[10, 12]],
    }
    (HERE / "heldout_1_gold.json").write_text(
        json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(len(pairs), "pairs,", len(DATED), "dated")


if __name__ == "__main__":
    main()
