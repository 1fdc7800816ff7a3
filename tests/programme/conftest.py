"""Programme-monitor test helpers: the gold scores are printed in the terminal summary."""

from __future__ import annotations

from typing import Any

SCORES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCORES:
        terminalreporter.write_sep("-", "programme monitor: scores against hand-made gold (seed, held-out)")
        for name, line in SCORES.items():
            terminalreporter.write_line(f"{name:<28} {line}")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def scores() -> dict[str, str]:
    return SCORES
