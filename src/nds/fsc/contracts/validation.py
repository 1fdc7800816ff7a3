"""Contract validation (fsc-core §Contract Validation and the per-grant rules, fsc-regulated-area).

``validate_contract(content, ctx)`` returns every violated rule, never raises for bad content, and does
no I/O itself: what needs the Manager's state (used ``iv`` values, own services, membership lists) comes
in through callbacks on :class:`ValidationContext`. Each :class:`ContractViolation` carries the FSC error
code to answer with and a stable ``rule`` name (listed in docs/fsc/contracts.md).

A ``not_before`` in the future is valid: such a contract can be signed and becomes usable for tokens
when ``not_before`` is reached (see :mod:`nds.fsc.contracts.state`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from nds.fsc.contracts.errors import CONTENT_INVALID, GRANT_INVALID, ErrorCode, FscError, brief
from nds.fsc.contracts.kinds import FscVersion
from nds.fsc.contracts.model import (
    CONNECTION_GRANTS,
    PUBLICATION_GRANTS,
    ContractContent,
    DelegatedServiceConnectionGrant,
    DelegatedServicePublicationGrant,
    Grant,
    PeerRegistrationGrant,
    ServiceConnectionGrant,
    ServicePublicationGrant,
    grant_peer_ids,
)

# Grant property names of fsc-regulated-area (draft only: FSC 1.1 grants have no properties).
PROP_MEMBERSHIP_ADMINISTRATOR = "membership_administrator_peer_id"
PROP_REGULATED_AREA = "regulated_area_name"
REGULATED_AREA_PROPERTY_KEYS = frozenset({PROP_MEMBERSHIP_ADMINISTRATOR, PROP_REGULATED_AREA})


@dataclass(frozen=True, slots=True)
class RegulatedArea:
    """A Regulated Area and the Peer IDs of its Membership Administrators."""

    name: str
    membership_administrators: frozenset[str]


@dataclass(frozen=True, slots=True)
class ContractViolation:
    code: ErrorCode
    message: str
    rule: str


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What the validating Manager knows. Optional callbacks that are None skip their rule."""

    own_peer_id: str
    group_id: str
    now: int
    version: FscVersion  # decides whether grant properties (Regulated Area tags) exist
    directory_peer_ids: frozenset[str] = frozenset()  # the Group's Directories (empty: not checked)
    is_directory: bool = False
    submitting_peer_id: str | None = None  # Peer ID of the Manager that offered the contract
    max_clock_skew: int = 0  # seconds ``created_at`` may lie ahead of ``now``
    peer_id_pattern: str | None = None  # Group rule, e.g. r"^[0-9]{20}$" for OINs
    # draft §Properties: "Only a limited set of properties is allowed ... documented in an extension ...
    # supported by the FSC Group". None: any key (not checked).
    allowed_property_keys: frozenset[str] | None = None
    iv_in_use: Callable[[uuid.UUID], bool] | None = None  # True: another contract already has this iv
    offers_service: Callable[[str], bool] | None = None  # own services by name
    # Regulated Area extension
    service_regulated_area: Callable[[str], RegulatedArea | None] | None = None  # own service → area
    directory_regulated_area: RegulatedArea | None = None  # set when this Directory serves an area
    administered_areas: frozenset[str] | None = None  # areas this Peer administers (None: not checked)
    is_member: Callable[[RegulatedArea, str], bool] | None = None


def parties(content: ContractContent) -> set[str]:
    """Every Peer named on the contract; only they may see, sign or receive it (§Signatures)."""
    return {peer for grant in content.grants for peer in grant_peer_ids(grant)}


def grant_required_signers(grant: Grant) -> set[str]:
    """The "Signature requirements" of one grant.

    For a ServiceConnectionGrant the spec lists only outway and service, although
    ``service.delegator`` may sign (it is a party); for a DelegatedServiceConnectionGrant the service
    delegator is required "in case of a Service published on behalf of another Peer".
    """
    if isinstance(grant, ServicePublicationGrant):
        return {grant.directory.peer_id, grant.service.peer_id}
    if isinstance(grant, DelegatedServicePublicationGrant):
        return {grant.directory.peer_id, grant.service.peer_id, grant.delegator.peer_id}
    if isinstance(grant, ServiceConnectionGrant):
        return {grant.outway.peer_id, grant.service.peer_id}
    if isinstance(grant, DelegatedServiceConnectionGrant):
        signers = {grant.outway.peer_id, grant.service.peer_id, grant.delegator.peer_id}
        if grant.service.delegator is not None:
            signers.add(grant.service.delegator.peer_id)
        return signers
    return {grant.membership_administrator.peer_id, grant.member.peer_id}


def required_signers(content: ContractContent) -> set[str]:
    """Peers whose accept signature makes the contract valid."""
    return {peer for grant in content.grants for peer in grant_required_signers(grant)}


def offering_peers(grant: Grant) -> set[str]:
    """Who may offer (submit) a contract with this grant, per the grant's validation rules."""
    if isinstance(grant, ServicePublicationGrant):
        return {grant.service.peer_id}  # "the Manager offering the Contract to the Directory"
    if isinstance(grant, DelegatedServicePublicationGrant | DelegatedServiceConnectionGrant):
        return {grant.delegator.peer_id}  # "the Manager creating the delegation"
    if isinstance(grant, ServiceConnectionGrant):
        return {grant.outway.peer_id}  # "offering the Contract to the Service providing Peer"
    return {grant.member.peer_id}  # "offering the Contract to the Membership Administrator"


class _Collector:
    def __init__(self) -> None:
        self.items: list[ContractViolation] = []

    def add(self, code: ErrorCode, rule: str, message: str) -> None:
        self.items.append(ContractViolation(code, message, rule))


def _content_rules(content: ContractContent, ctx: ValidationContext, out: _Collector) -> None:
    if ctx.iv_in_use is not None and ctx.iv_in_use(content.iv):
        out.add(CONTENT_INVALID, "iv_unique", f"a different contract with iv {content.iv} already exists")
    if content.created_at > ctx.now + ctx.max_clock_skew:
        out.add(CONTENT_INVALID, "created_at_not_in_future", "created_at lies in the future")
    if content.group_id != ctx.group_id:
        out.add(ErrorCode.INCORRECT_GROUP_ID, "group_id_matches",
                f"group_id {content.group_id!r} is not this Group ({ctx.group_id!r})")
    if content.validity.not_after <= content.validity.not_before:
        out.add(CONTENT_INVALID, "not_after_after_not_before",
                "validity.not_after must be later than validity.not_before")
    if content.validity.not_after <= ctx.now:
        out.add(CONTENT_INVALID, "not_after_in_future", "validity.not_after must lie in the future")


def _combination_rules(content: ContractContent, out: _Collector) -> None:
    grants = content.grants
    if not grants:
        out.add(GRANT_INVALID, "grants_present", "a contract needs at least one grant")
        return
    publications = [g for g in grants if isinstance(g, PUBLICATION_GRANTS)]
    registrations = [g for g in grants if isinstance(g, PeerRegistrationGrant)]
    if publications and len(publications) != len(grants):
        out.add(GRANT_INVALID, "publication_not_mixed",
                "cannot combine a service publication grant with any other grant type")
    if registrations and len(registrations) != len(grants):
        out.add(GRANT_INVALID, "registration_not_mixed",
                "cannot combine a peer registration grant with any other grant type")
    if len(registrations) > 1:
        out.add(GRANT_INVALID, "single_registration", "only one peer registration grant per contract")
    if len(set(grants)) != len(grants):
        out.add(GRANT_INVALID, "grants_unique", "the same grant appears more than once")


def _peer_rules(content: ContractContent, ctx: ValidationContext, out: _Collector) -> None:
    on_contract = parties(content)
    if ctx.own_peer_id not in on_contract:
        out.add(ErrorCode.PEER_NOT_PART_OF_CONTRACT, "receiving_peer_on_contract",
                f"peer {ctx.own_peer_id!r} is not part of the contract")
    submitter = ctx.submitting_peer_id
    if submitter is not None and submitter not in on_contract:
        out.add(ErrorCode.PEER_NOT_PART_OF_CONTRACT, "submitting_peer_on_contract",
                f"peer {submitter!r} not part of the contract")
    elif submitter is not None:
        for index, grant in enumerate(content.grants):
            allowed = offering_peers(grant)
            if submitter not in allowed:
                out.add(GRANT_INVALID, "submitting_peer_role",
                        f"grants[{index}]: a {grant.grant_type.value} must be offered by "
                        f"{' or '.join(sorted(allowed))}, not {submitter!r}")
    if ctx.peer_id_pattern is not None:
        pattern = re.compile(ctx.peer_id_pattern)
        for peer in sorted(on_contract):
            if not pattern.fullmatch(peer):
                out.add(GRANT_INVALID, "peer_id_format",
                        f"peer id {peer!r} does not match the Group's pattern {ctx.peer_id_pattern}")


def _grant_rules(index: int, grant: Grant, ctx: ValidationContext, out: _Collector) -> None:
    where = f"grants[{index}]"
    if isinstance(grant, PUBLICATION_GRANTS):
        directory = grant.directory.peer_id
        if ctx.directory_peer_ids and directory not in ctx.directory_peer_ids:
            out.add(GRANT_INVALID, "directory_is_group_directory",
                    f"{where}: directory.peer_id {directory!r} is not a Directory of this Group")
        if directory == ctx.own_peer_id and not ctx.is_directory:
            out.add(GRANT_INVALID, "directory_is_self",
                    f"{where}: this Peer is named as directory but is not a Directory")
    if (isinstance(grant, CONNECTION_GRANTS) and grant.service.peer_id == ctx.own_peer_id
            and ctx.offers_service is not None and not ctx.offers_service(grant.service.name)):
        out.add(GRANT_INVALID, "service_offered",
                f"{where}: service {grant.service.name!r} is not offered by peer {ctx.own_peer_id!r}")
    if ctx.allowed_property_keys is not None and grant.properties is not None:
        unknown = sorted(set(grant.properties) - ctx.allowed_property_keys)
        if unknown:
            out.add(GRANT_INVALID, "properties_allowed",
                    f"{where}: properties {', '.join(map(brief, unknown))} are not defined by an extension "
                    "this Group supports")
    if isinstance(grant, PeerRegistrationGrant):
        admin = grant.membership_administrator
        if (admin.peer_id == ctx.own_peer_id and ctx.administered_areas is not None
                and admin.regulated_area_name not in ctx.administered_areas):
            out.add(GRANT_INVALID, "administers_area",
                    f"{where}: this Peer is no Membership Administrator of {admin.regulated_area_name!r}")


def _area_properties(grant: Grant) -> tuple[str | None, str | None]:
    props = grant.properties
    if props is None:
        return None, None
    admin, area = props.get(PROP_MEMBERSHIP_ADMINISTRATOR), props.get(PROP_REGULATED_AREA)
    return (admin if isinstance(admin, str) else None), (area if isinstance(area, str) else None)


def _regulated_area_rules(content: ContractContent, ctx: ValidationContext, out: _Collector) -> None:
    grants = [g for g in content.grants if not isinstance(g, PeerRegistrationGrant)]
    tagged = {_area_properties(g) for g in grants}
    if ctx.version is FscVersion.DRAFT and len(tagged) > 1:
        out.add(GRANT_INVALID, "regulated_area_not_mixed",
                "grants with different (or without) membership_administrator_peer_id/regulated_area_name "
                "cannot be combined")
    for index, grant in enumerate(content.grants):
        area, members_to_check = _area_for(grant, ctx)
        if area is None:
            continue
        where = f"grants[{index}]"
        if ctx.version is FscVersion.DRAFT:
            admin, name = _area_properties(grant)
            if name != area.name or admin not in area.membership_administrators:
                out.add(GRANT_INVALID, "regulated_area_properties",
                        f"{where}: the service is in Regulated Area {area.name!r}; the grant must name it "
                        f"in properties.{PROP_REGULATED_AREA} and one of its Membership Administrators in "
                        f"properties.{PROP_MEMBERSHIP_ADMINISTRATOR}")
        if ctx.is_member is None:
            out.add(GRANT_INVALID, "regulated_area_membership",
                    f"{where}: membership of Regulated Area {area.name!r} cannot be checked")
            continue
        for peer in members_to_check:
            if not ctx.is_member(area, peer):
                out.add(GRANT_INVALID, "regulated_area_membership",
                        f"{where}: peer {peer!r} is not a member of Regulated Area {area.name!r}")


def _area_for(grant: Grant, ctx: ValidationContext) -> tuple[RegulatedArea | None, list[str]]:
    """The Regulated Area that governs this grant for this Peer, and whose membership to check."""
    if isinstance(grant, CONNECTION_GRANTS):
        if grant.service.peer_id != ctx.own_peer_id or ctx.service_regulated_area is None:
            return None, []
        peers = [grant.outway.peer_id]
        if isinstance(grant, DelegatedServiceConnectionGrant):
            peers.append(grant.delegator.peer_id)
        return ctx.service_regulated_area(grant.service.name), peers
    if isinstance(grant, PUBLICATION_GRANTS):
        if grant.directory.peer_id != ctx.own_peer_id or ctx.directory_regulated_area is None:
            return None, []
        peers = [grant.service.peer_id]
        if isinstance(grant, DelegatedServicePublicationGrant):
            peers.append(grant.delegator.peer_id)
        return ctx.directory_regulated_area, peers
    return None, []


def validate_contract(content: ContractContent, ctx: ValidationContext) -> list[ContractViolation]:
    """All violations of §Contract Validation (and the Regulated Area rules) for this Peer; [] if valid."""
    out = _Collector()
    _content_rules(content, ctx, out)
    _combination_rules(content, out)
    _peer_rules(content, ctx, out)
    for index, grant in enumerate(content.grants):
        _grant_rules(index, grant, ctx, out)
    _regulated_area_rules(content, ctx, out)
    return out.items


# Most specific first: the FSC codes that name exactly one condition before nds's fallback codes.
_PRIORITY = (
    ErrorCode.INCORRECT_GROUP_ID,
    ErrorCode.PEER_NOT_PART_OF_CONTRACT,
    ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH,
    ErrorCode.INCORRECT_PUBLIC_KEY_THUMBPRINT,
    GRANT_INVALID,
    CONTENT_INVALID,
)


def most_specific(violations: list[ContractViolation]) -> ContractViolation | None:
    """The violation to answer with: the most specific FSC code, then the first found."""
    if not violations:
        return None
    rank = {code: i for i, code in enumerate(_PRIORITY)}
    return min(violations, key=lambda v: rank.get(v.code, len(rank)))


def ensure_valid(content: ContractContent, ctx: ValidationContext) -> None:
    """Raise FscError for the most specific violation; all violations are in the message."""
    violations = validate_contract(content, ctx)
    chosen = most_specific(violations)
    if chosen is None:
        return
    others = [v.message for v in violations if v is not chosen]
    message = chosen.message if not others else f"{chosen.message} (also: {'; '.join(others)})"
    raise FscError(chosen.code, message)
