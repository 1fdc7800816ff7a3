"""Compact JWS: signing, verification, allowlist, alg confusion, tampering, garbage input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws as lib_jws
from joserfc.jwk import ECKey, RSAKey, import_key

from nds.fsc.jose import (
    ALLOWED_ALGS,
    JoseError,
    alg_for_key,
    certificate_jwk,
    peek_header,
    peek_payload,
    sign_compact,
    verify_compact,
)
from nds.pki import (
    PeerSpec,
    cert_thumbprint_s256,
    create_dev_group,
    load_certificate,
    load_private_key,
)

pytestmark = pytest.mark.unit

OIN_EC = "00000001000000000011"
OIN_RSA = "00000001000000000012"
OIN_P384 = "00000001000000000013"
OIN_OTHER = "00000001000000000014"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, x509.Certificate]]:
    root = tmp_path_factory.mktemp("jose")
    dev = create_dev_group(root, "jose-test", [
        PeerSpec(OIN_EC, "EC", ["ec.test"]),
        PeerSpec(OIN_RSA, "RSA", ["rsa.test"], key_type="rsa-3072"),
        PeerSpec(OIN_P384, "P384", ["p384.test"], key_type="ec-p384"),
        PeerSpec(OIN_OTHER, "Other", ["other.test"]),
    ])
    return {
        name: (load_private_key(dev.peers[oin].key), load_certificate(dev.peers[oin].cert))
        for name, oin in (("ec", OIN_EC), ("rsa", OIN_RSA), ("p384", OIN_P384), ("other", OIN_OTHER))
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _raw_token(header: dict[str, Any], payload: dict[str, Any], sig: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{_b64(sig)}"


PAYLOAD = {"contract_content_hash": "$1$1$abc", "type": "accept", "signed_at": 1672527600}


@pytest.mark.parametrize(("name", "alg"), [("ec", "ES256"), ("p384", "ES384"), ("rsa", "RS256")])
def test_round_trip_and_header(keys: dict[str, Any], name: str, alg: str) -> None:
    key, cert = keys[name]
    token = sign_compact(PAYLOAD, key, cert)
    header = peek_header(token)
    assert header == {"alg": alg, "x5t#S256": cert_thumbprint_s256(cert)}
    assert verify_compact(token, cert) == PAYLOAD
    assert peek_payload(token) == PAYLOAD


@pytest.mark.parametrize("bits", [384, 512])
def test_rsa_hash_sizes(keys: dict[str, Any], bits: int) -> None:
    key, cert = keys["rsa"]
    token = sign_compact(PAYLOAD, key, cert, rsa_hash=bits)  # type: ignore[arg-type]
    assert peek_header(token)["alg"] == f"RS{bits}"
    assert verify_compact(token, cert) == PAYLOAD


def test_signature_verifies_independently(keys: dict[str, Any]) -> None:
    """Check the ES256 and RS256 signatures with plain cryptography, not through joserfc."""
    for name in ("ec", "rsa"):
        key, cert = keys[name]
        token = sign_compact(PAYLOAD, key, cert, typ="JWT")
        h, p, s = token.split(".")
        signing_input = f"{h}.{p}".encode()
        sig = _unb64(s)
        pub = cert.public_key()
        if name == "ec":
            assert len(sig) == 64  # JOSE raw r||s, not DER
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            pub.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
        assert json.loads(_unb64(h))["typ"] == "JWT"
        assert json.loads(_unb64(p)) == PAYLOAD


def test_x5t_header_equals_independent_thumbprint(keys: dict[str, Any]) -> None:
    key, cert = keys["ec"]
    der = cert.public_bytes(serialization.Encoding.DER)
    assert peek_header(sign_compact(PAYLOAD, key, cert))["x5t#S256"] == _b64(hashlib.sha256(der).digest())


def test_tampered_payload_is_refused(keys: dict[str, Any]) -> None:
    key, cert = keys["ec"]
    h, _, s = sign_compact(PAYLOAD, key, cert).split(".")
    forged = f"{h}.{_b64(json.dumps({**PAYLOAD, 'type': 'revoke'}).encode())}.{s}"
    with pytest.raises(JoseError, match="signature is invalid"):
        verify_compact(forged, cert)


def test_tampered_signature_is_refused(keys: dict[str, Any]) -> None:
    key, cert = keys["rsa"]
    h, p, s = sign_compact(PAYLOAD, key, cert).split(".")
    sig = bytearray(_unb64(s))
    sig[10] ^= 1
    with pytest.raises(JoseError, match="signature is invalid"):
        verify_compact(f"{h}.{p}.{_b64(bytes(sig))}", cert)


def test_signed_by_another_certificate(keys: dict[str, Any]) -> None:
    key, cert = keys["other"]
    token = sign_compact(PAYLOAD, key, cert)
    with pytest.raises(JoseError, match="x5t#S256"):
        verify_compact(token, keys["ec"][1])
    # header claiming the right thumbprint but signed with another key
    h = json.loads(_unb64(token.split(".")[0]))
    h["x5t#S256"] = cert_thumbprint_s256(keys["ec"][1])
    forged = f"{_b64(json.dumps(h).encode())}.{token.split('.', 1)[1]}"
    with pytest.raises(JoseError, match="signature is invalid"):
        verify_compact(forged, keys["ec"][1])


def test_certificate_list_selects_by_thumbprint(keys: dict[str, Any]) -> None:
    key, cert = keys["p384"]
    token = sign_compact(PAYLOAD, key, cert)
    assert verify_compact(token, [keys["ec"][1], cert]) == PAYLOAD


def test_none_algorithm_is_refused(keys: dict[str, Any]) -> None:
    cert = keys["ec"][1]
    token = _raw_token({"alg": "none", "x5t#S256": cert_thumbprint_s256(cert)}, PAYLOAD)
    for allowed in (ALLOWED_ALGS, ("none", *ALLOWED_ALGS)):
        with pytest.raises(JoseError, match="not allowed"):
            verify_compact(token, cert, allowed_algs=allowed)


def test_hs256_with_public_key_as_secret_is_refused(keys: dict[str, Any]) -> None:
    """Classic alg confusion: HMAC keyed with the (public) certificate key."""
    cert = keys["rsa"][1]
    secret = cert.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    h = _b64(json.dumps({"alg": "HS256", "x5t#S256": cert_thumbprint_s256(cert)}).encode())
    p = _b64(json.dumps(PAYLOAD).encode())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    for allowed in (ALLOWED_ALGS, ("HS256", *ALLOWED_ALGS)):
        with pytest.raises(JoseError, match="not allowed"):
            verify_compact(f"{h}.{p}.{_b64(sig)}", cert, allowed_algs=allowed)


def test_alg_must_match_the_key(keys: dict[str, Any]) -> None:
    ec_key, ec_cert = keys["ec"]
    token = sign_compact(PAYLOAD, ec_key, ec_cert)
    h = json.loads(_unb64(token.split(".")[0]))
    for wrong in ("ES384", "ES512", "RS256"):
        h["alg"] = wrong
        forged = f"{_b64(json.dumps(h).encode())}.{token.split('.', 1)[1]}"
        with pytest.raises(JoseError, match="does not match the certificate's key"):
            verify_compact(forged, ec_cert)
    rsa_cert = keys["rsa"][1]
    h = {"alg": "ES256", "x5t#S256": cert_thumbprint_s256(rsa_cert)}
    with pytest.raises(JoseError, match="does not match"):
        verify_compact(_raw_token(h, PAYLOAD, b"x" * 64), rsa_cert)


def test_ps256_and_eddsa_are_not_allowed(keys: dict[str, Any]) -> None:
    rsa_key, rsa_cert = keys["rsa"]
    # a genuine PS256 signature made with the right key is still refused: FSC allows RS*/ES* only
    token = lib_jws.serialize_compact(
        {"alg": "PS256", "x5t#S256": cert_thumbprint_s256(rsa_cert)}, json.dumps(PAYLOAD),
        RSAKey.import_key(rsa_key), algorithms=["PS256"],
    )
    with pytest.raises(JoseError, match="not allowed"):
        verify_compact(token, rsa_cert, allowed_algs=("PS256", *ALLOWED_ALGS))
    with pytest.raises(JoseError, match="not allowed"):
        verify_compact(_raw_token({"alg": "EdDSA", "x5t#S256": "x"}, PAYLOAD, b"s"), rsa_cert)


def test_caller_can_narrow_the_allowlist(keys: dict[str, Any]) -> None:
    key, cert = keys["rsa"]
    with pytest.raises(JoseError, match="not allowed"):
        verify_compact(sign_compact(PAYLOAD, key, cert), cert, allowed_algs=("ES256",))


def test_missing_x5t_and_crit_are_refused(keys: dict[str, Any]) -> None:
    key, cert = keys["ec"]
    no_x5t = lib_jws.serialize_compact({"alg": "ES256"}, json.dumps(PAYLOAD), ECKey.import_key(key),
                                       algorithms=["ES256"])
    with pytest.raises(JoseError, match="no 'x5t#S256'"):
        verify_compact(no_x5t, cert)
    crit = _raw_token({"alg": "ES256", "x5t#S256": cert_thumbprint_s256(cert), "crit": ["exp"], "exp": 1},
                      PAYLOAD, b"x" * 64)
    with pytest.raises(JoseError, match="crit"):
        verify_compact(crit, cert)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "three"),
        ("abc", "three"),
        ("a.b", "three"),
        ("a.b.c.d", "three"),
        ("!!!.e30.", "base64url"),
        (_b64(b"not json") + ".e30.", "not JSON"),
        (_b64(b"[1,2]") + ".e30.", "not a JSON object"),
        (_b64(b'{"typ":"JWT"}') + ".e30.", "no 'alg'"),
        (_b64(b'{"alg":1}') + ".e30.", "no 'alg'"),
        (_b64(b"\xff\xfe") + ".e30.", "not JSON"),
        ("x" * 70000, "too long"),
    ],
)
def test_garbage_is_a_clear_error(keys: dict[str, Any], token: str, message: str) -> None:
    with pytest.raises(JoseError, match=message):
        peek_header(token)
    with pytest.raises(JoseError):
        verify_compact(token, keys["ec"][1])


def test_non_object_payload_is_refused(keys: dict[str, Any]) -> None:
    key, cert = keys["ec"]
    token = lib_jws.serialize_compact({"alg": "ES256", "x5t#S256": cert_thumbprint_s256(cert)}, "[1]",
                                      ECKey.import_key(key), algorithms=["ES256"])
    with pytest.raises(JoseError, match="not a JSON object"):
        verify_compact(token, cert)


def test_sign_refuses_a_key_that_is_not_the_certificates(keys: dict[str, Any]) -> None:
    with pytest.raises(JoseError, match="does not belong"):
        sign_compact(PAYLOAD, keys["ec"][0], keys["other"][1])


def test_alg_for_key(tmp_path: Path) -> None:
    assert alg_for_key(ec.generate_private_key(ec.SECP521R1())) == "ES512"
    with pytest.raises(JoseError, match="not allowed"):
        alg_for_key(ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(JoseError, match="2048"):
        alg_for_key(rsa.generate_private_key(public_exponent=65537, key_size=1024))


def test_certificate_jwk(keys: dict[str, Any]) -> None:
    key, cert = keys["ec"]
    jwk = certificate_jwk(cert)
    thumb = cert_thumbprint_s256(cert)
    assert jwk["kid"] == jwk["x5t#S256"] == thumb
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256" and jwk["use"] == "sig"
    assert "d" not in jwk
    assert base64.b64decode(jwk["x5c"][0]) == cert.public_bytes(serialization.Encoding.DER)
    # the JWK verifies what the key signed (through an independent import of the JWK)
    token = sign_compact(PAYLOAD, key, cert)
    obj = lib_jws.deserialize_compact(token, import_key({k: v for k, v in jwk.items() if k != "x5c"}),
                                      algorithms=["ES256"])
    assert json.loads(obj.payload) == PAYLOAD
    rsa_jwk = certificate_jwk(keys["rsa"][1], chain=[keys["ec"][1]])
    assert rsa_jwk["kty"] == "RSA" and rsa_jwk["alg"] == "RS256" and len(rsa_jwk["x5c"]) == 2


_TOKENISH = st.one_of(
    st.text(max_size=300),
    st.lists(st.text(alphabet="ABCxyz019-_=+/.", max_size=40), min_size=1, max_size=5).map(".".join),
    st.tuples(st.binary(max_size=60), st.binary(max_size=60), st.binary(max_size=60)).map(
        lambda t: ".".join(_b64(x) for x in t)
    ),
    st.tuples(st.dictionaries(st.sampled_from(["alg", "x5t#S256", "crit", "typ", "b64"]),
                              st.one_of(st.text(max_size=10), st.integers(), st.none(), st.booleans(),
                                        st.sampled_from(["ES256", "RS256", "none", "HS256"]))),
              st.binary(max_size=40)).map(lambda t: _raw_token(t[0], {"a": 1}, t[1])),
)


@settings(max_examples=300, deadline=None)
@given(token=_TOKENISH)
def test_arbitrary_input_only_ever_raises_jose_error(keys: dict[str, Any], token: str) -> None:
    for fn in (peek_header, peek_payload):
        with contextlib.suppress(JoseError):
            fn(token)
    with pytest.raises(JoseError):
        verify_compact(token, keys["ec"][1])


def test_unserialisable_payload(keys: dict[str, Any]) -> None:
    key, cert = keys["ec"]
    with pytest.raises(JoseError, match="not serialisable"):
        sign_compact({"x": float("nan")}, key, cert)
    with pytest.raises(JoseError, match="not serialisable"):
        sign_compact({"x": object()}, key, cert)
