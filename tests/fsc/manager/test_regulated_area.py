"""Regulated Area extension (fsc-regulated-area): registration, members listing, refusing non-members
(contracts and publications), and the token endpoint re-checking membership after a revocation."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mgr_support import INWAY_ADDRESS, SERVICE, Harness, assert_fsc_error, assert_oauth_error

from nds.fsc.localgroup import LocalGroup, PeerSpec

pytestmark = pytest.mark.integration

MA, PROVIDER, MEMBER, STRANGER = "Directory", "Provider A", "Member B", "Stranger N"
AREA = "fds"


@pytest.fixture(scope="module", params=["1.1", "draft"])
def ra(request: pytest.FixtureRequest) -> Iterator[Harness]:
    version = request.param
    state = Path(tempfile.mkdtemp(prefix="nds-mgr-ra-"))
    extra = {"regulated_areas": [AREA], "membership_cache_seconds": 0.0}
    group = LocalGroup(
        state,
        [
            PeerSpec(PROVIDER, extra_config=extra),
            PeerSpec(MEMBER, extra_config=extra),
            PeerSpec(STRANGER, extra_config=extra),
        ],
        directory=PeerSpec(MA, membership_administrator=True, extra_config=extra),
        fsc_version=version,
        host_start=180,
        rules_overrides={"membership_administrator_peer_id": f"{1:020d}", "signature_retry_schedule": [1]},
    )
    h = Harness(group, version, "sqlite")
    try:
        group.setup()
        group.start(timeout=60)
        assert h.admin(PROVIDER, "PUT", "/inways/inway-a", {"address": INWAY_ADDRESS}).status_code == 200
        assert (
            h.admin(
                PROVIDER,
                "PUT",
                f"/services/{SERVICE}",
                {"inway": "inway-a", "endpoint_url": "http://127.0.0.1:9/"},
            ).status_code
            == 200
        )
        yield h
    finally:
        h.close()
        group.stop()
        shutil.rmtree(state, ignore_errors=True)


def _registration(h: Harness, name: str) -> dict:
    return h.content(
        {
            "type": "GRANT_TYPE_PEER_REGISTRATION",
            "membership_administrator": {"peer_id": h.pid(MA), "regulated_area_name": AREA},
            "member": {"peer_id": h.pid(name), "role": "MEMBER"},
        }
    )


def _register(h: Harness, name: str) -> str:
    content = _registration(h, name)
    r = h.post_contract(name, MA, content)
    assert r.status_code == 201, r.text
    ch = h.content_hash(content)
    h.wait_signature(name, MA, ch, MA)
    return ch


def _members(h: Harness, caller: str) -> set[str]:
    r = h.get(caller, MA, f"/regulated-areas/{AREA}/members")
    assert r.status_code == 200, r.text
    return {m["peer"]["id"] for m in r.json()["members"]}


def test_membership_flow(ra: Harness) -> None:
    h = ra
    assert h.get(PROVIDER, PROVIDER, "/peer").json()["enabled_extensions"]["EXTENSION_REGULATED_AREA"]
    _register(h, PROVIDER)
    reg_b = _register(h, MEMBER)
    assert {h.pid(PROVIDER), h.pid(MEMBER), h.pid(MA)} <= _members(h, PROVIDER)
    assert h.pid(STRANGER) not in _members(h, PROVIDER)

    # A non-member cannot get a connection contract with a member's service ...
    r = h.post_contract(STRANGER, PROVIDER, h.content(h.sc(STRANGER)))
    assert_fsc_error(r, 422, "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED")
    assert "not a member" in r.json()["message"]
    # ... nor publish a service in the Directory of the regulated area.
    r = h.post_contract(STRANGER, MA, h.content(h.sp(STRANGER, "stranger-svc")))
    assert_fsc_error(r, 422, "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED")
    # A member can.
    content = h.content(h.sc(MEMBER))
    assert h.post_contract(MEMBER, PROVIDER, content).status_code == 201
    h.admin_sign(PROVIDER, h.content_hash(content))
    form = {
        "grant_type": "client_credentials",
        "scope": h.grant_hashes(content)[0],
        "client_id": h.pid(MEMBER),
    }
    assert h.token(MEMBER, PROVIDER, form).status_code == 200

    # The Membership Administrator revokes the registration: the token endpoint re-checks membership.
    h.admin_sign(MA, reg_b, "revoke")
    assert h.pid(MEMBER) not in _members(h, PROVIDER)
    r = h.token(MEMBER, PROVIDER, form)
    assert_oauth_error(r, "unauthorized_client")
    assert r.json()["error_description"] == "Peer is not a member of the Regulated Area"


def test_members_endpoint_only_on_membership_administrator(ra: Harness) -> None:
    r = ra.get(MEMBER, PROVIDER, f"/regulated-areas/{AREA}/members")
    assert r.status_code == 404


def test_draft_area_properties_on_grants(ra: Harness) -> None:
    """Draft: a Service in a Regulated Area needs grants naming the area and its Membership Administrator
    in ``properties``; members only."""
    h = ra
    if h.version != "draft":
        pytest.skip("grant properties exist only in the FSC draft")
    r = h.admin(
        PROVIDER,
        "PUT",
        "/services/area-svc",
        {"inway": "inway-a", "endpoint_url": "http://127.0.0.1:9/", "regulated_area": AREA},
    )
    assert r.status_code == 200, r.text
    _register(h, MEMBER)
    tags = {"membership_administrator_peer_id": h.pid(MA), "regulated_area_name": AREA}
    r = h.post_contract(MEMBER, PROVIDER, h.content(h.sc(MEMBER, name="area-svc")))
    assert_fsc_error(r, 422, "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED")
    assert "regulated_area_name" in r.json()["message"]
    wrong = {**tags, "regulated_area_name": "other-area"}
    r = h.post_contract(MEMBER, PROVIDER, h.content(h.sc(MEMBER, name="area-svc", properties=wrong)))
    assert_fsc_error(r, 422, "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED")
    r = h.post_contract(STRANGER, PROVIDER, h.content(h.sc(STRANGER, name="area-svc", properties=tags)))
    assert_fsc_error(r, 422, "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED")
    r = h.post_contract(MEMBER, PROVIDER, h.content(h.sc(MEMBER, name="area-svc", properties=tags)))
    assert r.status_code == 201, r.text
