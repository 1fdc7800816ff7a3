"""The Outway learns its grants from its own organisation's Manager (``manager_address``).

A running DigiLab (real Manager, Inway, Outway and service processes over real mTLS). Every contract
here is signed after the Outways started and is never written to their grants file, so whatever the
Outway knows of it came from its own Manager's ``GET /v1/internal/outway/grants``. The token
lifetime is long (120 s) so that a grant disappearing from the Outway within seconds of a revocation
is the Manager source at work, not an expiring token.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fscdp_harness import assert_fsc_error

from nds.digilab.orchestrator import DigiLab
from nds.fsc.grouprules import load_group_rules
from nds.fsc.outway.config import GrantConfig
from nds.fsc.outway.grants import GrantBook, ManagerGrants
from nds.pki import client_ssl_context, load_certificate, public_key_thumbprint

pytestmark = pytest.mark.e2e
OUTWAY = "ERROR_DOMAIN_OUTWAY"
UNKNOWN = "ERROR_CODE_GRANT_HASH_UNKNOWN"
REFRESH = 5.0  # the Outway's default manager_refresh_seconds, as the DigiLab runs it


class Lab:
    def __init__(self, root: Path) -> None:
        self.lab = DigiLab(
            root / "lab", token_lifetime=120, clock_skew=1, timeout=90, host_prefix="127.0.23."
        )
        self.data = self.lab.up()
        self.orgs = {o["slug"]: o for o in self.data["organisations"]}
        self.http = httpx.Client(timeout=30)

    def call(self, consumer: str, grant_hash: str, path: str = "/adressen/1") -> httpx.Response:
        return self.http.get(
            self.orgs[consumer]["outway_address"] + path, headers={"Fsc-Grant-Hash": grant_hash}
        )

    def grants_file(self, consumer: str) -> Path:
        return self.lab.peer(consumer).dir / "outway-grants.json"

    def contract(self, consumer: str, provider: str, service: str, **kw: Any) -> dict[str, Any]:
        thumb = public_key_thumbprint(load_certificate(self.lab.peer(consumer).cert))
        grant: dict[str, Any] = {
            "type": "GRANT_TYPE_SERVICE_CONNECTION",
            "outway": {"peer_id": self.orgs[consumer]["peer_id"], "public_key_thumbprint": thumb},
            "service": {
                "type": "SERVICE_TYPE_SERVICE",
                "peer_id": self.orgs[provider]["peer_id"],
                "name": service,
            },
        }
        return self.lab.make_contract(provider, grant, [consumer])

    def manager_name(self, org: str) -> str:
        return str(self.lab.peer(org).spec.name)

    def outway_log(self, org: str) -> str:
        return (self.lab.peer(org).dir / "outway.log").read_text(errors="replace")

    def ssl_ctx(self, org: str) -> Any:
        peer = self.lab.peer(org)
        return client_ssl_context(load_group_rules(self.lab.group.rules_path), peer.chain, peer.key)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    f = Lab(tmp_path_factory.mktemp("mgrgrants"))
    try:
        yield f
    finally:
        f.http.close()
        f.lab.down_started()
        f.lab.group.stop()  # Managers restarted by a test are the LocalGroup's, not in 'started'


T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        r = check()
        if r is not None:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def test_contract_accepted_after_start_is_usable_without_touching_a_file(lab: Lab) -> None:
    before = lab.grants_file("uitkering").read_bytes()
    c = lab.contract("uitkering", "kadaster", "adressen")
    gh = c["grant_hashes"][0]
    assert gh not in json.loads(before)
    r = eventually(
        lambda: r if (r := lab.call("uitkering", gh)).status_code == 200 else None,
        REFRESH + 10,
        "the Outway to learn the grant from its Manager",
    )
    assert r.json()["service"] == "adressen" and r.json()["path"] == "/adressen/1"
    assert r.headers["Fsc-Transaction-Id"]
    assert lab.grants_file("uitkering").read_bytes() == before  # nothing was written to the file


def test_first_request_finds_a_grant_signed_a_moment_ago(lab: Lab) -> None:
    """The request that misses waits (briefly) for the Manager's answer instead of getting a 404."""
    c = lab.contract("uitkering", "kadaster", "adressen")
    gh = c["grant_hashes"][0]
    time.sleep(1.2)  # past the miss rate limit (1 s) that an earlier test may have used up
    r = lab.call("uitkering", gh, "/adressen/2")
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "/adressen/2"


def test_revoked_contract_disappears_from_the_outways_view(lab: Lab) -> None:
    c = lab.contract("saas", "kadaster", "adressen")
    gh = c["grant_hashes"][0]
    eventually(
        lambda: r if (r := lab.call("saas", gh)).status_code == 200 else None, REFRESH + 10, "grant usable"
    )
    lab.lab.admin("kadaster", "POST", f"/contracts/{c['content_hash']}/revoke")
    revoked = time.monotonic()
    r = eventually(
        lambda: r if (r := lab.call("saas", gh)).status_code != 200 else None,
        REFRESH + 15,
        "the revoked grant to leave the Outway's view",
    )
    # Gone from the Outway's view (404), well before the cached 120 s token would have expired.
    assert_fsc_error(r, 404, UNKNOWN, OUTWAY)
    assert time.monotonic() - revoked < 60
    assert lab.call("saas", gh).status_code == 404


def test_outway_keeps_its_last_view_while_its_manager_is_down(lab: Lab) -> None:
    c = lab.contract("gemeente", "kadaster", "adressen")
    gh = c["grant_hashes"][0]
    eventually(
        lambda: r if (r := lab.call("gemeente", gh)).status_code == 200 else None, REFRESH + 10, "usable"
    )
    name = lab.manager_name("gemeente")
    log_before = lab.outway_log("gemeente").count("own Manager")
    lab.lab.group.stop([name])
    try:
        deadline = time.monotonic() + 2.5 * REFRESH  # at least two failed refreshes
        calls = 0
        while time.monotonic() < deadline:
            r = lab.call("gemeente", gh)
            assert r.status_code == 200, r.text  # the token is cached; the grant stays known
            assert_fsc_error(lab.call("gemeente", f"$1$3${uuid.uuid4().hex}"), 404, UNKNOWN, OUTWAY)
            calls += 1
            time.sleep(0.1)
        assert calls > 10
        log = lab.outway_log("gemeente")
        # Logged once when the failure started, not per request nor per refresh.
        assert log.count("own Manager") - log_before == 1, log[-2000:]
        assert "serving the last known" in log
    finally:
        lab.lab.group.start([name], timeout=60)
    eventually(
        lambda: r if "answers again" in (r := lab.outway_log("gemeente")) else None,
        REFRESH + 10,
        "the Outway to report its Manager back",
    )
    assert lab.call("gemeente", gh).status_code == 200


def test_miss_fetch_is_immediate_for_lookup_and_rate_limited(lab: Lab) -> None:
    """In process, against the running Manager of 'uitkering' over mTLS: ``lookup`` finds a grant
    signed a moment ago at the first try; a spray of unknown hashes costs at most one fetch per
    ``miss_interval``."""
    org = "uitkering"
    rules = load_group_rules(lab.lab.group.rules_path)

    async def run() -> tuple[int, bool, bool]:
        mg = ManagerGrants(
            lab.orgs[org]["manager_address"],
            lab.ssl_ctx(org),
            rules,
            lab.orgs[org]["peer_id"],
            interval=300,  # no periodic refresh during the test: only misses fetch
            miss_interval=1.0,
        )
        book = GrantBook({}, None, mg)
        await book.start()
        try:
            fetched = mg.fetches
            for _ in range(200):  # ~0.4 s: many fetch round trips long, shorter than miss_interval
                assert book.get(f"$1$3${uuid.uuid4().hex}") is None
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.3)
            spray = mg.fetches - fetched
            c = await asyncio.to_thread(lab.contract, org, "brp", "personen")
            await asyncio.sleep(1.1)  # past the miss interval
            found = await book.lookup(c["grant_hashes"][0])
            brp = lab.orgs["brp"]["manager_address"]
            return spray, found is not None, isinstance(found, GrantConfig) and found.manager_address == brp
        finally:
            await book.stop()

    spray, found, address_ok = asyncio.run(run())
    assert spray <= 1, spray
    assert found and address_ok


def test_manager_of_another_organisation_is_refused(lab: Lab) -> None:
    """An Outway pointed at another organisation's Manager learns nothing: that Manager answers 403
    (and the Outway would refuse the answer anyway, the Manager not carrying its peer ID)."""
    rules = load_group_rules(lab.lab.group.rules_path)

    async def run() -> tuple[bool, dict[str, GrantConfig]]:
        mg = ManagerGrants(
            lab.orgs["uitkering"]["manager_address"],
            lab.ssl_ctx("gemeente"),
            rules,
            lab.orgs["gemeente"]["peer_id"],
            interval=300,
        )
        await mg.start()
        try:
            return await mg.refresh(), dict(mg.grants)
        finally:
            await mg.stop()

    ok, grants = asyncio.run(run())
    assert not ok and grants == {}
    r = httpx.get(
        f"{lab.orgs['uitkering']['manager_address']}/v1/internal/outway/grants",
        verify=lab.ssl_ctx("gemeente"),
        timeout=10,
    )
    assert r.status_code == 403
    assert r.headers["Fsc-Error-Code"] == "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED"
