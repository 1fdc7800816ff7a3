"""Grant order: FSC 1.1 sorts grant hashes (order-insensitive), the draft keeps array order."""

from __future__ import annotations

import fsc_contract_factories as f
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.versions import find_grant, scheme_for

pytestmark = pytest.mark.unit

GRANTS = [f.scg(outway=f"{i:020d}") for i in range(1, 6)] + [f.dscg(), f.scg(delegator=f.PUB_DELEGATOR)]


ORDERS = st.lists(st.sampled_from(range(len(GRANTS))), min_size=2, max_size=5, unique=True).flatmap(
    lambda xs: st.tuples(st.just(xs), st.permutations(xs))).filter(lambda pair: pair[0] != pair[1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.large_base_example])
@given(ORDERS)
def test_permuting_grants(orders: tuple[list[int], list[int]]) -> None:
    grants = [GRANTS[i] for i in orders[0]]
    shuffled = [GRANTS[i] for i in orders[1]]
    a, b = f.content(*grants), f.content(*shuffled)
    v11 = scheme_for("1.1")
    ca, cb = parse_contract_content(a, "1.1"), parse_contract_content(b, "1.1")
    assert v11.content_hash(ca) == v11.content_hash(cb)
    assert sorted(v11.grant_hashes(ca)) == sorted(v11.grant_hashes(cb))
    draft = scheme_for("draft")
    da, db = parse_contract_content(a, "draft"), parse_contract_content(b, "draft")
    assert draft.content_hash(da) != draft.content_hash(db)
    assert set(draft.grant_hashes(da)).isdisjoint(draft.grant_hashes(db))


@pytest.mark.parametrize("version", ["1.1", "draft"])
def test_find_grant(version: str) -> None:
    content = parse_contract_content(f.content(*GRANTS), version)
    hashes = scheme_for(version).grant_hashes(content)
    assert len(set(hashes)) == len(GRANTS)
    for grant, grant_hash in zip(content.grants, hashes, strict=True):
        assert find_grant(content, grant_hash, version) is grant
        assert scheme_for(version).grant_hash(content, grant) == grant_hash
    assert find_grant(content, "$1$3$" + "A" * 86, version) is None


def test_grant_hash_binds_the_contract() -> None:
    """The iv (1.1) or the whole content (draft) is in every grant hash: same grant, other contract."""
    one = parse_contract_content(f.content(f.scg()), "1.1")
    other_iv = parse_contract_content(f.content(f.scg(), iv="06338364-8305-7b74-8000-de4963503130"), "1.1")
    other_validity = parse_contract_content(
        f.content(f.scg(), validity={"not_before": f.NOW, "not_after": f.NOW + 10}), "1.1")
    v11 = scheme_for("1.1")
    assert v11.grant_hashes(one) != v11.grant_hashes(other_iv)
    # FSC 1.1: a grant hash covers group, iv and grant only, not the validity.
    assert v11.grant_hashes(one) == v11.grant_hashes(other_validity)
    draft = scheme_for("draft")
    d_one = parse_contract_content(f.content(f.scg()), "draft")
    d_other = parse_contract_content(
        f.content(f.scg(), validity={"not_before": f.NOW, "not_after": f.NOW + 10}), "draft")
    assert draft.grant_hashes(d_one) != draft.grant_hashes(d_other)
