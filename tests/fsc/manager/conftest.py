"""A running Group per (database backend, FSC version): Directory + five Peers as real processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mgr_support import INWAY_ADDRESS, PROVIDER, SERVICE, SERVICE_2, Harness, default_specs

from nds.fsc.localgroup import LocalGroup

VARIANTS = [
    pytest.param(("sqlite", "1.1"), id="sqlite-1.1"),
    pytest.param(("postgres", "1.1"), id="postgres-1.1", marks=pytest.mark.postgres),
    pytest.param(("sqlite", "draft"), id="sqlite-draft"),
]


def start_group(state: Path, backend: str, version: str, request: pytest.FixtureRequest) -> LocalGroup:
    specs = default_specs()
    group = LocalGroup(
        state,
        specs,
        fsc_version=version,
        host_start=100,
        rules_overrides={"signature_retry_schedule": [1, 1, 2]},
    )
    if backend == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        for spec in group.specs:
            spec.database_url = cluster.create_database()
    group.setup()
    return group


@pytest.fixture(scope="session", params=VARIANTS)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    backend, version = request.param
    state = Path(tempfile.mkdtemp(prefix=f"nds-mgr-{backend}-{version}-"))
    group = start_group(state, backend, version, request)
    h = Harness(group, version, backend)
    try:
        group.start(timeout=60)
        r = h.admin(PROVIDER, "PUT", "/inways/inway-a", {"address": INWAY_ADDRESS})
        assert r.status_code == 200, r.text
        for name in (SERVICE, SERVICE_2):
            r = h.admin(
                PROVIDER,
                "PUT",
                f"/services/{name}",
                {"inway": "inway-a", "endpoint_url": "http://127.0.0.1:9/"},
            )
            assert r.status_code == 200, r.text
        yield h
    finally:
        h.close()
        for name, p in group.peers.items():
            if p.process is not None and p.process.poll() is not None:
                print(f"manager {name} exited early ({p.process.returncode}):\n{group.tail(p, 40)}")
        group.stop()
        # No request of the whole suite may have ended in an unexpected server error.
        tracebacks = [name for name, p in group.peers.items() if "Traceback" in group.tail(p, 100000)]
        for name in tracebacks:
            print(f"manager {name} log:\n{group.tail(group.peers[name], 60)}")
        if os.environ.get("NDS_KEEP_STATE"):
            print(f"kept state in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    assert not tracebacks, f"tracebacks in the logs of {tracebacks}"
