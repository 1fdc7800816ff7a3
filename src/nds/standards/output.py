"""Rendering a check report for people (rich) and machines (JSON)."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nds.standards.model import SUBTESTS, Report, Status

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.ERROR: "red",
    Status.WARNING: "yellow",
    Status.INFO: "cyan",
}


def render_json(report: Report, out: TextIO) -> None:
    json.dump(report.to_json(), out, ensure_ascii=False, indent=2)
    out.write("\n")


def render_human(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.target}[/bold]  (profile: {report.profile})")
    table = Table(show_lines=False)
    for col in ("test", "status", "target", "detail", "clause"):
        table.add_column(col, overflow="fold")
    for t in report.tests:
        # Text(): details may contain "[...]" (IPv6 addresses) and unstyled statuses must not be markup
        table.add_row(
            t.id,
            Text(t.status.value, style=_STYLE.get(t.status, "")),
            Text(t.target),
            Text(t.detail),
            Text(t.clause),
        )
    console.print(table)
    fixes = [t for t in report.tests if t.fix and t.status in (Status.FAILED, Status.WARNING, Status.ERROR)]
    if fixes:
        console.print("[bold]How to fix[/bold]")
        for t in fixes:
            console.print(Text(f"- {t.id}{' (' + t.target + ')' if t.target else ''}: {t.fix}"))
    summary = Table(title="Standards")
    summary.add_column("standard")
    summary.add_column("status")
    for name, status in sorted(report.standards(SUBTESTS).items()):
        summary.add_row(name, Text(status.value, style=_STYLE.get(status, "")))
    console.print(summary)
    if report.legal:
        verdict = report.legal.get("verdict", "")
        style = {"compliant": "green", "non_compliant": "bold red"}.get(verdict, "yellow")
        console.print(
            f"[bold]Legal verdict[/bold] ({report.legal.get('instrument', '')}): [{style}]{verdict}[/]"
        )
        for reason in report.legal.get("reasons", []):
            console.print(f"- {reason.get('clause', '')}: {reason.get('detail', '')}")


def exit_code(report: Report) -> int:
    """0 when no counted standard failed or errored, 1 otherwise (usable as a CI gate)."""
    bad = {Status.FAILED, Status.ERROR}
    return 1 if any(s in bad for s in report.standards(SUBTESTS).values()) else 0
