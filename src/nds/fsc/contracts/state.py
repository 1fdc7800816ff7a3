"""Contract state, derived from content, signatures, signer certificates and the clock; never stored.

States are those of fsc-core ``media/state-contract.puml`` (manager.yaml defines no state enum):

    PROPOSED --reject--> REJECTED         PROPOSED --end date passed--> REJECTED
    PROPOSED --all accept--> VALID        VALID --revoke--> REVOKED      VALID --end date--> EXPIRED

Rules (docs/fsc/contracts.md):
* Only signatures of parties count (:func:`nds.fsc.contracts.validation.parties`).
* A reject or revoke is final once made, whatever happens to the signer's certificate later: the
  earliest of them (by ``signed_at``) decides REJECTED or REVOKED. A revoke before the contract was
  ever valid still yields REVOKED.
* An accept counts only while the signer's certificate is valid (``cert_not_before <= now <=
  cert_not_after``, inclusive as in RFC 5280 §4.1.2.5). A contract whose signer's certificate expired
  is therefore no longer VALID (it is PROPOSED again, with that signer in ``awaiting``) until the Peer
  re-signs with a current certificate.
* ``now > not_after`` ("not valid after this date", so ``not_after`` itself is still valid): EXPIRED if
  the contract had become valid (all required accepts signed by ``not_after``), otherwise REJECTED (the
  diagram's "end date passed" edge from PROPOSED).
* VALID with ``now < not_before``: valid, but ``token_allowed`` is False until ``not_before``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from nds.fsc.contracts.kinds import SignatureType
from nds.fsc.contracts.model import ContractContent
from nds.fsc.contracts.validation import parties, required_signers


class ContractState(StrEnum):
    PROPOSED = "PROPOSED"
    VALID = "VALID"
    REJECTED = "REJECTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class SignatureRecord:
    """A verified signature: who, what, when, and the validity window of the signer's certificate."""

    peer_id: str
    type: SignatureType
    signed_at: int
    cert_not_before: int
    cert_not_after: int

    def cert_valid_at(self, moment: int) -> bool:
        return self.cert_not_before <= moment <= self.cert_not_after  # RFC 5280 §4.1.2.5: inclusive


@dataclass(frozen=True, slots=True)
class State:
    state: ContractState
    token_allowed: bool  # VALID and not_before <= now <= not_after
    accepted_by: frozenset[str]  # required signers with a currently counting accept
    awaiting: frozenset[str]  # required signers without one (includes expired-certificate accepts)
    stale_accepts: frozenset[str]  # accepts that stopped counting because the certificate expired
    decided_by: SignatureRecord | None = None  # the reject/revoke that ended the contract
    reason: str = ""

    @property
    def is_valid(self) -> bool:
        return self.state is ContractState.VALID

    @property
    def detail(self) -> str:
        """A finer label for UIs: the state, or not_yet_valid / signer_certificate_expired."""
        if self.state is ContractState.VALID and not self.token_allowed:
            return "not_yet_valid"
        if self.state is ContractState.PROPOSED and self.stale_accepts & self.awaiting:
            return "signer_certificate_expired"
        return self.state.value.lower()


SignatureInput = Iterable[SignatureRecord] | Mapping[str, Mapping[str, SignatureRecord]]


def _flatten(signatures: SignatureInput) -> list[SignatureRecord]:
    if isinstance(signatures, Mapping):
        # {peer_id: {"accept"|"reject"|"revoke": record}}; the key must agree with the record.
        return [rec for peer, by_type in signatures.items() for kind, rec in by_type.items()
                if rec.peer_id == peer and rec.type.value == str(kind)]
    return list(signatures)


def contract_state(content: ContractContent, signatures: SignatureInput, now: int) -> State:
    """Derive the state; ``signatures`` are verified signature records, as a list or per Peer and type."""
    on_contract = parties(content)
    required = required_signers(content)
    sigs = [s for s in _flatten(signatures) if s.peer_id in on_contract]
    not_after = content.validity.not_after

    # Latest accept per Peer; a re-signature with a renewed certificate supersedes the old one.
    latest_accept: dict[str, SignatureRecord] = {}
    for sig in sigs:
        if sig.type is SignatureType.ACCEPT:
            known = latest_accept.get(sig.peer_id)
            if known is None or (sig.signed_at, sig.cert_not_after) > (known.signed_at, known.cert_not_after):
                latest_accept[sig.peer_id] = sig
    counting = frozenset(p for p, s in latest_accept.items() if p in required and s.cert_valid_at(now))
    stale = frozenset(p for p, s in latest_accept.items() if p in required and not s.cert_valid_at(now))
    awaiting = frozenset(required - counting)

    def make(state: ContractState, reason: str, decided: SignatureRecord | None = None) -> State:
        return State(state, False, counting, awaiting, stale, decided, reason)

    enders = sorted((s for s in sigs if s.type is not SignatureType.ACCEPT),
                    key=lambda s: (s.signed_at, s.type is SignatureType.REVOKE))
    if enders:
        first = enders[0]
        if first.type is SignatureType.REJECT:
            return make(ContractState.REJECTED, f"rejected by {first.peer_id}", first)
        return make(ContractState.REVOKED, f"revoked by {first.peer_id}", first)

    if now > not_after:
        became_valid = required <= latest_accept.keys() and all(
            latest_accept[p].signed_at <= not_after for p in required
        )
        if became_valid:
            return make(ContractState.EXPIRED, "validity.not_after has passed")
        return make(ContractState.REJECTED, "validity.not_after passed before all peers accepted")

    if awaiting:
        why = "awaiting accept of " + ", ".join(sorted(awaiting))
        if stale & awaiting:
            why += " (certificate of " + ", ".join(sorted(stale & awaiting)) + " expired: re-sign needed)"
        return make(ContractState.PROPOSED, why)

    token_allowed = content.validity.not_before <= now
    reason = "" if token_allowed else "valid from validity.not_before; no tokens before then"
    return State(ContractState.VALID, token_allowed, counting, awaiting, stale, None, reason)
