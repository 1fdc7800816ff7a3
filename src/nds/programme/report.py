"""Progress report per NDS priority: counts, timeline and overdue items, as Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from nds.programme.priorities import labels
from nds.programme.register import SIGNALS, STATUSES, Register


def build(register: Register, priority: str | None = None) -> dict[str, Any]:
    items = register.items(priority=priority)
    names = labels()
    groups: dict[str, list[dict[str, Any]]] = {pid: [] for pid in names}
    for it in items:
        groups.setdefault(it["priority"], []).append(it)
    out = []
    for pid, rows in groups.items():
        if priority and pid != priority:
            continue
        out.append(
            {
                "priority": pid,
                "label": names.get(pid, pid),
                "total": len(rows),
                "status": {STATUSES[s]: sum(1 for r in rows if r["status"] == s) for s in STATUSES},
                "signal": {SIGNALS[s]: sum(1 for r in rows if r["signal"] == s) for s in SIGNALS},
                "overdue": [_item(r) for r in rows if r["signal"] == "te_laat"],
                "timeline": [_item(r) for r in rows],
            }
        )
    return {
        "today": register.clock().isoformat(),
        "soon_days": register.soon_days,
        "priorities": out,
        "total": len(items),
    }


def _item(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "document": r["nummer"],
        "question": r["question"],
        "text": r["text"],
        "phrase": r["phrase"],
        "actor": r["actor"],
        "deadline": {"start": r["deadline_start"].isoformat(), "end": r["deadline_end"].isoformat()}
        if r["deadline_start"]
        else None,
        "due": r["due"].isoformat() if r["due"] else None,
        "vague": r["vague"],
        "hedged": r["hedged"],
        "status": r["status_label"],
        "signal": r["signal_label"],
        "evidence": r["evidence"],
        "keywords": r["priority_keywords"],
    }


def _md_cell(s: Any) -> str:
    text = "" if s is None else str(s)
    text = " ".join(text.split())
    for ch in "\\|*_`[]<>#":
        text = text.replace(ch, "\\" + ch)
    return text


def to_markdown(rep: dict[str, Any], max_text: int = 110) -> str:
    lines = [
        f"# Voortgang NDS-toezeggingen (peildatum {rep['today']})",
        "",
        f"{rep['total']} toezeggingen; 'binnenkort' = binnen {rep['soon_days']} dagen.",
        "",
        "| Prioriteit | Totaal | Openstaand | Deels afgedaan | Afgedaan | Vervallen | Te laat | Binnenkort |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in rep["priorities"]:
        s, sig = g["status"], g["signal"]
        lines.append(
            f"| {_md_cell(g['label'])} | {g['total']} | {s['Openstaand']} | {s['Deels afgedaan']} | "
            f"{s['Afgedaan']} | {s['Vervallen']} | {sig['Te laat']} | {sig['Binnenkort']} |"
        )
    for g in rep["priorities"]:
        if not g["timeline"]:
            continue
        lines += [
            "",
            f"## {_md_cell(g['label'])}",
            "",
            "| Termijn | Vraag | Toezegging | Wie | Status |",
            "|---|---:|---|---|---|",
        ]
        for it in g["timeline"]:
            when = (
                f"{it['deadline']['start']} – {it['deadline']['end']}"
                if it["deadline"]
                else ("vaag" if it["vague"] else "geen")
            )
            text = it["text"] if len(it["text"]) <= max_text else it["text"][: max_text - 1] + "…"
            status = it["status"] + (
                f" ({it['signal']})" if it["signal"] in ("Te laat", "Binnenkort") else ""
            )
            lines.append(
                f"| {when} | {it['question']} | {_md_cell(text)} | {_md_cell(it['actor'])} | {status} |"
            )
        if g["overdue"]:
            lines += [
                "",
                "Te laat: "
                + ", ".join(f"vraag {it['question']} (termijn {it['due']})" for it in g["overdue"]),
            ]
    return "\n".join(lines) + "\n"


def to_csv(rep: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "priority",
            "id",
            "document",
            "question",
            "deadline_start",
            "deadline_end",
            "due",
            "status",
            "signal",
            "actor",
            "phrase",
            "text",
            "evidence",
            "vague",
            "hedged",
        ]
    )
    for g in rep["priorities"]:
        for it in g["timeline"]:
            d = it["deadline"] or {"start": "", "end": ""}
            w.writerow(
                [
                    g["priority"],
                    it["id"],
                    it["document"],
                    it["question"],
                    d["start"],
                    d["end"],
                    it["due"] or "",
                    it["status"],
                    it["signal"],
                    _csv_safe(it["actor"]),
                    _csv_safe(it["phrase"]),
                    _csv_safe(it["text"]),
                    _csv_safe(it["evidence"] or ""),
                    it["vague"],
                    it["hedged"],
                ]
            )
    return buf.getvalue()


def _csv_safe(s: str) -> str:
    """Defuse spreadsheet formulas (CSV injection)."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_json(rep: dict[str, Any]) -> str:
    return json.dumps(rep, ensure_ascii=False, indent=2) + "\n"


def render(rep: dict[str, Any], fmt: str) -> str:
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](rep)
