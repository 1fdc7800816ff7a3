"""The programme pages and API served by a real ``nds serve`` process on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nds.db import make_engine
from nds.programme.parse import parse_text
from nds.programme.store import init_db, store_result

pytestmark = pytest.mark.integration
SEED = Path(__file__).parent / "fixtures" / "seed.txt"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(90)
def test_served_pages_and_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nds.db'}"
    eng = make_engine(url, immediate=True)
    init_db(eng)
    store_result(eng, parse_text(SEED.read_text(encoding="utf-8")), "seed.txt")
    eng.dispose()
    port = _free_port()
    env = {**os.environ, "NDS_DATABASE_URL": url, "NDS_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nds", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=10) as c:
            page = c.get("/programma/documenten/1")
            assert page.status_code == 200 and page.text.count('<section class="qa"') == 107
            assert "Content-Security-Policy" in page.headers
            assert 'href="/programma"' in c.get("/").text  # in the main navigation
            items = c.get(
                "/programme/v1/toezeggingen", params={"vandaag": "2026-01-15", "signaal": "te_laat"}
            )
            assert items.status_code == 200 and {i["question"] for i in items.json()} >= {54, 62, 69}
            rep = c.get("/programme/v1/rapport", params={"vandaag": "2026-01-15"}).json()
            assert rep["total"] == len(c.get("/programme/v1/toezeggingen").json())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
