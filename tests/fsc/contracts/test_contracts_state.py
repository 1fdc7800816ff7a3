"""Derived contract state (fsc-core architecture.md §Contract states and media/state-contract.puml)."""

from __future__ import annotations

import fsc_contract_factories as f
import pytest

from nds.fsc.contracts.kinds import SignatureType
from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.state import ContractState, SignatureRecord, contract_state

pytestmark = pytest.mark.unit

NB, NA = f.NOW - 3600, f.NOW + 86400
CERT = (f.NOW - 10 * 86400, f.NOW + 365 * 86400)
CONTENT = parse_contract_content(f.content(f.scg()), "1.1")


def sig(peer: str, kind: str = "accept", at: int = f.NOW - 100,
        cert: tuple[int, int] = CERT) -> SignatureRecord:
    return SignatureRecord(peer, SignatureType(kind), at, *cert)


BOTH = [sig(f.CONSUMER), sig(f.PROVIDER)]


def test_proposed_until_all_required_peers_accept() -> None:
    state = contract_state(CONTENT, [sig(f.CONSUMER)], f.NOW)
    assert state.state is ContractState.PROPOSED and not state.token_allowed
    assert state.awaiting == {f.PROVIDER} and state.accepted_by == {f.CONSUMER}


def test_valid_when_all_accept() -> None:
    state = contract_state(CONTENT, BOTH, f.NOW)
    assert state.state is ContractState.VALID and state.is_valid and state.token_allowed


def test_future_not_before_is_valid_without_tokens() -> None:
    future = parse_contract_content(f.content(validity={"not_before": f.NOW + 60, "not_after": NA}), "1.1")
    state = contract_state(future, BOTH, f.NOW)
    assert state.state is ContractState.VALID and not state.token_allowed
    assert contract_state(future, BOTH, f.NOW + 60).token_allowed


def test_reject_and_revoke() -> None:
    assert contract_state(CONTENT, [sig(f.CONSUMER), sig(f.PROVIDER, "reject")], f.NOW).state is \
        ContractState.REJECTED
    revoked = contract_state(CONTENT, [*BOTH, sig(f.CONSUMER, "revoke", f.NOW - 1)], f.NOW)
    assert revoked.state is ContractState.REVOKED and not revoked.token_allowed
    assert revoked.decided_by is not None and revoked.decided_by.peer_id == f.CONSUMER


def test_the_earliest_ending_signature_decides() -> None:
    sigs = [*BOTH, sig(f.PROVIDER, "revoke", f.NOW - 50), sig(f.CONSUMER, "reject", f.NOW - 40)]
    assert contract_state(CONTENT, sigs, f.NOW).state is ContractState.REVOKED
    sigs = [*BOTH, sig(f.PROVIDER, "revoke", f.NOW - 30), sig(f.CONSUMER, "reject", f.NOW - 40)]
    assert contract_state(CONTENT, sigs, f.NOW).state is ContractState.REJECTED


def test_revoke_stays_final_after_the_revoker_certificate_expires() -> None:
    expired = (f.NOW - 1000, f.NOW - 1)
    sigs = [*BOTH, sig(f.PROVIDER, "revoke", f.NOW - 500, cert=expired)]
    assert contract_state(CONTENT, sigs, f.NOW).state is ContractState.REVOKED


def test_expired_after_not_after() -> None:
    assert contract_state(CONTENT, BOTH, NA + 1).state is ContractState.EXPIRED
    assert contract_state(CONTENT, BOTH, NA).state is ContractState.VALID  # "not valid *after*"


def test_proposed_contract_past_its_end_is_rejected() -> None:
    assert contract_state(CONTENT, [sig(f.CONSUMER)], NA).state is ContractState.PROPOSED
    state = contract_state(CONTENT, [sig(f.CONSUMER)], NA + 1)
    assert state.state is ContractState.REJECTED


def test_expired_signer_certificate_makes_the_contract_invalid_until_re_signed() -> None:
    short_cert = (f.NOW - 1000, f.NOW + 100)
    sigs = [sig(f.CONSUMER), sig(f.PROVIDER, cert=short_cert)]
    assert contract_state(CONTENT, sigs, f.NOW + 100).is_valid  # notAfter itself is inclusive
    later = contract_state(CONTENT, sigs, f.NOW + 101)
    assert later.state is ContractState.PROPOSED and not later.token_allowed
    assert later.stale_accepts == {f.PROVIDER} and later.awaiting == {f.PROVIDER}
    assert "re-sign" in later.reason
    renewed = (f.NOW + 50, f.NOW + 365 * 86400)
    re_signed = [*sigs, sig(f.PROVIDER, at=f.NOW + 60, cert=renewed)]
    assert contract_state(CONTENT, re_signed, f.NOW + 101).is_valid


def test_certificate_not_yet_valid_does_not_count() -> None:
    future_cert = (f.NOW + 10, f.NOW + 1000)
    assert contract_state(CONTENT, [sig(f.CONSUMER), sig(f.PROVIDER, cert=future_cert)], f.NOW).state is \
        ContractState.PROPOSED


def test_signatures_of_non_parties_are_ignored() -> None:
    stranger = "99999999999999999999"
    sigs = [sig(f.CONSUMER), sig(stranger), sig(stranger, "reject")]
    assert contract_state(CONTENT, sigs, f.NOW).state is ContractState.PROPOSED


def test_optional_party_does_not_block_validity_but_may_revoke() -> None:
    content = parse_contract_content(f.content(f.scg(delegator=f.PUB_DELEGATOR)), "draft")
    assert contract_state(content, BOTH, f.NOW).is_valid
    revoked = contract_state(content, [*BOTH, sig(f.PUB_DELEGATOR, "revoke")], f.NOW)
    assert revoked.state is ContractState.REVOKED


def test_delegated_connection_needs_the_delegator() -> None:
    content = parse_contract_content(f.content(f.dscg()), "1.1")
    assert contract_state(content, BOTH, f.NOW).state is ContractState.PROPOSED
    assert contract_state(content, [*BOTH, sig(f.DELEGATOR)], f.NOW).is_valid


def test_detail_labels() -> None:
    assert contract_state(CONTENT, BOTH, f.NOW).detail == "valid"
    assert contract_state(CONTENT, [sig(f.CONSUMER)], f.NOW).detail == "proposed"
    future = parse_contract_content(f.content(validity={"not_before": f.NOW + 60, "not_after": NA}), "1.1")
    assert contract_state(future, BOTH, f.NOW).detail == "not_yet_valid"
    short = [sig(f.CONSUMER), sig(f.PROVIDER, cert=(f.NOW - 10, f.NOW))]
    assert contract_state(CONTENT, short, f.NOW + 1).detail == "signer_certificate_expired"
    assert contract_state(CONTENT, BOTH, NA + 1).detail == "expired"


def test_signatures_per_peer_and_type() -> None:
    per_peer = {f.CONSUMER: {"accept": sig(f.CONSUMER)},
                f.PROVIDER: {"accept": sig(f.PROVIDER), "revoke": sig(f.PROVIDER, "revoke", f.NOW - 1)}}
    assert contract_state(CONTENT, per_peer, f.NOW).state is ContractState.REVOKED
    del per_peer[f.PROVIDER]["revoke"]
    assert contract_state(CONTENT, per_peer, f.NOW).is_valid
    mislabelled = {f.CONSUMER: {"accept": sig(f.CONSUMER)}, f.PROVIDER: {"accept": sig(f.CONSUMER)}}
    assert contract_state(CONTENT, mislabelled, f.NOW).state is ContractState.PROPOSED
