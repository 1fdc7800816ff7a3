"""fsc-core §Contract Validation and fsc-regulated-area rules: one test per rule, both FSC versions."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import fsc_contract_factories as f
import pytest

from nds.fsc.contracts.errors import ErrorCode
from nds.fsc.contracts.kinds import FscVersion
from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.validation import (
    RegulatedArea,
    ValidationContext,
    parties,
    required_signers,
    validate_contract,
)

pytestmark = pytest.mark.unit

CONTENT = ErrorCode.SIGNATURE_VERIFICATION_FAILED
GRANT = ErrorCode.GRANT_COMBINATION_NOT_ALLOWED


@pytest.fixture(params=["1.1", "draft"])
def version(request: pytest.FixtureRequest) -> FscVersion:
    return FscVersion(request.param)


def ctx(version: FscVersion, **changes: Any) -> ValidationContext:
    base = ValidationContext(own_peer_id=f.PROVIDER, group_id=f.GROUP, now=f.NOW, version=version,
                             directory_peer_ids=frozenset({f.DIRECTORY}))
    return dataclasses.replace(base, **changes)


def check(raw: dict, context: ValidationContext) -> list[tuple[ErrorCode, str]]:
    content = parse_contract_content(raw, context.version)
    return [(v.code, v.rule) for v in validate_contract(content, context)]


def test_valid_connection_contract_from_every_party(version: FscVersion) -> None:
    raw = f.content(f.scg(delegator=f.PUB_DELEGATOR))
    for own in (f.PROVIDER, f.CONSUMER, f.PUB_DELEGATOR):
        assert check(raw, ctx(version, own_peer_id=own, submitting_peer_id=f.CONSUMER)) == []


def test_valid_contract_of_every_grant_type(version: FscVersion) -> None:
    cases = [
        (f.spg(), f.DIRECTORY, f.PROVIDER, True),
        (f.dspg(), f.DIRECTORY, f.PUB_DELEGATOR, True),
        (f.scg(), f.PROVIDER, f.CONSUMER, False),
        (f.dscg(), f.PROVIDER, f.DELEGATOR, False),
        (f.prg(), f.MEMBER_ADMIN, f.CONSUMER, False),
    ]
    for grant, own, submitter, is_directory in cases:
        context = ctx(version, own_peer_id=own, submitting_peer_id=submitter, is_directory=is_directory)
        assert check(f.content(grant), context) == [], grant["type"]


def test_iv_must_be_unique(version: FscVersion) -> None:
    seen: list[uuid.UUID] = []

    def in_use(iv: uuid.UUID) -> bool:
        seen.append(iv)
        return True

    assert check(f.content(), ctx(version, iv_in_use=in_use)) == [(CONTENT, "iv_unique")]
    assert seen == [uuid.UUID(f.IV)]
    assert check(f.content(), ctx(version, iv_in_use=lambda iv: False)) == []


def test_created_at_not_in_the_future(version: FscVersion) -> None:
    assert check(f.content(created_at=f.NOW + 1), ctx(version)) == [(CONTENT, "created_at_not_in_future")]
    assert check(f.content(created_at=f.NOW), ctx(version)) == []
    assert check(f.content(created_at=f.NOW + 30), ctx(version, max_clock_skew=30)) == []


def test_group_id_must_match(version: FscVersion) -> None:
    assert check(f.content(group_id="other-group"), ctx(version)) == [
        (ErrorCode.INCORRECT_GROUP_ID, "group_id_matches")]


def test_not_after_must_follow_not_before(version: FscVersion) -> None:
    same = {"not_before": f.NOW + 100, "not_after": f.NOW + 100}
    assert check(f.content(validity=same), ctx(version)) == [(CONTENT, "not_after_after_not_before")]


def test_not_after_must_be_in_the_future(version: FscVersion) -> None:
    past = {"not_before": f.NOW - 100, "not_after": f.NOW}
    assert check(f.content(validity=past), ctx(version)) == [(CONTENT, "not_after_in_future")]


def test_future_not_before_is_valid(version: FscVersion) -> None:
    future = {"not_before": f.NOW + 3600, "not_after": f.NOW + 7200}
    assert check(f.content(validity=future), ctx(version)) == []


def test_at_least_one_grant(version: FscVersion) -> None:
    raw = f.content()
    raw["grants"] = []
    assert (GRANT, "grants_present") in check(raw, ctx(version))


@pytest.mark.parametrize("other", [f.scg(), f.dscg(), f.prg()])
@pytest.mark.parametrize("publication", [f.spg(), f.dspg()])
def test_publication_grants_are_not_mixed(version: FscVersion, publication: dict, other: dict) -> None:
    rules = [rule for _, rule in check(f.content(publication, other), ctx(version))]
    assert "publication_not_mixed" in rules


def test_publication_grants_may_be_combined_with_each_other(version: FscVersion) -> None:
    raw = f.content(f.spg(), f.spg(name="second-service"), f.dspg(peer=f.PROVIDER, delegator=f.PROVIDER))
    assert check(raw, ctx(version, own_peer_id=f.DIRECTORY, is_directory=True)) == []


def test_peer_registration_is_not_mixed_and_single(version: FscVersion) -> None:
    assert (GRANT, "registration_not_mixed") in check(f.content(f.prg(), f.scg()), ctx(version))
    two = f.content(f.prg(), f.prg(area="onderwijs"))
    assert check(two, ctx(version, own_peer_id=f.MEMBER_ADMIN)) == [(GRANT, "single_registration")]


def test_identical_grants_are_refused(version: FscVersion) -> None:
    assert check(f.content(f.scg(), f.scg()), ctx(version)) == [(GRANT, "grants_unique")]


def test_own_peer_must_be_on_the_contract(version: FscVersion) -> None:
    assert check(f.content(), ctx(version, own_peer_id="99999999999999999999")) == [
        (ErrorCode.PEER_NOT_PART_OF_CONTRACT, "receiving_peer_on_contract")]


def test_submitting_peer_must_be_on_the_contract(version: FscVersion) -> None:
    assert check(f.content(), ctx(version, submitting_peer_id="99999999999999999999")) == [
        (ErrorCode.PEER_NOT_PART_OF_CONTRACT, "submitting_peer_on_contract")]


@pytest.mark.parametrize(("grant", "own", "wrong_submitter"), [
    (f.scg(), f.CONSUMER, f.PROVIDER),  # a connection is offered by the outway's Peer
    (f.spg(), f.PROVIDER, f.DIRECTORY),  # a publication is offered to the Directory by the service Peer
    (f.dscg(), f.PROVIDER, f.CONSUMER),  # a delegation is created by the delegator
    (f.dspg(), f.DIRECTORY, f.PROVIDER),
    (f.prg(), f.CONSUMER, f.MEMBER_ADMIN),  # a registration is offered by the member
])
def test_submitting_peer_role(version: FscVersion, grant: dict, own: str, wrong_submitter: str) -> None:
    context = ctx(version, own_peer_id=own, submitting_peer_id=wrong_submitter,
                  is_directory=own == f.DIRECTORY)
    assert check(f.content(grant), context) == [(GRANT, "submitting_peer_role")]


def test_peer_id_format_from_the_group_rules(version: FscVersion) -> None:
    raw = f.content(f.scg(outway="oin-without-digits"))
    assert check(raw, ctx(version, peer_id_pattern=r"[0-9]{20}")) == [(GRANT, "peer_id_format")]
    assert check(f.content(), ctx(version, peer_id_pattern=r"[0-9]{20}")) == []


def test_directory_must_be_a_group_directory(version: FscVersion) -> None:
    raw = f.content(f.spg(directory="00000000000000000042"))
    assert check(raw, ctx(version)) == [(GRANT, "directory_is_group_directory")]
    assert check(raw, ctx(version, directory_peer_ids=frozenset())) == []


def test_directory_named_must_be_a_directory(version: FscVersion) -> None:
    raw = f.content(f.spg())
    assert check(raw, ctx(version, own_peer_id=f.DIRECTORY, is_directory=False)) == [
        (GRANT, "directory_is_self")]


def test_service_must_be_offered_by_the_provider(version: FscVersion) -> None:
    offered = {"example-service"}
    raw = f.content(f.scg(name="unknown-service"))
    assert check(raw, ctx(version, offers_service=offered.__contains__)) == [(GRANT, "service_offered")]
    assert check(f.content(f.scg()), ctx(version, offers_service=offered.__contains__)) == []
    # Only the providing Peer knows its services; others do not check.
    assert check(raw, ctx(version, own_peer_id=f.CONSUMER, offers_service=offered.__contains__)) == []


def test_membership_administrator_administers_the_area(version: FscVersion) -> None:
    context = ctx(version, own_peer_id=f.MEMBER_ADMIN, administered_areas=frozenset({"onderwijs"}))
    assert check(f.content(f.prg()), context) == [(GRANT, "administers_area")]


def test_required_signers_and_parties() -> None:
    content = parse_contract_content(f.content(f.scg(delegator=f.PUB_DELEGATOR)), "1.1")
    assert parties(content) == {f.CONSUMER, f.PROVIDER, f.PUB_DELEGATOR}
    assert required_signers(content) == {f.CONSUMER, f.PROVIDER}
    dscg = parse_contract_content(f.content(f.dscg(delegator=f.DELEGATOR, peer=f.PROVIDER,
                                                   name="svc", **{})), "1.1")
    assert required_signers(dscg) == {f.CONSUMER, f.PROVIDER, f.DELEGATOR}
    dscg_pub = parse_contract_content(f.content(dict(f.dscg(), service=f.service(delegator=f.PUB_DELEGATOR))),
                                      "1.1")
    assert required_signers(dscg_pub) == parties(dscg_pub) == {f.CONSUMER, f.PROVIDER, f.DELEGATOR,
                                                              f.PUB_DELEGATOR}
    for grant, expected in [(f.spg(), {f.DIRECTORY, f.PROVIDER}),
                            (f.dspg(), {f.DIRECTORY, f.PROVIDER, f.PUB_DELEGATOR}),
                            (f.prg(), {f.MEMBER_ADMIN, f.CONSUMER})]:
        content = parse_contract_content(f.content(grant), "draft")
        assert required_signers(content) == parties(content) == expected


# --- Regulated Area -------------------------------------------------------------------------------------
AREA = RegulatedArea("zorg", frozenset({f.MEMBER_ADMIN}))
AREA_PROPS = {"membership_administrator_peer_id": f.MEMBER_ADMIN, "regulated_area_name": "zorg"}


def _area_ctx(version: FscVersion, members: set[str], **changes: Any) -> ValidationContext:
    calls: list[tuple[str, str]] = []

    def is_member(area: RegulatedArea, peer: str) -> bool:
        calls.append((area.name, peer))
        return peer in members

    return ctx(version, service_regulated_area=lambda name: AREA if name == "example-service" else None,
               is_member=is_member, **changes)


def _tag(grant: dict, version: FscVersion, props: dict | None = None) -> dict:
    if version is FscVersion.DRAFT:
        return dict(grant, properties=props if props is not None else AREA_PROPS)
    return grant


def test_provider_refuses_non_member_outway(version: FscVersion) -> None:
    raw = f.content(_tag(f.scg(), version))
    assert check(raw, _area_ctx(version, {f.CONSUMER})) == []
    assert check(raw, _area_ctx(version, set())) == [(GRANT, "regulated_area_membership")]


def test_provider_refuses_non_member_delegator(version: FscVersion) -> None:
    raw = f.content(_tag(f.dscg(), version))
    assert check(raw, _area_ctx(version, {f.CONSUMER, f.DELEGATOR})) == []
    assert check(raw, _area_ctx(version, {f.CONSUMER})) == [(GRANT, "regulated_area_membership")]


def test_services_outside_the_area_are_not_checked(version: FscVersion) -> None:
    raw = f.content(f.scg(name="open-service"))
    assert check(raw, _area_ctx(version, set())) == []


def test_membership_fails_closed_without_a_membership_source(version: FscVersion) -> None:
    context = ctx(version, service_regulated_area=lambda name: AREA)
    assert check(f.content(_tag(f.scg(), version)), context) == [(GRANT, "regulated_area_membership")]


def test_regulated_directory_refuses_non_member_publisher(version: FscVersion) -> None:
    for grant, members in [(f.spg(), {f.PROVIDER}), (f.dspg(), {f.PROVIDER, f.PUB_DELEGATOR})]:
        raw = f.content(_tag(grant, version))
        ok = _area_ctx(version, members, own_peer_id=f.DIRECTORY, is_directory=True,
                       directory_regulated_area=AREA)
        assert check(raw, ok) == []
        bad = _area_ctx(version, {f.PROVIDER} - members, own_peer_id=f.DIRECTORY, is_directory=True,
                        directory_regulated_area=AREA)
        assert (GRANT, "regulated_area_membership") in check(raw, bad)


def test_draft_grants_must_name_the_area_in_properties() -> None:
    version = FscVersion.DRAFT
    untagged = f.content(f.scg())
    assert check(untagged, _area_ctx(version, {f.CONSUMER})) == [(GRANT, "regulated_area_properties")]
    other_admin = dict(AREA_PROPS, membership_administrator_peer_id="x" * 20)
    wrong_admin = f.content(_tag(f.scg(), version, other_admin))
    assert check(wrong_admin, _area_ctx(version, {f.CONSUMER})) == [(GRANT, "regulated_area_properties")]


def test_draft_grants_with_different_areas_are_not_mixed() -> None:
    version = FscVersion.DRAFT
    raw = f.content(_tag(f.scg(name="other-service"), version),
                    _tag(f.scg(name="third-service"), version,
                         dict(AREA_PROPS, regulated_area_name="onderwijs")))
    assert check(raw, ctx(version)) == [(GRANT, "regulated_area_not_mixed")]
    mixed = f.content(_tag(f.scg(name="other-service"), version), f.scg(name="third-service"))
    assert check(mixed, ctx(version)) == [(GRANT, "regulated_area_not_mixed")]


def test_every_violation_is_reported_not_just_the_first(version: FscVersion) -> None:
    raw = f.content(f.spg(directory="00000000000000000042"), f.scg(), group_id="other",
                    created_at=f.NOW + 10, validity={"not_before": f.NOW, "not_after": f.NOW - 1})
    rules = {rule for _, rule in check(raw, ctx(version))}
    assert {"group_id_matches", "created_at_not_in_future", "not_after_after_not_before",
            "not_after_in_future", "publication_not_mixed", "directory_is_group_directory"} <= rules


def test_ensure_valid_answers_with_the_most_specific_code(version: FscVersion) -> None:
    from nds.fsc.contracts.errors import FscError
    from nds.fsc.contracts.validation import ensure_valid

    content = parse_contract_content(f.content(), version)
    ensure_valid(content, ctx(version))  # no exception
    cases = [
        (f.content(group_id="other", created_at=f.NOW + 10), ErrorCode.INCORRECT_GROUP_ID),
        (f.content(f.spg(), f.scg(), created_at=f.NOW + 10), GRANT),
        (f.content(created_at=f.NOW + 10), CONTENT),
    ]
    for raw, code in cases:
        with pytest.raises(FscError) as err:
            ensure_valid(parse_contract_content(raw, version), ctx(version))
        assert err.value.code is code
    with pytest.raises(FscError) as err:
        ensure_valid(content, ctx(version, own_peer_id="9" * 20, submitting_peer_id="8" * 20))
    assert err.value.code is ErrorCode.PEER_NOT_PART_OF_CONTRACT
    assert "also:" in err.value.message


def test_only_properties_of_supported_extensions() -> None:
    from nds.fsc.contracts.validation import REGULATED_AREA_PROPERTY_KEYS

    version = FscVersion.DRAFT
    allowed = ctx(version, allowed_property_keys=REGULATED_AREA_PROPERTY_KEYS)
    assert check(f.content(_tag(f.scg(), version)), allowed) == []
    extra = dict(AREA_PROPS, purpose="subsidies")
    assert check(f.content(_tag(f.scg(), version, extra)), allowed) == [(GRANT, "properties_allowed")]
    assert check(f.content(_tag(f.scg(), version, extra)), ctx(version)) == []  # not configured
