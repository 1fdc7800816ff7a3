"""Bad input never escapes as anything but the documented FscError subclasses (no tracebacks)."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import fsc_contract_factories as f
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nds.fsc.contracts.errors import ContractFormatError, HashFormatError, SignaturePayloadError
from nds.fsc.contracts.hashes import parse_hash
from nds.fsc.contracts.kinds import FscVersion
from nds.fsc.contracts.model import parse_contract_content, parse_contract_content_json, to_json
from nds.fsc.contracts.signing import check_signature_payload
from nds.fsc.contracts.validation import ValidationContext, validate_contract
from nds.fsc.contracts.versions import scheme_for

pytestmark = pytest.mark.unit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


BASES = [f.content(g) for g in (f.scg(delegator=f.PUB_DELEGATOR), f.dscg(), f.spg(), f.dspg(), f.prg())]


@st.composite
def mutated(draw: st.DrawFn) -> dict:
    raw = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(raw)[1:]))
        cur: Any = raw
        for part in path[:-1]:
            cur = cur[part]
        if draw(st.booleans()) and isinstance(cur, dict):
            del cur[path[-1]]
        else:
            cur[path[-1]] = draw(json_values)
        if path[:1] == ("grants",) and not raw.get("grants"):
            break
    return raw


@pytest.mark.parametrize("version", ["1.1", "draft"])
def test_mutated_contracts_parse_or_fail_cleanly(version: str) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated())
    def check(raw: dict) -> None:
        try:
            content = parse_contract_content(raw, version)
        except ContractFormatError as exc:
            assert exc.message and exc.to_error_body()["code"].startswith("ERROR_CODE_")
            return
        scheme = scheme_for(version)
        scheme.content_hash(content)
        scheme.grant_hashes(content)
        assert to_json(content) == raw
        ctx = ValidationContext(own_peer_id=f.PROVIDER, group_id=f.GROUP, now=f.NOW,
                                version=FscVersion(version))
        for violation in validate_contract(content, ctx):
            assert violation.code.value.startswith("ERROR_CODE_") and violation.rule

    check()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes(raw: bytes) -> None:
    with contextlib.suppress(ContractFormatError):
        parse_contract_content_json(raw, "draft")


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_values(value: Any) -> None:
    with pytest.raises(ContractFormatError):
        parse_contract_content(value, "1.1")
    with pytest.raises(ContractFormatError):
        parse_contract_content_json(json.dumps(value), "draft")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_hash_strings(text: str) -> None:
    with contextlib.suppress(HashFormatError):
        parse_hash(text)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_signature_payloads(payload: Any) -> None:
    with pytest.raises(SignaturePayloadError):
        check_signature_payload(payload, "$1$1$" + "A" * 86, "accept")
