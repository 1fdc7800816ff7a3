"""Property-based fuzzing of the Manager API from its own OpenAPI document (schemathesis), over real
mTLS against the running Provider Manager: never a 5xx, never a traceback, and the contracts stored
before the run are unchanged afterwards (content and signatures)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from mgr_support import CONSUMER, PROVIDER, Harness
from schemathesis.checks import not_a_server_error

from nds.fsc.manager.openapi import openapi_document

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(openapi_document())


def _snapshot(h: Harness) -> dict[str, tuple]:
    r = h.admin(PROVIDER, "GET", "/contracts")
    assert r.status_code == 200
    return {c["content_hash"]: (c["content"], c["signatures"]) for c in r.json()["contracts"]}


@pytest.fixture
def fuzz_session(harness: Harness) -> requests.Session:
    if (harness.backend, harness.version) != ("sqlite", "1.1"):
        pytest.skip("fuzzing runs once, on the SQLite / FSC 1.1 group")
    s = requests.Session()
    p = harness.p(CONSUMER)
    s.cert = (str(p.chain), str(p.key))
    s.verify = str(harness.group.ca_dir / "ca.pem")
    return s


_BEFORE: dict[str, dict[str, tuple]] = {}


@pytest.fixture
def before(harness: Harness, fuzz_session: requests.Session) -> dict[str, tuple]:
    if "snapshot" not in _BEFORE:
        _BEFORE["snapshot"] = _snapshot(harness)
    return _BEFORE["snapshot"]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_manager_api_fuzz(case, harness: Harness, fuzz_session: requests.Session, before: dict) -> None:
    response = case.call(
        base_url=f"{harness.p(PROVIDER).address}/v1",
        session=fuzz_session,
        timeout=10,
        verify=fuzz_session.verify,
        cert=fuzz_session.cert,
    )
    case.validate_response(response, checks=[not_a_server_error])
    assert "Traceback" not in response.text
    if response.content:
        ctype = (response.headers.get("content-type") or [""])[0]
        assert ctype.startswith("application/json"), response.text[:200]
    if response.status_code >= 400 and response.content and case.path != "/token":
        body = response.json()
        assert body.get("domain") == "ERROR_DOMAIN_MANAGER"


def test_stored_contracts_survive_fuzzing(harness: Harness, fuzz_session: requests.Session) -> None:
    """Runs after the fuzz test in this module: earlier contracts are unchanged and all still hash."""
    after = _snapshot(harness)
    assert "snapshot" in _BEFORE, "the fuzz test did not run first"
    for h, value in _BEFORE["snapshot"].items():
        assert after[h] == value, f"contract {h} changed during fuzzing"
    for h, (content, sigs) in after.items():
        assert harness.content_hash(content) == h
        for sig_type, by_peer in sigs.items():
            assert set(by_peer) <= {harness.pid(n) for n in harness.group.peers}, sig_type
