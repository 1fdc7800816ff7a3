"""Parsing contract content: every malformed shape gets a ContractFormatError with a chosen FSC code."""

from __future__ import annotations

import copy
import json
from typing import Any

import fsc_contract_factories as f
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nds.fsc.contracts.errors import ContractFormatError, ErrorCode
from nds.fsc.contracts.model import (
    MAX_CONTRACT_JSON_BYTES,
    MAX_GRANTS,
    MAX_JSON_DEPTH,
    MAX_PROPERTIES_BYTES,
    ContractContent,
    ServiceConnectionGrant,
    parse_contract_content,
    parse_contract_content_json,
    to_json,
)
from nds.fsc.contracts.versions import scheme_for

pytestmark = pytest.mark.unit

CONTENT = ErrorCode.SIGNATURE_VERIFICATION_FAILED  # nds choice for malformed content
GRANT = ErrorCode.GRANT_COMBINATION_NOT_ALLOWED
THUMBPRINT = ErrorCode.INCORRECT_PUBLIC_KEY_THUMBPRINT
VERSIONS = ["1.1", "draft"]


def _set(obj: dict, path: str, value: Any) -> dict:
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    cur: Any = out
    for part in parents:
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    key: Any = int(last) if isinstance(cur, list) else last
    if value is _DELETE:
        del cur[key]
    else:
        cur[key] = value
    return out


_DELETE = object()

BAD = [
    # (path, value, expected code, message fragment)
    ("iv", "06338364-8305-7B74-8000-DE4963503139", CONTENT, "canonical lower-case"),
    ("iv", "063383648305-7b74-8000-de4963503139x", CONTENT, "not a UUID"),
    ("iv", "0633836483057b748000de4963503139", CONTENT, "36 characters"),
    ("iv", 42, CONTENT, "UUID string"),
    ("iv", _DELETE, CONTENT, "required field 'iv'"),
    ("group_id", "fsc example", ErrorCode.INCORRECT_GROUP_ID, "must match"),
    ("group_id", "g\n", ErrorCode.INCORRECT_GROUP_ID, "must match"),
    ("group_id", "x" * 101, ErrorCode.INCORRECT_GROUP_ID, "must match"),
    ("group_id", "", ErrorCode.INCORRECT_GROUP_ID, "must match"),
    ("group_id", None, CONTENT, "must be a string"),
    ("hash_algorithm", "HASH_ALGORITHM_SHA2_256", ErrorCode.UNKNOWN_HASH_ALGORITHM_HASH, "unknown value"),
    ("hash_algorithm", _DELETE, CONTENT, "required field 'hash_algorithm'"),
    ("created_at", "1672527600", CONTENT, "must be an integer"),
    ("created_at", 1672527600.0, CONTENT, "must be an integer"),
    ("created_at", True, CONTENT, "must be an integer"),
    ("created_at", -1, CONTENT, "between 0 and"),
    ("created_at", 2**63, CONTENT, "between 0 and"),
    ("validity.not_before", None, CONTENT, "must be an integer"),
    ("validity.not_after", _DELETE, CONTENT, "required field 'not_after'"),
    ("validity", [1, 2], CONTENT, "must be a JSON object"),
    ("validity.extra", 1, CONTENT, "unknown field 'extra'"),
    ("extra", 1, CONTENT, "unknown field 'extra'"),
    ("grants", {}, CONTENT, "must be an array"),
    ("grants.0", "grant", CONTENT, "must be a JSON object"),
    ("grants.0.data", [], CONTENT, "must be a JSON object"),
    ("grants.0.data.type", "GRANT_TYPE_SOMETHING_ELSE", GRANT, "unknown value"),
    ("grants.0.data.type", _DELETE, CONTENT, "required field 'type'"),
    ("grants.0.data.outway.public_key_thumbprint", "3a56", THUMBPRINT, "64 hex"),
    ("grants.0.data.outway.public_key_thumbprint", "z" * 64, THUMBPRINT, "hex"),
    ("grants.0.data.outway.public_key_thumbprint", f.THUMB + "\n", THUMBPRINT, "hex"),
    ("grants.0.data.outway.peer_id", "ab", CONTENT, "3 to 255"),
    ("grants.0.data.outway.peer_id", "1" * 256, CONTENT, "3 to 255"),
    ("grants.0.data.outway.peer_id", "\ud800abc", CONTENT, "lone surrogate"),
    ("grants.0.data.service.name", "a b", GRANT, "service name"),
    ("grants.0.data.service.name", "ab", GRANT, "service name"),
    ("grants.0.data.service.name", "a" * 101, GRANT, "service name"),
    ("grants.0.data.service.name", 7, CONTENT, "must be a string"),
    ("grants.0.data.service.type", "SERVICE_TYPE_OTHER", CONTENT, "unknown value"),
    ("grants.0.data.service.type", _DELETE, CONTENT, "required field 'type'"),
    ("grants.0.data.service.delegator", {"peer_id": f.PUB_DELEGATOR}, CONTENT, "unknown field 'delegator'"),
    ("grants.0.data.service.type", "SERVICE_TYPE_DELEGATED_SERVICE", CONTENT, "required field 'delegator'"),
    ("grants.0.data.outway", _DELETE, CONTENT, "required field 'outway'"),
    ("grants.0.data.directory", {"peer_id": f.DIRECTORY}, CONTENT, "unknown field 'directory'"),
    ("grants.0.extra", 1, CONTENT, "unknown field 'extra'"),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "value", "code", "fragment"), BAD)
def test_malformed_content_is_refused_with_a_code(version: str, path: str, value: Any, code: ErrorCode,
                                                  fragment: str) -> None:
    raw = _set(f.content(), path, value)
    with pytest.raises(ContractFormatError) as err:
        parse_contract_content(raw, version)
    assert err.value.code is code
    assert fragment in err.value.message
    assert err.value.to_error_body()["domain"] == "ERROR_DOMAIN_MANAGER"


@pytest.mark.parametrize("version", VERSIONS)
def test_publication_and_registration_fields(version: str) -> None:
    for grant, path, value, fragment in [
        (f.spg(), "grants.0.data.service.protocol", "PROTOCOL_UDP", "unknown value"),
        (f.spg(), "grants.0.data.service.protocol", _DELETE, "required field 'protocol'"),
        (f.dspg(), "grants.0.data.delegator", _DELETE, "required field 'delegator'"),
        (f.prg(), "grants.0.data.member.role", "OWNER", "unknown value"),
        (f.prg(), "grants.0.data.membership_administrator.regulated_area_name", "", "1 to 100"),
    ]:
        with pytest.raises(ContractFormatError, match=fragment):
            parse_contract_content(_set(f.content(grant), path, value), version)


def test_not_an_object_and_not_a_list() -> None:
    for value in (None, [], "contract", 1):
        with pytest.raises(ContractFormatError) as err:
            parse_contract_content(value, "draft")
        assert err.value.code is CONTENT


def test_grant_count_limit() -> None:
    grants = [f.scg(outway=f"{i:020d}") for i in range(MAX_GRANTS)]
    assert len(parse_contract_content(f.content(*grants), "1.1").grants) == MAX_GRANTS
    with pytest.raises(ContractFormatError) as err:
        parse_contract_content(f.content(*grants, f.scg(outway="1" * 20)), "1.1")
    assert err.value.code is GRANT


def test_unknown_version_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_contract_content(f.content(), "1.0")


def test_properties_rules_in_the_draft() -> None:
    assert parse_contract_content(f.content(dict(f.scg(), properties={})), "draft").grants[0].properties == {}
    with pytest.raises(ContractFormatError, match="must be a JSON object"):
        parse_contract_content(f.content(dict(f.scg(), properties=[1])), "draft")
    deep: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH):
        deep = {"a": deep}
    with pytest.raises(ContractFormatError, match="deeper than"):
        parse_contract_content(f.content(dict(f.scg(), properties=deep)), "draft")
    big = {"blob": "x" * MAX_PROPERTIES_BYTES}
    with pytest.raises(ContractFormatError, match="larger than"):
        parse_contract_content(f.content(dict(f.scg(), properties=big)), "draft")
    with pytest.raises(ContractFormatError, match="lone surrogate"):
        parse_contract_content(f.content(dict(f.scg(), properties={"\udc00": 1})), "draft")


def test_json_text_loading() -> None:
    text = json.dumps(f.content())
    assert isinstance(parse_contract_content_json(text.encode(), "1.1"), ContractContent)
    cases = [
        (b'{"iv": 1, "iv": 2}', "duplicate member name 'iv'"),
        (text.replace('"created_at": ' + str(f.NOW - 60), '"created_at": NaN').encode(), "NaN"),
        (b'{"iv": "\xff"}', "not valid UTF-8"),
        (b"{", "malformed JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "deeper than"),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "deeper than"),
        (b" " * (MAX_CONTRACT_JSON_BYTES + 1), "larger than"),
    ]
    for raw, fragment in cases:
        with pytest.raises(ContractFormatError) as err:
            parse_contract_content_json(raw, "draft")
        assert fragment in err.value.message, (raw[:40], err.value.message)
        assert err.value.code is CONTENT


# --- hypothesis: round trip ---------------------------------------------------------------------------
peer_ids = st.text(alphabet="0123456789", min_size=3, max_size=25)
names = st.from_regex(r"[a-zA-Z0-9._-]{3,100}", fullmatch=True)
thumbs = st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
PROTOCOLS = ["PROTOCOL_TCP_HTTP_1.1", "PROTOCOL_TCP_HTTP_2"]
stamps = st.integers(min_value=0, max_value=2**53 - 1)
json_leaf = st.none() | st.booleans() | st.text() | st.integers(-(2**53 - 1), 2**53 - 1) | st.floats(
    allow_nan=False, allow_infinity=False)
json_values = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)
properties = st.dictionaries(st.text(), json_values, max_size=5)


def _service(delegated: bool, peer: str, name: str, delegator: str) -> dict[str, Any]:
    return f.service(peer, name, delegator if delegated else None)


@st.composite
def grants(draw: st.DrawFn, with_properties: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(["scg", "dscg", "spg", "dspg", "prg"]))
    p1, p2, p3, p4 = (draw(peer_ids) for _ in range(4))
    name = draw(names)
    if kind == "scg":
        data = {"type": "GRANT_TYPE_SERVICE_CONNECTION",
                "outway": {"peer_id": p1, "public_key_thumbprint": draw(thumbs)},
                "service": _service(draw(st.booleans()), p2, name, p3)}
    elif kind == "dscg":
        data = {"type": "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION",
                "outway": {"peer_id": p1, "public_key_thumbprint": draw(thumbs)},
                "service": _service(draw(st.booleans()), p2, name, p3), "delegator": {"peer_id": p4}}
    elif kind in ("spg", "dspg"):
        data = {"type": "GRANT_TYPE_SERVICE_PUBLICATION", "directory": {"peer_id": p1},
                "service": {"peer_id": p2, "name": name,
                            "protocol": draw(st.sampled_from(PROTOCOLS))}}
        if kind == "dspg":
            data["type"] = "GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION"
            data["delegator"] = {"peer_id": p3}
    else:
        data = f.prg(member=p1, admin=p2, area=name[:100],
                     role=draw(st.sampled_from(["MEMBER", "MEMBERSHIP_ADMINISTRATOR"])))
    if with_properties and draw(st.booleans()):
        data["properties"] = draw(properties)
    return {"data": data}


@st.composite
def contents(draw: st.DrawFn, version: str) -> dict[str, Any]:
    return {
        "iv": str(draw(st.uuids())),
        "group_id": draw(st.from_regex(r"[a-zA-Z0-9./_-]{1,100}", fullmatch=True)),
        "validity": {"not_before": draw(stamps), "not_after": draw(stamps)},
        "grants": draw(st.lists(grants(version == "draft"), max_size=4)),
        "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
        "created_at": draw(stamps),
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_is_exact(version: str) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(contents(version))
    def check(raw: dict[str, Any]) -> None:
        parsed = parse_contract_content(raw, version)
        assert to_json(parsed) == raw
        again = parse_contract_content_json(json.dumps(to_json(parsed)), version)
        assert again == parsed
        scheme = scheme_for(version)
        assert scheme.content_hash(again) == scheme.content_hash(parsed)
        assert scheme.grant_hashes(again) == scheme.grant_hashes(parsed)
        hash(parsed)  # immutable and hashable, properties included

    check()


def test_model_is_immutable() -> None:
    parsed = parse_contract_content(f.content(dict(f.scg(), properties={"a": [1, {"b": 2}]})), "draft")
    with pytest.raises(AttributeError):
        parsed.group_id = "other"  # type: ignore[misc]
    grant = parsed.grants[0]
    assert isinstance(grant, ServiceConnectionGrant)
    assert grant.properties is not None
    with pytest.raises(TypeError):
        grant.properties["a"] = 1  # type: ignore[index]
    assert to_json(parsed)["grants"][0]["data"]["properties"] == {"a": [1, {"b": 2}]}


def test_properties_equality_follows_json_not_python() -> None:
    def grant_props(props: dict) -> Any:
        return parse_contract_content(f.content(dict(f.scg(), properties=props)), "draft").grants[0]

    assert grant_props({"a": True}) != grant_props({"a": 1})  # Python says True == 1
    assert grant_props({"a": 1}) == grant_props({"a": 1.0})  # JCS: both "1"
    assert grant_props({"a": 1, "b": [1]}) == grant_props({"b": [1], "a": 1})
    assert len({grant_props({"a": True}), grant_props({"a": 1})}) == 2


def test_error_messages_do_not_echo_huge_input() -> None:
    for raw in (dict(f.content(), **{"k" * 100_000: 1}),
                f.content(dict(f.scg(), type="GRANT_TYPE_" + "X" * 100_000))):
        with pytest.raises(ContractFormatError) as err:
            parse_contract_content(raw, "draft")
        assert len(err.value.message) < 400
