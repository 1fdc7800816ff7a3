"""Starting and stopping the DigiLab's processes, and proving a pid is still ours before a signal."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


class DigiLabError(Exception):
    """Something the user can act on (message is user-facing)."""


@dataclass
class Started:
    name: str
    kind: str
    pid: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    argv: list[str] | None = None

    def exited(self, state: Path) -> bool:
        if self.popen is not None:
            return self.popen.poll() is not None
        return not is_ours(self.pid, state)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "pid": self.pid, "log": str(self.log)}


def spawn(name: str, kind: str, argv: list[str], log: Path) -> Started:
    log.parent.mkdir(parents=True, exist_ok=True)
    fh = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        p = subprocess.Popen(
            argv,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: down ends exactly this group
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        fh.close()
    return Started(name, kind, p.pid, log, p, argv)


def is_ours(pid: int, state: Path) -> bool:
    """Alive, and its command line mentions our state directory (pids get reused)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if not raw:
        return False
    return str(state.resolve()).encode() in raw


def _zombie_reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _is_my_child(pid: int) -> bool:
    """A live child of this process (right after spawning, its command line can still be empty)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0] != "Z" and int(fields[1]) == os.getpid()


def stop(pids: list[int], state: Path, timeout: float = 10.0) -> list[int]:
    """SIGTERM each process group we own, SIGKILL what is left after ``timeout``; returns those stopped.

    Ours: a child of this process, or a process whose command line mentions ``state``."""
    mine = [p for p in pids if _is_my_child(p) or is_ours(p, state)]
    for pid in mine:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in mine:
            _zombie_reap(pid)
        if not any(_is_my_child(p) or is_ours(p, state) for p in mine):
            break
        time.sleep(0.05)
    for pid in mine:
        if _is_my_child(pid) or is_ours(pid, state):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            _zombie_reap(pid)
    return mine


def wait_healthy(url: str, started: Started, state: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if started.exited(state):
            raise DigiLabError(
                f"{started.name} stopped during start-up; see {started.log}:\n{tail(started.log)}"
            )
        try:
            r = httpx.get(url, timeout=1.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.05)
    raise DigiLabError(f"{started.name} not healthy after {timeout:.0f}s ({last}); see {started.log}")


def wait_tcp(host: str, port: int, started: Started, state: Path, timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started.exited(state):
            raise DigiLabError(
                f"{started.name} stopped during start-up; see {started.log}:\n{tail(started.log)}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise DigiLabError(f"{started.name} is not listening on {host}:{port}; see {started.log}")


def tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""
