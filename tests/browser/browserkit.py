"""Helpers for browser tests: headless Chromium (Debian ``chromium``), axe-core from npm, the web app
served by uvicorn on loopback, and an axe-core WCAG 2.1 A/AA check. Plain functions, so test modules
outside ``tests/browser`` (the DigiLab federation tests) can use them too.

Nothing here skips: without Chromium or axe-core a test fails with a message saying how to get them
(``make test`` installs Chromium; axe-core is installed into a cache directory with npm).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from .cdp import Browser, find_chromium

AXE_VERSION = "4.14.1"


def _cache_dir() -> Path:
    base = os.environ.get("NDS_TEST_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nds" / f"axe-core-{AXE_VERSION}"


def axe_source_text() -> str:
    """axe-core's ``axe.min.js``, installed with npm into a cache directory on first use."""
    explicit = os.environ.get("NDS_AXE_JS")
    path = Path(explicit) if explicit else _cache_dir() / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file() and not explicit:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility test (Debian package 'npm')")
        path.parent.parent.parent.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(path.parent.parent.parent),
                f"axe-core@{AXE_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if res.returncode != 0 or not path.is_file():
            pytest.fail(f"could not install axe-core@{AXE_VERSION} with npm:\n{res.stderr[-2000:]}")
    if not path.is_file():
        pytest.fail(f"axe-core not found at {path} (NDS_AXE_JS)")
    return path.read_text(encoding="utf-8")


def chromium_path() -> str:
    exe = find_chromium()
    if exe is None:
        pytest.fail(
            "Chromium not found: the browser test needs Debian's 'chromium' package "
            "('make test' installs it via APT_PACKAGES, or: apt-get install -y chromium), "
            "or NDS_CHROMIUM=/path/to/chromium"
        )
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """An ASGI app served by uvicorn in a thread on 127.0.0.1 (stopped on exit, even on failure)."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = (
    "axe.run(document, {runOnly: {type: 'tag', values: TAGS}, resultTypes: ['violations']})"
    ".then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))))"
).replace("TAGS", json.dumps(WCAG_TAGS))


def check_axe(browser: Browser, axe_source: str, where: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the current page, one line each."""
    if not browser.evaluate("typeof axe !== 'undefined'"):
        browser.evaluate(axe_source)
    violations = json.loads(browser.evaluate(AXE_RUN, await_promise=True))
    return [f"{where}: {v['id']} ({v['impact']}) {v['help']}: {v['nodes'][:3]}" for v in violations]
