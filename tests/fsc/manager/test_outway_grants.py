"""``GET /v1/internal/outway/grants`` (nds extension): the grants an organisation's own Outways may use.

Real Manager processes over real mTLS (the session's Group of conftest.py). Contracts are proposed and
signed through the Managers' own admin APIs, so the consumer's Manager holds them the way it would in
production (delivered by the outboxes, not posted by the test).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from mgr_support import CONSUMER, DELEGATOR, OUTSIDER, PROVIDER, SERVICE, SERVICE_2, Harness, assert_fsc_error

from nds.pki import ca_files, load_certificate, public_key_thumbprint
from nds.pki.issue import issue_peer_certificate

pytestmark = pytest.mark.integration
PATH = "/internal/outway/grants"


def outway_cert(h: Harness, name: str = CONSUMER) -> Path:
    """A second certificate of Peer ``name`` with its own key: a separate Outway of that organisation."""
    d = h.group.state / "outway-certs" / h.p(name).spec.slug
    if not (d / "cert.pem").exists():
        issue_peer_certificate(
            ca_files(h.group.ca_dir), h.pid(name), h.p(name).spec.name, [], d, ip_addresses=["127.0.0.1"]
        )
    return d


def client_for(h: Harness, cert_dir: Path) -> httpx.Client:
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(h.group.ca_dir / "ca.pem"))
    ctx.load_cert_chain(str(cert_dir / "chain.pem"), str(cert_dir / "key.pem"))
    return httpx.Client(verify=ctx, timeout=10.0)


def listed(h: Harness, client: httpx.Client | None = None, at: str = CONSUMER) -> dict[str, dict[str, Any]]:
    r = (client or h.client(at)).get(f"{h.p(at).address}/v1{PATH}")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return {g["grant_hash"]: g for g in r.json()["grants"]}


def propose_at_consumer(h: Harness, grant: dict[str, Any], **overrides: Any) -> tuple[str, str]:
    """The consumer's officer proposes (and so accepts) a contract; returns (content hash, grant hash)."""
    content = h.content(grant, **overrides)
    ch = h.admin_create(CONSUMER, content)
    return ch, h.grant_hashes(content)[0]


def wait_at_provider(h: Harness, content_hash: str) -> None:
    h.wait_for(
        lambda: content_hash in h.contracts_seen_by(CONSUMER, PROVIDER), 20, "contract at the provider"
    )


def wait_listed(h: Harness, gh: str, present: bool = True, client: httpx.Client | None = None) -> None:
    h.wait_for(lambda: (gh in listed(h, client)) == present, 20, f"grant listed={present}")


def test_valid_connection_is_listed_with_the_provider_address(harness: Harness) -> None:
    h = harness
    ch, gh = propose_at_consumer(h, h.sc(CONSUMER))
    assert gh not in listed(h)  # proposed: the provider has not accepted
    wait_at_provider(h, ch)
    h.admin_sign(PROVIDER, ch)
    wait_listed(h, gh)
    g = listed(h)[gh]
    assert g == {
        "grant_hash": gh,
        "grant_type": "GRANT_TYPE_SERVICE_CONNECTION",
        "contract_content_hash": ch,
        "valid_until": g["valid_until"],
        "service": {"peer_id": h.pid(PROVIDER), "name": SERVICE, "manager_address": h.p(PROVIDER).address},
    }
    assert g["valid_until"] > time.time()
    # Revoked by the consumer itself: gone at once (its own Manager holds its own signature).
    h.admin_sign(CONSUMER, ch, "revoke")
    assert gh not in listed(h)


def test_revoked_by_the_provider_and_rejected_are_not_listed(harness: Harness) -> None:
    h = harness
    ch, gh = propose_at_consumer(h, h.sc(CONSUMER, name=SERVICE_2))
    wait_at_provider(h, ch)
    h.admin_sign(PROVIDER, ch)
    wait_listed(h, gh)
    h.admin_sign(PROVIDER, ch, "revoke")
    wait_listed(h, gh, present=False)

    ch2, gh2 = propose_at_consumer(h, h.sc(CONSUMER))
    wait_at_provider(h, ch2)
    h.admin_sign(PROVIDER, ch2, "reject")
    h.wait_signature(CONSUMER, CONSUMER, ch2, PROVIDER, "reject")
    assert gh2 not in listed(h)


def test_not_yet_valid_contract_is_not_listed(harness: Harness) -> None:
    h = harness
    now = int(time.time())
    ch, gh = propose_at_consumer(
        h, h.sc(CONSUMER), validity={"not_before": now + 3600, "not_after": now + 7200}
    )
    wait_at_provider(h, ch)
    h.admin_sign(PROVIDER, ch)
    h.wait_signature(CONSUMER, CONSUMER, ch, PROVIDER)  # accepted by both, but not valid before not_before
    assert gh not in listed(h)


def test_delegated_connection_names_the_delegator(harness: Harness) -> None:
    h = harness
    content = h.content(h.dsc(CONSUMER, DELEGATOR))
    ch = h.admin_create(DELEGATOR, content)
    gh = h.grant_hashes(content)[0]
    h.wait_for(lambda: ch in h.contracts_seen_by(CONSUMER, CONSUMER), 20, "contract at the consumer")
    h.wait_for(lambda: ch in h.contracts_seen_by(PROVIDER, PROVIDER), 20, "contract at the provider")
    h.admin_sign(CONSUMER, ch)
    h.admin_sign(PROVIDER, ch)
    wait_listed(h, gh)
    g = listed(h)[gh]
    assert g["grant_type"] == "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION"
    assert g["delegator"] == {"peer_id": h.pid(DELEGATOR)}
    assert g["service"]["manager_address"] == h.p(PROVIDER).address
    # The delegator is not the outway peer: its own Manager lists nothing of it for its key.
    assert gh not in listed(h, at=DELEGATOR)


def test_only_grants_pinned_to_the_callers_key(harness: Harness) -> None:
    """Two Outways of one organisation with different keys each see only the grants pinned to theirs."""
    h = harness
    second = outway_cert(h)
    thumb = public_key_thumbprint(load_certificate(second / "cert.pem"))
    assert thumb != h.thumbprint(CONSUMER)
    grant = h.sc(CONSUMER)
    grant["outway"]["public_key_thumbprint"] = thumb
    ch, gh = propose_at_consumer(h, grant)
    ch_main, gh_main = propose_at_consumer(h, h.sc(CONSUMER))
    for c in (ch, ch_main):
        wait_at_provider(h, c)
        h.admin_sign(PROVIDER, c)
    with client_for(h, second) as other:
        wait_listed(h, gh, client=other)
        wait_listed(h, gh_main)
        seen_by_second = listed(h, other)
        seen_by_main = listed(h)
    assert gh in seen_by_second and gh_main not in seen_by_second
    assert gh_main in seen_by_main and gh not in seen_by_main


def test_another_organisations_certificate_gets_403(harness: Harness) -> None:
    h = harness
    for caller in (PROVIDER, OUTSIDER):
        r = h.get(caller, CONSUMER, PATH)
        assert_fsc_error(r, 403, "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED")
        assert h.pid(CONSUMER) in r.json()["message"] and "grant" not in r.json()
    # an Outway certificate of another organisation, too
    with client_for(h, outway_cert(h, PROVIDER)) as c:
        r = c.get(f"{h.p(CONSUMER).address}/v1{PATH}")
    assert_fsc_error(r, 403, "ERROR_CODE_PEER_CERTIFICATE_VERIFICATION_FAILED")


def test_etag_and_if_none_match(harness: Harness) -> None:
    h = harness
    url = f"{h.p(CONSUMER).address}/v1{PATH}"
    r = h.client(CONSUMER).get(url)
    assert r.status_code == 200 and r.headers["ETag"].startswith('"')
    again = h.client(CONSUMER).get(url, headers={"If-None-Match": r.headers["ETag"]})
    if again.status_code == 200:  # another test changed the list in between: the tag changed with it
        assert again.headers["ETag"] != r.headers["ETag"]
    else:
        assert again.status_code == 304 and again.content == b""
        assert again.headers["ETag"] == r.headers["ETag"]
    stale = h.client(CONSUMER).get(url, headers={"If-None-Match": '"not-the-tag"'})
    assert stale.status_code == 200 and "grants" in stale.json()
