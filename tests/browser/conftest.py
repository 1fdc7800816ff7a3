"""Fixtures of the browser tests (see :mod:`browserkit`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .browserkit import axe_source_text, chromium_path
from .cdp import Browser


@pytest.fixture(scope="session")
def axe_source() -> str:
    return axe_source_text()


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_path()


@pytest.fixture
def browser(chromium: str) -> Iterator[Browser]:
    b = Browser(chromium)
    try:
        yield b
    finally:
        b.close()
