"""Topics to the six NDS priorities through the transparent keyword table in data/priorities.toml."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "priorities.toml"


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    with open(DATA, "rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[str, list[tuple[str, re.Pattern[str]]]]]:
    return [
        (p["id"], [(k, re.compile(r"(?<![\w-])" + re.escape(k), re.IGNORECASE)) for k in p["keywords"]])
        for p in table()["priority"]
    ]


def labels() -> dict[str, str]:
    t = table()
    out = {p["id"]: p["label"] for p in t["priority"]}
    out[t["fallback"]["id"]] = t["fallback"]["label"]
    return out


def classify(text: str) -> tuple[str, list[str]]:
    """(priority id, matched keywords)."""
    best: tuple[int, str, list[str]] = (0, table()["fallback"]["id"], [])
    for pid, kws in _compiled():
        hits = [k for k, pat in kws if pat.search(text)]
        if len(hits) > best[0]:
            best = (len(hits), pid, hits)
    return best[1], best[2]
