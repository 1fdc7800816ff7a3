"""A small Chrome DevTools Protocol client for the browser tests (no WebDriver needed).

Headless Chromium is started with ``--remote-debugging-port=0`` on loopback; the port is read from
``DevToolsActivePort`` in its profile directory, and one page target is driven over a WebSocket
(``websockets``' synchronous client, ``flatten`` sessions).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    explicit = os.environ.get("NDS_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CdpError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="nds-chromium-"))
        args = [
            executable,
            "--headless=new",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--lang=nl-NL",
            "--window-size=1280,1024",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.log = open(self.profile / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self.session: str | None = None
        try:
            self.ws = self._stack.enter_context(
                connect(self._ws_url(), max_size=64 * 1024 * 1024, open_timeout=self.timeout)
            )
            self._attach()
        except BaseException:
            self.close()
            raise

    def _ws_url(self) -> str:
        f = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with {self.proc.returncode}: {self.log_tail()}")
            if f.exists():
                lines = f.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise CdpError(f"chromium did not open its DevTools port: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.profile / "chromium.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> Any:
        assert self.ws is not None
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"no answer to {method}")
            data = json.loads(self.ws.recv(timeout=left))
            if data.get("id") == self._id:
                if "error" in data:
                    raise CdpError(f"{method}: {data['error']}")
                return data.get("result", {})
            if "method" in data:
                self.events.append(data)

    def _attach(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=False
        )["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _wait_load(self) -> None:
        assert self.ws is not None
        deadline = time.monotonic() + self.timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == "Page.loadEventFired" and ev.get("sessionId") == self.session:
                    del self.events[: i + 1]
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("page did not finish loading")
            data = json.loads(self.ws.recv(timeout=left))
            if "method" in data:
                self.events.append(data)

    def goto(self, url: str) -> None:
        self.events.clear()
        res = self.send("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise CdpError(f"navigation to {url} failed: {res['errorText']}")
        self._wait_load()

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        res = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
        )
        if "exceptionDetails" in res:
            raise CdpError(f"script failed: {res['exceptionDetails'].get('text')} {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def submit(self, expression: str) -> None:
        """Run ``expression`` (which submits a form or clicks a link) and wait for the next page."""
        self.events.clear()
        self.evaluate(expression)
        self._wait_load()

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def text(self) -> str:
        return str(self.evaluate("document.body.innerText"))

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, 15)
                    self.proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(self.proc.pid, 9)
                    self.proc.wait(timeout=10)
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
