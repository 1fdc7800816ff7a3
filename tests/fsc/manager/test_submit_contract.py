"""fsc-test-suite manager.md: Manager-SubmitContract-1..12, against real Manager processes over mTLS."""

from __future__ import annotations

import pytest
from mgr_support import (
    CONSUMER,
    DELEGATOR,
    DIRECTORY,
    OUTSIDER,
    PROVIDER,
    RSA_PEER,
    SERVICE,
    Harness,
    assert_fsc_error,
)

pytestmark = pytest.mark.integration


def _submitted(h: Harness, caller: str, target: str, content: dict) -> None:
    r = h.post_contract(caller, target, content)
    assert r.status_code == 201, r.text
    stored = h.contracts_seen_by(caller, target)
    h_ = h.content_hash(content)
    assert stored[h_]["content"] == content
    assert h.pid(caller) in stored[h_]["signatures"]["accept"]


def test_Manager_SubmitContract_1(harness: Harness) -> None:
    """ServiceConnectionGrant submitted by the Outway Peer to the providing Peer is accepted."""
    _submitted(harness, CONSUMER, PROVIDER, harness.content(harness.sc(CONSUMER)))


def test_Manager_SubmitContract_2(harness: Harness) -> None:
    """ServicePublicationGrant submitted to the Directory; the Directory accepts it automatically."""
    h = harness
    content = h.content(h.sp(PROVIDER))
    _submitted(h, PROVIDER, DIRECTORY, content)
    h.wait_signature(PROVIDER, DIRECTORY, h.content_hash(content), DIRECTORY)


def test_Manager_SubmitContract_3(harness: Harness) -> None:
    """DelegatedServicePublicationGrant submitted by the Delegator to the Directory."""
    h = harness
    _submitted(h, DELEGATOR, DIRECTORY, h.content(h.dsp(PROVIDER, DELEGATOR)))


def test_Manager_SubmitContract_4(harness: Harness) -> None:
    """DelegatedServiceConnectionGrant submitted by the Delegator to the providing Peer."""
    h = harness
    _submitted(h, DELEGATOR, PROVIDER, h.content(h.dsc(CONSUMER, DELEGATOR)))


def test_Manager_SubmitContract_5(harness: Harness) -> None:
    """ServiceConnectionGrant for a Service offered on behalf of another Peer (delegated service)."""
    h = harness
    _submitted(h, CONSUMER, PROVIDER, h.content(h.sc(CONSUMER, service_delegator=DELEGATOR)))


def test_Manager_SubmitContract_6(harness: Harness) -> None:
    """DelegatedServiceConnectionGrant for a delegated service."""
    h = harness
    _submitted(h, DELEGATOR, PROVIDER, h.content(h.dsc(CONSUMER, DELEGATOR, service_delegator=OUTSIDER)))


def test_Manager_SubmitContract_7(harness: Harness) -> None:
    """A Peer that is not on the contract cannot submit it."""
    h = harness
    content = h.content(h.sc(CONSUMER))
    r = h.post_contract(OUTSIDER, PROVIDER, content)
    assert_fsc_error(r, 422, "ERROR_CODE_PEER_NOT_PART_OF_CONTRACT")
    assert h.content_hash(content) not in h.contracts_seen_by(CONSUMER, PROVIDER)


def test_Manager_SubmitContract_8(harness: Harness) -> None:
    """A ServicePublicationGrant mixed with another grant is refused."""
    h = harness
    content = h.content(h.sp(PROVIDER), h.sc(CONSUMER))
    r = h.post_contract(PROVIDER, DIRECTORY, content)
    assert_fsc_error(r, 422, "ERROR_CODE_GRANT_COMBINATION_NOT_ALLOWED")


def test_Manager_SubmitContract_9(harness: Harness) -> None:
    """A Group ID other than the receiving Manager's is refused."""
    h = harness
    content = h.content(h.sc(CONSUMER), group_id="another-group")
    r = h.post_contract(CONSUMER, PROVIDER, content, signature=h.sign(CONSUMER, "$1$1$" + "A" * 86))
    assert_fsc_error(r, 422, "ERROR_CODE_INCORRECT_GROUP_ID")


def test_Manager_SubmitContract_10(harness: Harness) -> None:
    """An unsupported hash algorithm in the content (suite body text; its table repeats -9's title)."""
    h = harness
    content = h.content(h.sc(CONSUMER), hash_algorithm="HASH_ALGORITHM_SHA2_256")
    r = h.post_contract(CONSUMER, PROVIDER, content, signature=h.sign(CONSUMER, "$1$1$" + "A" * 86))
    assert_fsc_error(r, 422, "ERROR_CODE_UNKNOWN_HASH_ALGORITHM_HASH")


@pytest.mark.parametrize("rsa_hash", [256, 384, 512])
def test_Manager_SubmitContract_11(harness: Harness, rsa_hash: int) -> None:
    """A contract signed with RS256/RS384/RS512 is created (201)."""
    h = harness
    content = h.content(h.sc(RSA_PEER))
    sig = h.sign(RSA_PEER, h.content_hash(content), rsa_hash=rsa_hash)
    assert f'"RS{rsa_hash}"' in __import__("base64").urlsafe_b64decode(sig.split(".")[0] + "==").decode()
    r = h.post_contract(RSA_PEER, PROVIDER, content, signature=sig)
    assert r.status_code == 201, r.text
    assert h.content_hash(content) in h.contracts_seen_by(RSA_PEER, PROVIDER)


def test_Manager_SubmitContract_12(harness: Harness) -> None:
    """A contract signed with ES256 is created (201)."""
    h = harness
    content = h.content(h.sc(CONSUMER, name=SERVICE))
    sig = h.sign(CONSUMER, h.content_hash(content))
    assert '"ES256"' in __import__("base64").urlsafe_b64decode(sig.split(".")[0] + "==").decode()
    r = h.post_contract(CONSUMER, PROVIDER, content, signature=sig)
    assert r.status_code == 201, r.text
