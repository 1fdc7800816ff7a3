"""FSC 1.1.x (fsc-core master) hashes from step-by-step byte dumps written out here.

Each expected value is built by hand, field by field, following §Content hash, §Grant hash and
§Data types of fsc-core master specifications.md: UTF-8 strings, int32/int64 little-endian, the UUID's
16 bytes, grant hash strings sorted ascending; then hashlib.sha3_512 and unpadded base64url. Nothing
here calls nds's byte builders. fsc-core and fsc-test-suite publish no hash vectors (the manager.yaml
example hashes have no matching content), so the spec's own example contract is used as input.
"""

from __future__ import annotations

import base64
import hashlib

import fsc_contract_factories as f
import pytest

from nds.fsc.contracts.errors import ContractFormatError
from nds.fsc.contracts.model import parse_contract_content
from nds.fsc.contracts.versions import grant_type_code, grant_type_int32, scheme_for

pytestmark = pytest.mark.unit

GROUP = b"fsc-example-group"
# "06338364-8305-7b74-8000-de4963503139" → its 16 bytes in the order written (RFC 9562).
IV_BYTES = bytes([0x06, 0x33, 0x83, 0x64, 0x83, 0x05, 0x7B, 0x74,
                  0x80, 0x00, 0xDE, 0x49, 0x63, 0x50, 0x31, 0x39])
NOT_BEFORE_LE = bytes([0xF0, 0xBE, 0xB0, 0x63, 0, 0, 0, 0])  # 1672527600 as int64 little-endian
NOT_AFTER_LE = bytes([0x70, 0xF2, 0x91, 0x65, 0, 0, 0, 0])  # 1704063600
CREATED_AT_LE = NOT_BEFORE_LE  # created_at == 1672527600 in the example
INT32_1 = b"\x01\x00\x00\x00"
INT32_2 = b"\x02\x00\x00\x00"
INT32_3 = b"\x03\x00\x00\x00"
INT32_4 = b"\x04\x00\x00\x00"
PROVIDER = b"00000000000000000001"
CONSUMER = b"00000000000000000002"
THUMB = b"3a56f2e9269ac63f0d4394c46b96539da1625b6a985d38029ff89f34e490960c"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sha3(data: bytes) -> str:
    return _b64(hashlib.sha3_512(data).digest())


def _spec_example(*grants: dict) -> dict:
    return {
        "iv": "06338364-8305-7b74-8000-de4963503139",
        "group_id": "fsc-example-group",
        "validity": {"not_before": 1672527600, "not_after": 1704063600},
        "grants": [{"data": g} for g in grants],
        "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
        "created_at": 1672527600,
    }


SCG = {
    "type": "GRANT_TYPE_SERVICE_CONNECTION",
    "outway": {"peer_id": "00000000000000000002", "public_key_thumbprint": THUMB.decode()},
    "service": {"type": "SERVICE_TYPE_SERVICE", "peer_id": "00000000000000000001", "name": "example-service"},
}


def test_service_connection_grant_and_content_hash_step_by_step() -> None:
    content = parse_contract_content(_spec_example(SCG), "1.1")
    scheme = scheme_for("1.1")

    grant_bytes = (
        GROUP  # contract.content.group_id
        + IV_BYTES  # contract.content.iv
        + INT32_2  # data.type: GRANT_TYPE_SERVICE_CONNECTION = 2 (§Type mappings, Grant types)
        + CONSUMER  # data.outway.peer_id
        + THUMB  # data.outway.public_key_thumbprint
        + INT32_1  # data.service.type: SERVICE_TYPE_SERVICE = 1
        + PROVIDER  # data.service.peer_id
        + b"example-service"  # data.service.name
    )
    grant_hash = "$1$3$" + _sha3(grant_bytes)  # HASH_TYPE_SERVICE_CONNECTION_GRANT = 3
    assert scheme.grant_hash(content, content.grants[0]) == grant_hash
    assert grant_type_code(content.grants[0]) == 3
    assert grant_type_int32(content.grants[0]) == 2

    content_bytes = GROUP + IV_BYTES + NOT_BEFORE_LE + NOT_AFTER_LE + CREATED_AT_LE + grant_hash.encode()
    assert scheme.content_hash(content) == "$1$1$" + _sha3(content_bytes)


def test_grant_hashes_are_sorted_bytewise_in_the_content_hash() -> None:
    second = dict(SCG, outway={"peer_id": "00000000000000000007", "public_key_thumbprint": THUMB.decode()})
    a = parse_contract_content(_spec_example(SCG, second), "1.1")
    b = parse_contract_content(_spec_example(second, SCG), "1.1")
    scheme = scheme_for("1.1")
    h1 = "$1$3$" + _sha3(GROUP + IV_BYTES + INT32_2 + CONSUMER + THUMB + INT32_1 + PROVIDER
                         + b"example-service")
    h2 = "$1$3$" + _sha3(GROUP + IV_BYTES + INT32_2 + b"00000000000000000007" + THUMB + INT32_1 + PROVIDER
                         + b"example-service")
    sorted_hashes = b"".join(sorted([h1.encode(), h2.encode()]))
    expected = "$1$1$" + _sha3(GROUP + IV_BYTES + NOT_BEFORE_LE + NOT_AFTER_LE + CREATED_AT_LE
                               + sorted_hashes)
    # FSC 1.1 sorts grant hashes, so grant order does not change any hash.
    assert scheme.content_hash(a) == scheme.content_hash(b) == expected
    assert set(scheme.grant_hashes(a)) == set(scheme.grant_hashes(b)) == {h1, h2}
    assert scheme.grant_hashes(a) == (h1, h2)


def test_delegated_service_and_delegated_connection_bytes() -> None:
    delegated = {
        "type": "GRANT_TYPE_DELEGATED_SERVICE_CONNECTION",
        "outway": {"peer_id": "00000000000000000002", "public_key_thumbprint": THUMB.decode()},
        "service": {"type": "SERVICE_TYPE_DELEGATED_SERVICE", "peer_id": "00000000000000000001",
                    "name": "example-service", "delegator": {"peer_id": "00000000000000000004"}},
        "delegator": {"peer_id": "00000000000000000003"},
    }
    content = parse_contract_content(_spec_example(delegated), "1.1")
    grant_bytes = (
        GROUP + IV_BYTES
        + INT32_3  # GRANT_TYPE_DELEGATED_SERVICE_CONNECTION = 3
        + CONSUMER + THUMB  # outway
        + INT32_2  # SERVICE_TYPE_DELEGATED_SERVICE = 2
        + PROVIDER + b"example-service" + b"00000000000000000004"  # service incl. its delegator
        + b"00000000000000000003"  # delegator
    )
    assert scheme_for("1.1").grant_hash(content, content.grants[0]) == "$1$4$" + _sha3(grant_bytes)


def test_publication_grants_bytes() -> None:
    spg = {"type": "GRANT_TYPE_SERVICE_PUBLICATION", "directory": {"peer_id": "00000000000000000009"},
           "service": {"peer_id": "00000000000000000001", "name": "example-service",
                       "protocol": "PROTOCOL_TCP_HTTP_1.1"}}
    dspg = dict(spg, type="GRANT_TYPE_DELEGATED_SERVICE_PUBLICATION",
                delegator={"peer_id": "00000000000000000004"})
    content = parse_contract_content(_spec_example(spg, dspg), "1.1")
    spg_bytes = (GROUP + IV_BYTES + INT32_1 + b"00000000000000000009"
                 + PROVIDER + b"example-service" + b"PROTOCOL_TCP_HTTP_1.1")
    dspg_bytes = (GROUP + IV_BYTES + INT32_4 + b"00000000000000000009"
                  + PROVIDER + b"example-service" + b"PROTOCOL_TCP_HTTP_1.1" + b"00000000000000000004")
    scheme = scheme_for("1.1")
    assert scheme.grant_hashes(content) == ("$1$2$" + _sha3(spg_bytes), "$1$5$" + _sha3(dspg_bytes))


def test_peer_registration_bytes_hash_type_6() -> None:
    content = parse_contract_content(_spec_example(f.prg()), "1.1")
    expected = (GROUP + IV_BYTES + b"\x05\x00\x00\x00" + f.MEMBER_ADMIN.encode() + b"zorg"
                + f.CONSUMER.encode() + b"MEMBER")
    assert scheme_for("1.1").grant_hash(content, content.grants[0]) == "$1$6$" + _sha3(expected)
    assert grant_type_code(content.grants[0]) == 6


def test_non_ascii_strings_are_utf8() -> None:
    raw = _spec_example(SCG)
    raw["group_id"] = "fsc.example/groep_1"
    content = parse_contract_content(raw, "1.1")
    grant_bytes = (b"fsc.example/groep_1" + IV_BYTES + INT32_2 + CONSUMER + THUMB + INT32_1 + PROVIDER
                   + b"example-service")
    assert scheme_for("1.1").grant_hash(content, content.grants[0]) == "$1$3$" + _sha3(grant_bytes)


def test_every_content_field_changes_the_hash() -> None:
    base = _spec_example(SCG)
    scheme = scheme_for("1.1")
    reference = scheme.content_hash(parse_contract_content(base, "1.1"))
    variants = [
        dict(base, iv="06338364-8305-7b74-8000-de4963503138"),
        dict(base, group_id="fsc-example-grouq"),
        dict(base, validity={"not_before": 1672527601, "not_after": 1704063600}),
        dict(base, validity={"not_before": 1672527600, "not_after": 1704063601}),
        dict(base, created_at=1672527601),
        _spec_example(dict(SCG, service=dict(SCG["service"], name="example-servicf"))),
    ]
    hashes = {scheme.content_hash(parse_contract_content(v, "1.1")) for v in variants}
    assert reference not in hashes and len(hashes) == len(variants)


def test_properties_do_not_exist_in_1_1() -> None:
    with pytest.raises(ContractFormatError, match=r"not part of FSC 1\.1"):
        parse_contract_content(_spec_example(dict(SCG, properties={})), "1.1")


def test_versions_disagree_on_the_same_content() -> None:
    v11 = parse_contract_content(_spec_example(SCG), "1.1")
    draft = parse_contract_content(_spec_example(SCG), "draft")
    assert v11 == draft
    assert scheme_for("1.1").content_hash(v11) != scheme_for("draft").content_hash(draft)
