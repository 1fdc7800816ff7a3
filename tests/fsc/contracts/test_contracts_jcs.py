"""Draft (fsc-core develop) hashing against RFC 8785 test vectors, independent of our code.

Sources:
* RFC 8785 Appendix B: IEEE 754 → JSON number serialisation table.
* RFC 8785 §3.2.2 "Serialization of Primitive Data Types" worked example and §3.2.3 sorting example.
* The ``rfc8785`` library (a separate implementation) for a property object we build here.
The expected canonical contract bytes are written out by hand below; the test hashes them with
hashlib.sha3_512 and compares with DraftScheme.
"""

from __future__ import annotations

import base64
import hashlib
import struct

import fsc_contract_factories as f
import pytest
import rfc8785

from nds.fsc.contracts.draft import jcs
from nds.fsc.contracts.errors import ContractFormatError, ErrorCode
from nds.fsc.contracts.model import parse_contract_content, parse_contract_content_json
from nds.fsc.contracts.versions import scheme_for

pytestmark = pytest.mark.unit

# RFC 8785 Appendix B (IEEE 754 bit pattern, expected JSON text).
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits))[0]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_numbers_in_grant_properties(bits: str, expected: str) -> None:
    raw = f.content(dict(f.scg(), properties={"n": _double(bits)}))
    content = parse_contract_content(raw, "draft")
    scheme = scheme_for("draft")
    # The grant hash input ends with JCS(grant.data); its properties member is the number alone.
    assert jcs({"n": _double(bits)}) == ('{"n":' + expected + "}").encode()
    data = (
        '{"outway":{"peer_id":"00000000000000000002","public_key_thumbprint":"' + f.THUMB + '"},'
        '"properties":{"n":' + expected + '},'
        '"service":{"name":"example-service","peer_id":"00000000000000000001","type":"SERVICE_TYPE_SERVICE"},'
        '"type":"GRANT_TYPE_SERVICE_CONNECTION"}'
    ).encode()
    digest = hashlib.sha3_512(scheme.content_hash(content).encode() + data).digest()
    expected_hash = "$1$3$" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert scheme.grant_hash(content, content.grants[0]) == expected_hash


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000"])
def test_appendix_b_nan_and_infinity_are_refused(bits: str) -> None:
    raw = f.content(dict(f.scg(), properties={"n": _double(bits)}))
    with pytest.raises(ContractFormatError) as err:
        parse_contract_content(raw, "draft")
    assert err.value.code is ErrorCode.SIGNATURE_VERIFICATION_FAILED


def test_rfc8785_section_3_2_2_example_via_properties() -> None:
    # Input JSON text of RFC 8785 §3.2.2, used as a grant's properties object.
    properties_text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    body = ('{"iv":"' + f.IV + '","group_id":"g","validity":{"not_before":1,"not_after":2},'
            '"grants":[{"data":{"type":"GRANT_TYPE_SERVICE_CONNECTION","outway":{"peer_id":"abc",'
            '"public_key_thumbprint":"' + f.THUMB + '"},"service":{"type":"SERVICE_TYPE_SERVICE",'
            '"peer_id":"def","name":"svc"},"properties":' + properties_text + '}}],'
            '"hash_algorithm":"HASH_ALGORITHM_SHA3_512","created_at":0}')
    content = parse_contract_content_json(body, "draft")
    canonical = (
        '{"created_at":0,"grants":[{"data":{"outway":{"peer_id":"abc","public_key_thumbprint":"'
        + f.THUMB + '"},"properties":' + expected.decode() + ',"service":{"name":"svc","peer_id":"def",'
        '"type":"SERVICE_TYPE_SERVICE"},"type":"GRANT_TYPE_SERVICE_CONNECTION"}}],'
        '"group_id":"g","hash_algorithm":"HASH_ALGORITHM_SHA3_512","iv":"' + f.IV + '",'
        '"validity":{"not_after":2,"not_before":1}}'
    ).encode()
    digest = hashlib.sha3_512(canonical).digest()
    assert scheme_for("draft").content_hash(content) == (
        "$1$1$" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    )


def test_rfc8785_section_3_2_3_sorting_of_non_ascii_keys() -> None:
    props = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    # RFC 8785 §3.2.3: keys sorted by UTF-16 code units (the emoji's surrogate 0xD83D sorts before 0xFB33).
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With '
        'Diaeresis","\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter '
        'Dalet With Dagesh"}'
    ).encode("utf-8")
    assert rfc8785.dumps(props) == expected
    content = parse_contract_content(f.content(dict(f.scg(), properties=props)), "draft")
    canonical_grant = (
        b'{"outway":{"peer_id":"00000000000000000002","public_key_thumbprint":"' + f.THUMB.encode()
        + b'"},"properties":' + expected + b',"service":{"name":"example-service","peer_id":'
        b'"00000000000000000001","type":"SERVICE_TYPE_SERVICE"},"type":"GRANT_TYPE_SERVICE_CONNECTION"}'
    )
    scheme = scheme_for("draft")
    digest = hashlib.sha3_512(scheme.content_hash(content).encode() + canonical_grant).digest()
    assert scheme.grant_hash(content, content.grants[0]).endswith(
        base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    )


def test_draft_content_hash_of_spec_example_contract_written_out_by_hand() -> None:
    """fsc-core (develop) specifications.md §Contracts example, with the schema's required service.type."""
    raw = {
        "iv": "06338364-8305-7b74-8000-de4963503139",
        "group_id": "fsc-example-group",
        "validity": {"not_before": 1672527600, "not_after": 1704063600},
        "grants": [{"data": {
            "type": "GRANT_TYPE_SERVICE_CONNECTION",
            "service": {"type": "SERVICE_TYPE_SERVICE", "peer_id": "00000000000000000001",
                        "name": "example-service"},
            "outway": {"peer_id": "00000000000000000002", "public_key_thumbprint": f.THUMB},
        }}],
        "hash_algorithm": "HASH_ALGORITHM_SHA3_512",
        "created_at": 1672527600,
    }
    canonical = (
        b'{"created_at":1672527600,"grants":[{"data":{"outway":{"peer_id":"00000000000000000002",'
        b'"public_key_thumbprint":"3a56f2e9269ac63f0d4394c46b96539da1625b6a985d38029ff89f34e490960c"},'
        b'"service":{"name":"example-service","peer_id":"00000000000000000001","type":"SERVICE_TYPE_SERVICE"},'
        b'"type":"GRANT_TYPE_SERVICE_CONNECTION"}}],"group_id":"fsc-example-group",'
        b'"hash_algorithm":"HASH_ALGORITHM_SHA3_512","iv":"06338364-8305-7b74-8000-de4963503139",'
        b'"validity":{"not_after":1704063600,"not_before":1672527600}}'
    )
    content = parse_contract_content(raw, "draft")
    content_digest = hashlib.sha3_512(canonical).digest()
    content_hash = "$1$1$" + base64.urlsafe_b64encode(content_digest).rstrip(b"=").decode()
    scheme = scheme_for("draft")
    assert scheme.content_hash(content) == content_hash
    grant_data = (
        b'{"outway":{"peer_id":"00000000000000000002",'
        b'"public_key_thumbprint":"3a56f2e9269ac63f0d4394c46b96539da1625b6a985d38029ff89f34e490960c"},'
        b'"service":{"name":"example-service","peer_id":"00000000000000000001","type":"SERVICE_TYPE_SERVICE"},'
        b'"type":"GRANT_TYPE_SERVICE_CONNECTION"}'
    )
    grant_digest = hashlib.sha3_512(content_hash.encode() + grant_data).digest()
    # Hash type 3 (HASH_TYPE_SERVICE_CONNECTION_GRANT per the table), not the step example's "$1$2$".
    assert scheme.grant_hash(content, content.grants[0]) == (
        "$1$3$" + base64.urlsafe_b64encode(grant_digest).rstrip(b"=").decode()
    )


def test_large_integers_follow_i_json() -> None:
    ok = f.content(dict(f.scg(), properties={"max": 2**53 - 1, "min": -(2**53 - 1)}))
    content = parse_contract_content(ok, "draft")
    assert b'"max":9007199254740991' in jcs({"max": 2**53 - 1})
    assert scheme_for("draft").grant_hash(content, content.grants[0]).startswith("$1$3$")
    for big in (2**53, -(2**53), 10**30):
        with pytest.raises(ContractFormatError, match="I-JSON"):
            parse_contract_content(f.content(dict(f.scg(), properties={"n": big})), "draft")
    # The independent library refuses the same integers.
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps(2**53)


def test_key_order_does_not_change_draft_hashes_but_grant_order_does() -> None:
    a = f.content(f.scg(outway="00000000000000000011"), f.scg(outway="00000000000000000012"))
    reordered_keys = {k: a[k] for k in reversed(list(a))}
    reordered_keys["grants"] = [{"data": {k: g["data"][k] for k in reversed(list(g["data"]))}}
                                for g in a["grants"]]
    scheme = scheme_for("draft")
    ca, ck = parse_contract_content(a, "draft"), parse_contract_content(reordered_keys, "draft")
    assert scheme.content_hash(ca) == scheme.content_hash(ck)
    assert scheme.grant_hashes(ca) == scheme.grant_hashes(ck)
    swapped = dict(a, grants=list(reversed(a["grants"])))
    cs = parse_contract_content(swapped, "draft")
    assert scheme.content_hash(cs) != scheme.content_hash(ca)
    # Each grant's hash changes too, because it includes the content hash.
    assert set(scheme.grant_hashes(cs)).isdisjoint(scheme.grant_hashes(ca))
