"""``nds digilab up --detach`` / ``down`` / ``status`` and ``nds pki issue --state`` as a user runs them:
separate processes, a real federation on loopback, digilab.json as documented in docs/digilab.md.
These run the FSC-level federation (``--federation fsc``: sample services); the full FDS federation
(registers, applications, logboeken) is tested in tests/digilab/registers and tests/digilab/web."""

from __future__ import annotations

import json
import os
import shlex
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def nds(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nds", *args], capture_output=True, text=True, timeout=timeout
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
    except OSError:
        return False


def procs_mentioning(state: Path) -> list[int]:
    """Live processes whose command line mentions ``state`` (all DigiLab components do)."""
    out = []
    needle = str(state.resolve()).encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in Path(entry.path, "cmdline").read_bytes() and alive(int(entry.name)):
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], str]]:
    state = tmp_path_factory.mktemp("digilab") / "state"
    res = nds(
        "digilab", "up", "--state", str(state), "--detach", "--federation", "fsc", "--host-prefix", "127.0.6."
    )
    try:
        assert res.returncode == 0, res.stderr + res.stdout
        data = json.loads((state / "digilab.json").read_text())
        yield state, data, res.stdout
    finally:
        nds("digilab", "down", "--state", str(state))


def test_up_writes_documented_digilab_json(lab: tuple[Path, dict[str, Any], str]) -> None:
    _, data, _ = lab
    assert data["format"] == 1 and data["group_id"] == "digilab"
    assert Path(data["group_rules"]).is_file() and Path(data["trust_anchor"]).is_file()
    assert data["directory"]["roles"] == ["directory"]
    orgs = data["organisations"]
    assert len(orgs) >= 4
    providers = [o for o in orgs if "provider" in o["roles"]]
    consumers = [o for o in orgs if "consumer" in o["roles"]]
    assert len(providers) >= 2 and len(consumers) >= 2
    for o in orgs:
        assert len(o["peer_id"]) == 20 and o["name"]
        assert o["manager_address"].startswith("https://") and o["manager_address"].endswith(":8443")
        for k in ("certificate", "certificate_chain", "key"):
            assert Path(o[k]).is_file()
        assert o["host"].startswith("127.")
    for p in providers:
        assert p["inway_address"] == f"https://{p['host']}:443"
    assert {s["provider_peer_id"] for s in data["services"]} == {p["peer_id"] for p in providers}
    kinds = {g["type"] for g in data["grants"]}
    assert kinds == {"GRANT_TYPE_SERVICE_CONNECTION", "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION"}
    for g in data["grants"]:
        assert g["hash"].startswith("$1$") and g["consumer_peer_id"] in {c["peer_id"] for c in consumers}
    assert len(data["processes"]) >= 6 + 2 * len(providers) + len(consumers)
    assert all(alive(p["pid"]) for p in data["processes"])


def test_printed_commands_work(lab: tuple[Path, dict[str, Any], str]) -> None:
    """Every curl line 'up' prints answers 200 with a transaction ID (run as the printed command)."""
    _, data, out = lab
    lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("curl ")]
    assert len(lines) == len(data["grants"])
    for line in lines:
        argv = shlex.split(line)
        url, header = argv[2], argv[4]
        name, _, value = header.partition(": ")
        r = httpx.get(url, headers={name: value}, timeout=30)
        assert r.status_code == 200, (line, r.text)
        assert r.headers["Fsc-Transaction-Id"]


def test_up_twice_is_refused(lab: tuple[Path, dict[str, Any], str]) -> None:
    state, _, _ = lab
    res = nds("digilab", "up", "--state", str(state), "--detach", "--federation", "fsc")
    assert res.returncode == 2 and "already running" in res.stderr and "Traceback" not in res.stderr


def test_pki_issue_for_an_outside_client(lab: tuple[Path, dict[str, Any], str], tmp_path: Path) -> None:
    """A certificate from the DigiLab CA is trusted by the Inways (no token: 401, not a TLS error)."""
    state, data, _ = lab
    out = tmp_path / "newcomer"
    res = nds(
        "pki",
        "issue",
        "--state",
        str(state),
        "--peer-id",
        "00000002000000000077",
        "--name",
        "Nieuwkomer",
        "--host",
        "127.0.0.1",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    ctx = ssl.create_default_context(cafile=data["trust_anchor"])
    ctx.load_cert_chain(str(out / "chain.pem"), str(out / "key.pem"))
    inway = next(o["inway_address"] for o in data["organisations"] if o["inway_address"])
    r = httpx.get(inway + "/personen", verify=ctx, timeout=10)
    assert r.status_code == 401 and r.headers["Fsc-Error-Code"] == "ERROR_CODE_ACCESS_TOKEN_MISSING"


def test_down_stops_exactly_what_up_started(tmp_path: Path) -> None:
    state = tmp_path / "state"
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        res = nds(
            "digilab",
            "up",
            "--state",
            str(state),
            "--detach",
            "--federation",
            "fsc",
            "--host-prefix",
            "127.0.7.",
        )
        assert res.returncode == 0, res.stderr
        data = json.loads((state / "digilab.json").read_text())
        pids = [p["pid"] for p in data["processes"]]
        res = nds("digilab", "down", "--state", str(state))
        assert res.returncode == 0, res.stderr
        assert res.stdout.count("stopped ") == len(pids)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        assert not any(alive(p) for p in pids)
        assert bystander.poll() is None  # not ours: untouched
        again = nds("digilab", "down", "--state", str(state))
        assert again.returncode == 0 and "nothing was running" in again.stdout
        st = nds("digilab", "status", "--state", str(state))
        assert st.returncode == 0 and "running" not in st.stdout.replace("stopped", "")
    finally:
        bystander.kill()
        bystander.wait()
        nds("digilab", "down", "--state", str(state))


def test_down_without_state_is_a_clear_error(tmp_path: Path) -> None:
    res = nds("digilab", "down", "--state", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no DigiLab state" in res.stderr and "Traceback" not in res.stderr


def test_foreground_up_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    """What `make demo` runs: `up` in the foreground prints what to try; Ctrl+C (SIGINT) stops it all."""
    import signal

    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nds",
            "digilab",
            "up",
            "--state",
            str(state),
            "--federation",
            "fsc",
            "--host-prefix",
            "127.0.8.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        out = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            if line.startswith("A certificate for your own organisation"):
                break
        text = "".join(out)
        assert "Try a call through an Outway" in text and "curl -si" in text, text
        data = json.loads((state / "digilab.json").read_text())
        pids = [p["pid"] for p in data["processes"]]
        assert pids and all(alive(p) for p in pids)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 0
        assert not any(alive(p) for p in pids)
        assert procs_mentioning(state) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        nds("digilab", "down", "--state", str(state))


def test_ctrl_c_during_start_up_leaves_nothing_running(tmp_path: Path) -> None:
    import signal

    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nds",
            "digilab",
            "up",
            "--state",
            str(state),
            "--federation",
            "fsc",
            "--host-prefix",
            "127.0.9.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (state / "digilab.json").exists():
            time.sleep(0.05)
        data = json.loads((state / "digilab.json").read_text())  # written early: the Managers run
        pids = [p["pid"] for p in data["processes"]]
        assert pids
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (130, 0), err
        assert "Traceback" not in err
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (any(alive(p) for p in pids) or procs_mentioning(state)):
            time.sleep(0.1)
        assert not any(alive(p) for p in pids)
        assert procs_mentioning(state) == []  # also what was started after digilab.json was first written
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        nds("digilab", "down", "--state", str(state))
