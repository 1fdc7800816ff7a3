"""The Manager's single entry point to versioned hashing, validation and contract state.

Hashing is :func:`nds.fsc.contracts.versions.scheme_for`, validation
:func:`nds.fsc.contracts.validation.ensure_valid`, state :func:`nds.fsc.contracts.state.contract_state`;
the Manager adds only what needs its own store (used ivs, own services) and the offering-Peer rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from nds.fsc.contracts.errors import GRANT_INVALID, ErrorCode, FscError
from nds.fsc.contracts.hashes import parse_hash
from nds.fsc.contracts.kinds import FscVersion, SignatureType
from nds.fsc.contracts.model import (
    CONNECTION_GRANTS,
    PUBLICATION_GRANTS,
    ContractContent,
    Grant,
    PeerRegistrationGrant,
)
from nds.fsc.contracts.state import SignatureRecord, State, contract_state
from nds.fsc.contracts.validation import (
    RegulatedArea,
    ValidationContext,
    ensure_valid,
    offering_peers,
    parties,
    required_signers,
)
from nds.fsc.contracts.versions import scheme_for

__all__ = ["parties", "required_signers"]


def content_hash(content: ContractContent, version: FscVersion) -> str:
    return scheme_for(version).content_hash(content)


def grant_hashes(content: ContractContent, version: FscVersion) -> list[str]:
    return list(scheme_for(version).grant_hashes(content))


def check_hash_format(text: str) -> None:
    """Raise FscError for a malformed hash or one naming an unknown hash algorithm."""
    parse_hash(text)


def offered_to(grant: Grant) -> str:
    """The Peer a contract with this grant is offered to (the grant's validation rules name it)."""
    if isinstance(grant, PUBLICATION_GRANTS):
        return grant.directory.peer_id
    if isinstance(grant, CONNECTION_GRANTS):
        return grant.service.peer_id
    assert isinstance(grant, PeerRegistrationGrant)
    return grant.membership_administrator.peer_id


def validate(
    content: ContractContent,
    version: FscVersion,
    *,
    own_peer_id: str,
    group_id: str,
    now: int,
    clock_skew: int,
    max_grants: int,
    is_directory: bool,
    directory_peer_ids: Iterable[str],
    peer_id_pattern: str,
    iv_in_use: Callable[..., bool],
    offers_service: Callable[[str], bool],
    submitter: str,
    offered: bool,
    service_area: Callable[[str], RegulatedArea | None] | None = None,
    directory_area: RegulatedArea | None = None,
    is_member: Callable[[RegulatedArea, str], bool] | None = None,
    administered_areas: frozenset[str] | None = None,
) -> None:
    """fsc-core §Contract Validation for this receiving Peer.

    ``offered``: the contract is being offered (POST /contracts), so for every grant whose receiving
    side is this Peer the submitter must be the Peer the grant says offers it (e.g. the Outway Peer
    offers a ServiceConnectionGrant to the Service's Peer). Signatures arriving for a contract we do
    not know yet (PUT) skip that rule: with three parties the order of arrival is not fixed.
    """
    if len(content.grants) > max_grants:
        raise FscError(GRANT_INVALID, f"at most {max_grants} grants per contract")
    ctx = ValidationContext(
        own_peer_id=own_peer_id,
        group_id=group_id,
        now=now,
        version=version,
        directory_peer_ids=frozenset(directory_peer_ids),
        is_directory=is_directory,
        submitting_peer_id=None,
        max_clock_skew=clock_skew,
        peer_id_pattern=peer_id_pattern,
        iv_in_use=iv_in_use,
        offers_service=offers_service,
        service_regulated_area=service_area,
        directory_regulated_area=directory_area,
        administered_areas=administered_areas,
        is_member=is_member,
    )
    ensure_valid(content, ctx)
    if submitter not in parties(content):
        raise FscError(ErrorCode.PEER_NOT_PART_OF_CONTRACT, f"peer '{submitter}' is not part of the contract")
    if offered:
        for i, grant in enumerate(content.grants):
            allowed = offering_peers(grant)
            if offered_to(grant) == own_peer_id and submitter not in allowed:
                raise FscError(
                    GRANT_INVALID,
                    f"grants[{i}]: a {grant.grant_type.value} is offered to this Peer by "
                    f"{' or '.join(sorted(allowed))}, not by '{submitter}'",
                )


def state(
    content: ContractContent,
    signatures: Iterable[tuple[str, str, int, str]],
    cert_validity: Mapping[str, tuple[int, int]],
    now: int,
) -> State:
    """Derived state from stored ``(peer_id, type, signed_at, cert_thumbprint)`` signatures."""
    records = []
    for peer_id, sig_type, signed_at, thumb in signatures:
        nb, na = cert_validity.get(thumb, (1, 0))  # unknown certificate: never valid
        records.append(SignatureRecord(peer_id, SignatureType(sig_type), signed_at, nb, na))
    return contract_state(content, records, now)
