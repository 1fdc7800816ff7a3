"""The DigiLab's process bookkeeping: what counts as 'ours' when stopping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nds.digilab.procs import is_ours, spawn, stop

pytestmark = pytest.mark.integration


def test_stop_ends_own_children_at_once_even_before_exec_shows(tmp_path: Path) -> None:
    """Stopping right after spawning (the command line may still be empty) must not leak the child."""
    for _ in range(5):
        st = spawn("x", "service", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "x.log")
        assert stop([st.pid], tmp_path) == [st.pid]
        assert st.popen is not None
        assert st.popen.wait(timeout=15) is not None


def test_stop_leaves_other_processes_alone(tmp_path: Path) -> None:
    """A process that is neither our child nor mentions the state directory is never signalled."""
    other = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {sys.executable} -c 'import time; time.sleep(60)'"], start_new_session=True
    )
    try:
        elsewhere = tmp_path / "elsewhere"
        assert not is_ours(other.pid, elsewhere)
        # from another process (so 'other' is not its child) with a state directory 'other' does not mention
        code = (
            "from pathlib import Path; from nds.digilab.procs import stop; "
            f"print(stop([{other.pid}], Path({str(elsewhere)!r})))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "[]", out.stderr
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
