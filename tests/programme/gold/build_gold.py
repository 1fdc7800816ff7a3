"""Locate the offsets for the hand-made gold annotations of the seed document.

The judgements below (where each pair splits, which answers refer to which, which clauses are
commitments with which interval, which references exist) were made by reading the seed; this
script only turns the quoted text into character offsets so that they can be checked exactly.
Run: python tests/programme/gold/build_gold.py  (writes seed_gold.json next to it).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).parent
SEED = HERE.parent / "fixtures" / "seed.txt"

INDIENER = "E. van Marum"

# Whole-answer delegations (answer consists of / ends the answer with a referral for its substance).
DELEGATES = {
    5: 4,
    21: 19,
    22: 19,
    25: 23,
    29: 28,
    30: 28,
    36: 26,
    38: 24,
    41: 26,
    81: 60,
    99: 6,
    100: 6,
    102: 4,
    106: 105,
    107: 105,
}
# Mentions of another answer inside an answer.
MENTIONS = {70: [68], 73: [68], 74: [72]}

# Dated commitments: (question, clause text as it appears, deadline phrase, actor, start, end, hedged)
DATED = [
    (
        7,
        "De realisatie van deze overheidsbrede Wegwijzer is voorzien eind 2026.",
        "eind 2026",
        INDIENER,
        "2026-10-01",
        "2026-12-31",
        True,
    ),
    (
        7,
        "In 2026 zal samen met kwartiermakers van publieke dienstverleners een verkenning worden afgerond",
        "In 2026",
        INDIENER,
        "2026-01-01",
        "2026-12-31",
        False,
    ),
    (
        23,
        "Ik verwacht dat de Investeringsagenda in het eerste kwartaal van 2026 gereed is en interbestuurlijk "
        "vastgesteld kan worden.",
        "in het eerste kwartaal van 2026",
        INDIENER,
        "2026-01-01",
        "2026-03-31",
        True,
    ),
    (
        49,
        "De uitkomst van de verkenning naar de soevereine overheidscloud wordt in de loop van 2026 verwacht.",
        "in de loop van 2026",
        INDIENER,
        "2026-01-01",
        "2026-12-31",
        True,
    ),
    (
        54,
        "In het najaar van 2025 wordt naar verwachting de eerste set aan afspraken geaccordeerd.",
        "In het najaar van 2025",
        INDIENER,
        "2025-09-01",
        "2025-12-31",
        True,
    ),
    (
        62,
        "Dit onderzoek wordt naar verwachting eind 2025 opgeleverd.",
        "eind 2025",
        INDIENER,
        "2025-10-01",
        "2025-12-31",
        True,
    ),
    (
        69,
        "In het vierde kwartaal van dit jaar brengt onderzoeksorganisatie TNO, in opdracht van het ministerie "  # noqa: E501
        "van (BZK), een overheidsbrede monitor generatieve AI uit.",
        "In het vierde kwartaal van dit jaar",
        "TNO",
        "2025-10-01",
        "2025-12-31",
        False,
    ),
    (
        71,
        "Daarnaast zullen vanuit de overheid in 2026 een aantal toepassingen worden verbonden aan de "
        "(door)ontwikkeling van GPT-NL.",
        "in 2026",
        INDIENER,
        "2026-01-01",
        "2026-12-31",
        False,
    ),
    (
        79,
        "Wij verwachten de overheidsbrede visie op proactieve dienstverlening eind 2025 te kunnen opleveren",
        "eind 2025",
        INDIENER,
        "2025-10-01",
        "2025-12-31",
        True,
    ),
    (
        79,
        "waarna deze begin 2026 bestuurlijk kan worden vastgesteld.",
        "begin 2026",
        INDIENER,
        "2026-01-01",
        "2026-03-31",
        True,
    ),
    (
        85,
        "In het vierde kwartaal wordt een overheidsbrede visie Digitale Autonomie en Soevereiniteit verwacht.",  # noqa: E501
        "In het vierde kwartaal",
        INDIENER,
        "2025-10-01",
        "2025-12-31",
        True,
    ),
    (
        86,
        "In het vierde kwartaal wordt een overheidsbrede visie Digitale Autonomie en Soevereiniteit verwacht.",  # noqa: E501
        "In het vierde kwartaal",
        INDIENER,
        "2025-10-01",
        "2025-12-31",
        True,
    ),
    (
        87,
        "Eind 2025 zal het programma de uitvoeringsagenda voor 2026 – 2027 vaststellen.",
        "Eind 2025",
        "het programma",
        "2025-10-01",
        "2025-12-31",
        False,
    ),
    (
        96,
        "Het streven is om in 2026 een overheidsbrede visie voor de digitale werkomgeving vast te stellen.",
        "in 2026",
        INDIENER,
        "2026-01-01",
        "2026-12-31",
        True,
    ),
    (
        105,
        "Dit aansluitplan zal het kabinet naar verwachting in het eerste kwartaal van 2026 vaststellen.",
        "in het eerste kwartaal van 2026",
        "het kabinet",
        "2026-01-01",
        "2026-03-31",
        True,
    ),
]

# Commitments without a date (informational; scored but without a threshold): (question, text, vague)
UNDATED = [
    (6, "De Kamer wordt periodiek geïnformeerd over de voortgang op het digitaliseringsbeleid", False),
    (6, "Uiteraard houd ik uw Kamer ook op de hoogte wanneer er belangrijke ontwikkelingen zijn", False),
    (13, "zal als onderdeel van het NDS-uitvoeringsprogramma worden onderzocht", False),
    (16, "Ik informeer u hier nader over, zodra de interdepartementale afstemming doorlopen is.", False),
    (18, "zal dit met de Kamer worden gedeeld.", False),
    (23, "Daarna zal ik de Investeringsagenda ook met uw Kamer delen.", False),
    (23, "zal ik uw Kamer zo spoedig een eerste beeld op hoofdlijnen te geven.", True),
    (31, "U wordt periodiek op de hoogte gehouden via de verzamelbrieven digitalisering.", False),
    (63, "zal als onderdeel van het NDS-uitvoeringsprogramma worden onderzocht", False),
    (69, "Deze monitor zal met uw Kamer worden gedeeld.", False),
    (70, "zullen wij ook andere private partners betrekken", False),
    (72, "zal actief worden ingezet op het opschalen van use cases", False),
    (80, "Deze visie zal vervolgens worden vertaald naar een plan van aanpak", False),
    (
        83,
        "Dit rapport wordt als bijlage met de verzamelbrief Digitalisering aangeboden aan de Tweede Kamer.",
        False,
    ),
    (90, "zal de identificatie van de kritieke in IT-dienstverlening van start gaan.", False),
    (101, "Via verzamelbrieven digitalisering wordt u op de hoogte gehouden", False),
]

# Sentences with a date that are NOT commitments (facts/costs, past events, negations).
NOT_COMMITMENTS = [
    (
        11,
        "Op dit moment worden de kosten voor het opzetten en onderhouden van developer.overheid.nl geschat op "  # noqa: E501
        "€350.000 in 2026.",
        "cost",
    ),
    (11, "de geschatte kosten hiervoor in 2026 bedragen €1.500.000.", "cost"),
    (18, "In de zomer zijn hiervoor ruim 10 domeinoverstijgende vereenvoudigingsvoorstellen gedaan", "past"),
    (23, "De Investeringsagenda wordt niet op Prinsjesdag gepresenteerd.", "negation"),
    (54, "De eerste groep heeft in december 2024 de Intentieverklaring FDS getekend", "past"),
    (66, "eerder dit jaar aangenomen motie Six Dijkstra", "past"),
    (90, "Voor de Rijksoverheid is er in 2024 een visie vastgesteld voor IT-assetmanagement.", "past"),
    (91, "zoals blijkt uit het beloningsonderzoek van november 2023", "past"),
]

# References, de-duplicated: key (dossier, toevoeging, number) or, for motions without a number, members.
# Each with the texts (occurrences) in question, answer, footnote or intro.
REFERENCES = [
    {
        "kind": "kamerstuk",
        "dossier": "26643",
        "toevoeging": None,
        "number": 1366,
        "occurrences": ["Kamerstuk 26643-1366", "Kamerstuk 26 643, nr. 1366"],
    },
    {
        "kind": "motie",
        "dossier": "36740",
        "toevoeging": "VII",
        "number": 21,
        "members": ["Kathmann"],
        "occurrences": ["Kamerstuk 36740-VII-21", "Kamerstuk 36740-VII, nr. 21", "motie Kathman"],
    },
    {
        "kind": "motie",
        "dossier": "36574",
        "toevoeging": None,
        "number": 5,
        "members": ["Thijssen", "Bruyning"],
        "occurrences": ["Kamerstuk 36 574, nr. 5"],
    },
    {
        "kind": "motie",
        "dossier": "36574",
        "toevoeging": None,
        "number": 13,
        "members": ["Bruyning", "Thijssen"],
        "occurrences": ["Kamerstuk 36 574, nr. 13", "Kamerstuk 36 574, nr. 13"],
    },
    {
        "kind": "motie",
        "dossier": "26643",
        "toevoeging": None,
        "number": 1316,
        "members": ["Kathmann"],
        "occurrences": ["Kamerstuk 26643, nr. 1316"],
    },
    {
        "kind": "kamerstuk",
        "dossier": "36471",
        "toevoeging": None,
        "number": 96,
        "occurrences": ["Kamerstuk 36471, nr. 96"],
    },
    {
        "kind": "kamerstuk",
        "dossier": "36740",
        "toevoeging": None,
        "number": 9,
        "occurrences": ["Kamerstuk II 2024/25, 36740, nr. 9"],
    },
    {
        "kind": "kamerstuk",
        "dossier": "36574",
        "toevoeging": None,
        "number": 7,
        "occurrences": ["Kamerstuk II 2024/25, 36574, nr. 7"],
    },
    {
        "kind": "kamerstuk",
        "dossier": "36574",
        "toevoeging": None,
        "number": 3,
        "occurrences": ["Kamerstukken II 2024/25, 36 574, nr. 3"],
    },
    {
        "kind": "kamerstuk",
        "dossier": "36740",
        "toevoeging": "VII",
        "number": 27,
        "occurrences": ["Kamerstuk II 2024/25, 36740 VII, nr. 27"],
    },
    {
        "kind": "kamerstuk",
        "dossier": "26643",
        "toevoeging": None,
        "number": 1125,
        "occurrences": ["Kamerstuk 2023/2024, 26 643 nr. 1125"],
    },
    {
        "kind": "motie",
        "dossier": None,
        "toevoeging": None,
        "number": None,
        "members": ["Sneller"],
        "occurrences": ["moties van het lid Sneller"],
    },
    {
        "kind": "motie",
        "dossier": None,
        "toevoeging": None,
        "number": None,
        "members": ["Thijssen", "Bruyning"],
        "occurrences": ["van de leden Thijssen en Bruyning"],
    },
    {
        "kind": "motie",
        "dossier": None,
        "toevoeging": None,
        "number": None,
        "members": ["Six Dijkstra"],
        "occurrences": ["motie Six Dijkstra"],
    },
]

# Footnote markers in the text (in order) and the entries of the footnote list.
MARKERS = [  # (marker number, text immediately before the digits, digits as written)
    (1, "geeft verder inzicht in het proces.", "1"),
    (2, "‘Van Kwetsbaar naar weerbaar", "2"),
    (3, "moties van het lid Sneller", "3"),
    (4, "de leden Thijssen en Bruyning", "4"),
    (5, "motie Kathman", "5"),
    (6, "herziening van het rijksbrede cloudbeleid", "6"),
    (7, "cloud sovereignty of public administrations", "7"),
    (8, "Wolken aan de Horizon", "8"),
    (9, "Inclusief ondersteuning bij het invoeren daarvan", "9"),
    (10, "Definition of Cloud Computing ", "10"),
    (11, "Rijkscloudbeleid 2022", "11"),
    (12, "Strengthening cloud sovereignty of public administrations ", "12"),
    (13, "standpunt generatieve AI", "13"),
    (14, "motie Six Dijkstra", "14"),
    (15, "of zijn daar concrete plannen voor.", "15"),
    (16, "het platform AI & Overheid", "16"),
    (17, "visie generatieve AI", "17"),
    (18, "handreiking generatieve AI", "18"),
    (19, "Estland", "19"),
    (20, "Denemarken", "20"),
    (21, "centrale website van de Britse overheid ", "21"),
    (22, "I-Strategie Rijk 2021–2025", "22"),
]
# True marker -> entry links by reading (1-based entry numbers), and which of them the text itself
# confirms (shared words, or a Kamerstuk the document ties to the same motion). The rest are positional
# guesses a tool must flag, not assert.
TRUE_LINKS = {
    2: 1,
    3: 2,
    4: 3,
    5: 4,
    6: 5,
    7: 6,
    8: 7,
    11: 8,
    12: 9,
    13: 10,
    14: 11,
    17: 12,
    18: 13,
    19: 14,
    22: 15,
}
CONFIRMED_LINKS = {2: 1, 5: 4, 6: 5, 7: 6, 11: 8, 12: 9, 13: 10, 18: 13, 22: 15}


def main() -> None:
    raw = SEED.read_text(encoding="utf-8")
    starts = list(re.finditer(r"(?m)^(\d{1,3}) \| ", raw))
    footer = raw.index("\nRapport ‘Van") + 1
    pairs = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else footer
        seg = raw[m.end() : end]
        body_end = m.end() + len(seg[: seg.rstrip().rfind("|")].rstrip())
        body = raw[m.end() : body_end]
        q_end = m.end() + body.rfind("?") + 1  # checked by hand: no answer in the seed holds a '?'
        a_start = q_end + 1
        assert raw[q_end] == " "
        n = int(m.group(1))
        pairs.append(
            {
                "number": n,
                "row_start": m.start(),
                "question_start": m.end(),
                "question_end": q_end,
                "answer_start": a_start,
                "answer_end": body_end,
                "see": sorted(set(MENTIONS.get(n, [])) | ({DELEGATES[n]} if n in DELEGATES else set())),
                "delegates_to": DELEGATES.get(n),
            }
        )
    by_n = {p["number"]: p for p in pairs}

    def locate(n: int, text: str) -> list[int]:
        p = by_n[n]
        k = raw.find(text, p["answer_start"], p["answer_end"])
        assert k >= 0, (n, text)
        return [k, k + len(text)]

    dated = []
    for n, text, phrase, actor, start, end, hedged in DATED:
        span = locate(n, text)
        ph = raw.find(phrase, span[0], span[1])
        assert ph >= 0, phrase
        dated.append(
            {
                "question": n,
                "text": text,
                "span": span,
                "phrase": phrase,
                "phrase_span": [ph, ph + len(phrase)],
                "actor": actor,
                "deadline": {"start": start, "end": end},
                "hedged": hedged,
                "vague": False,
            }
        )
    undated = [{"question": n, "text": tx, "span": locate(n, tx), "vague": v} for n, tx, v in UNDATED]
    negatives = [
        {"question": n, "text": tx, "span": locate(n, tx), "reason": r} for n, tx, r in NOT_COMMITMENTS
    ]
    markers = []
    pos = by_n[1]["question_start"]
    for k, before, digits in MARKERS:
        i = raw.find(before + digits, pos)
        assert i >= 0, (k, before)
        at = i + len(before)
        markers.append({"marker": k, "offset": at, "context": before})
        pos = at + len(digits)
    entries = []
    for line_m in re.finditer(r"(?m)^(.*)↩︎$", raw):
        entries.append({"entry": len(entries) + 1, "offset": line_m.start(), "text": line_m.group(1)})
    gold = {
        "source": "tests/programme/fixtures/seed.txt",
        "sha256": hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        "document": {
            "nummer": "2025D41944",
            "datum": "2025-09-26",
            "vastgesteld": "2025-09-26",
            "letter_date": "2025-07-04",
            "letter_kamerstuk": "26643-1366",
            "answer_date": "2025-09-26",
            "zaak": "2025Z17982",
            "indiener": INDIENER,
            "kamerstuk": {"dossier": "26643", "toevoeging": None, "number": 1401},
        },
        "pairs": pairs,
        "commitments_dated": dated,
        "commitments_undated": undated,
        "not_commitments": negatives,
        "references": REFERENCES,
        "footnotes": {
            "markers": markers,
            "entries": entries,
            "true_links": {str(k): v for k, v in TRUE_LINKS.items()},
            "confirmed_links": {str(k): v for k, v in CONFIRMED_LINKS.items()},
        },
    }
    (HERE / "seed_gold.json").write_text(
        json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(len(pairs), "pairs,", len(dated), "dated,", len(undated), "undated,", len(entries), "footnotes")


if __name__ == "__main__":
    main()
