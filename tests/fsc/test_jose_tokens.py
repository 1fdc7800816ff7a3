"""FSC access tokens: claims per fsc-core §Access token and every TokenError kind."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509

from nds.fsc.jose import (
    AccessTokenClaims,
    TokenError,
    issue_access_token,
    normalize_inway_url,
    peek_header,
    sign_compact,
    verify_access_token,
)
from nds.pki import PeerSpec, cert_thumbprint_s256, create_dev_group, load_certificate, load_private_key

pytestmark = pytest.mark.unit

PROVIDER = "00000001000000000021"  # offers the Service, runs the Manager that issues the token
CONSUMER = "00000001000000000022"  # runs the Outway
DELEGATOR = "00000001000000000023"
GID = "fsc-test-group"
AUD = "https://inway.provider.test:443"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GTH = "$1$3$Ew2dYKqbPl0cFZJ6TRX7pwH9AaBqUjW9mBdxQZHcTcs"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("tokens")
    dev = create_dev_group(root, GID, [
        PeerSpec(PROVIDER, "Provider", ["manager.provider.test"]),
        PeerSpec(CONSUMER, "Consumer", ["outway.consumer.test"]),
        PeerSpec(DELEGATOR, "Delegator", ["manager.delegator.test"]),
    ])
    return {
        "key": load_private_key(dev.peers[PROVIDER].key),
        "cert": load_certificate(dev.peers[PROVIDER].cert),
        "outway": load_certificate(dev.peers[CONSUMER].cert),
        "other_key": load_private_key(dev.peers[DELEGATOR].key),
        "other_cert": load_certificate(dev.peers[DELEGATOR].cert),
    }


def _issue(pki: dict[str, Any], **kw: Any) -> str:
    args: dict[str, Any] = {
        "key": pki["key"], "cert": pki["cert"], "grant_hash": GTH, "group_id": GID, "sub": CONSUMER,
        "iss": PROVIDER, "svc": "basisregistratie", "aud": AUD, "lifetime": 300, "now": NOW,
        "cnf_x5t_s256": cert_thumbprint_s256(pki["outway"]),
    }
    args.update(kw)
    return issue_access_token(**args)


def _verify(pki: dict[str, Any], token: str, **kw: Any) -> AccessTokenClaims:
    args: dict[str, Any] = {
        "signer_cert": pki["cert"], "expected_iss": PROVIDER, "expected_aud": AUD, "expected_gid": GID,
        "now": NOW + timedelta(seconds=10), "clock_skew": 30,
        "client_cert_thumbprint": cert_thumbprint_s256(pki["outway"]),
    }
    args.update(kw)
    return verify_access_token(token, **args)


def _claims(token: str) -> dict[str, Any]:
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def test_claims_are_exactly_the_fsc_set(pki: dict[str, Any]) -> None:
    token = _issue(pki)
    assert peek_header(token) == {"alg": "ES256", "x5t#S256": cert_thumbprint_s256(pki["cert"]), "typ": "JWT"}
    epoch = int(NOW.timestamp())
    assert _claims(token) == {
        "gth": GTH, "gid": GID, "sub": CONSUMER, "iss": PROVIDER, "svc": "basisregistratie", "aud": AUD,
        "exp": epoch + 300, "nbf": epoch, "cnf": {"x5t#S256": cert_thumbprint_s256(pki["outway"])},
    }
    claims = _verify(pki, token)
    assert (claims.sub, claims.iss, claims.gth, claims.svc) == (CONSUMER, PROVIDER, GTH, "basisregistratie")
    assert claims.act_sub is None and claims.pdi is None and claims.prp is None


def test_delegation_and_properties(pki: dict[str, Any]) -> None:
    token = _issue(pki, act_sub=DELEGATOR, pdi=DELEGATOR, prp={"doelbinding": "x", "n": 1}, add={"k": "v"})
    raw = _claims(token)
    assert raw["act"] == {"sub": DELEGATOR} and raw["pdi"] == DELEGATOR
    assert raw["prp"] == {"doelbinding": "x", "n": 1} and raw["add"] == {"k": "v"}
    claims = _verify(pki, token)
    assert claims.act_sub == DELEGATOR and claims.pdi == DELEGATOR
    assert claims.prp == {"doelbinding": "x", "n": 1} and claims.add == {"k": "v"}


def test_aud_is_written_with_scheme_and_port(pki: dict[str, Any]) -> None:
    token = _issue(pki, aud="https://Inway.Provider.test")
    assert _claims(token)["aud"] == "https://inway.provider.test:443"
    assert _verify(pki, token, expected_aud="https://inway.provider.test").aud == "https://inway.provider.test:443"
    assert normalize_inway_url("https://[::1]:8443/") == "https://[::1]:8443"
    with pytest.raises(ValueError):
        normalize_inway_url("ftp://x")


def _kind(pki: dict[str, Any], token: str, **kw: Any) -> str:
    with pytest.raises(TokenError) as e:
        _verify(pki, token, **kw)
    return e.value.kind


def test_expired(pki: dict[str, Any]) -> None:
    token = _issue(pki)
    exp = NOW + timedelta(seconds=300)
    assert _verify(pki, token, now=exp + timedelta(seconds=30)).exp == int(exp.timestamp())  # within skew
    assert _kind(pki, token, now=exp + timedelta(seconds=31)) == "expired"
    assert _kind(pki, token, now=exp + timedelta(seconds=1), clock_skew=0) == "expired"


def test_not_yet_valid(pki: dict[str, Any]) -> None:
    token = _issue(pki)
    assert _verify(pki, token, now=NOW - timedelta(seconds=30)).nbf == int(NOW.timestamp())
    assert _kind(pki, token, now=NOW - timedelta(seconds=31)) == "not_yet_valid"


def test_wrong_issuer_audience_group(pki: dict[str, Any]) -> None:
    token = _issue(pki)
    assert _kind(pki, token, expected_iss=DELEGATOR) == "wrong_issuer"
    assert _kind(pki, token, expected_aud="https://inway.provider.test:8443") == "wrong_audience"
    assert _kind(pki, token, expected_aud="https://other.test:443") == "wrong_audience"
    assert _kind(pki, token, expected_gid="another-group") == "wrong_group"
    assert _verify(pki, token, expected_gid=None).gid == GID


def test_unbound(pki: dict[str, Any]) -> None:
    token = _issue(pki)
    assert _kind(pki, token, client_cert_thumbprint=cert_thumbprint_s256(pki["other_cert"])) == "unbound"
    assert _kind(pki, token, client_cert_thumbprint=None) == "unbound"
    assert _kind(pki, token, client_cert_thumbprint="") == "unbound"


def test_signed_by_another_manager_is_invalid(pki: dict[str, Any]) -> None:
    token = _issue(pki, key=pki["other_key"], cert=pki["other_cert"])
    assert _kind(pki, token) == "invalid"
    # the same token is fine for whoever trusts that signer
    _verify(pki, token, signer_cert=[pki["cert"], pki["other_cert"]])


def test_tampered_token_is_invalid(pki: dict[str, Any]) -> None:
    h, p, s = _issue(pki).split(".")
    claims = _claims(f"{h}.{p}.{s}")
    claims["gid"] = "x"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _kind(pki, f"{h}.{p2}.{s}") == "invalid"
    assert _kind(pki, "not-a-token") == "invalid"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.pop("gth"),
        lambda c: c.pop("cnf"),
        lambda c: c.update(cnf={}),
        lambda c: c.update(cnf="x"),
        lambda c: c.update(exp="soon"),
        lambda c: c.update(nbf=True),
        lambda c: c.update(sub=123),
        lambda c: c.update(act={"sub": 5}),
        lambda c: c.update(act="x"),
        lambda c: c.update(pdi=""),
        lambda c: c.update(prp=[1]),
    ],
)
def test_malformed_claims_are_invalid(pki: dict[str, Any], mutate: Any) -> None:
    claims = _claims(_issue(pki))
    mutate(claims)
    token = sign_compact(claims, pki["key"], pki["cert"], typ="JWT")
    assert _kind(pki, token) == "invalid"


def test_http_status_mapping() -> None:
    assert TokenError("wrong_group", "x").http_status == 403
    for kind in ("invalid", "expired", "not_yet_valid", "wrong_issuer", "wrong_audience", "unbound"):
        assert TokenError(kind, "x").http_status == 401  # type: ignore[arg-type]


def test_issue_rejects_bad_arguments(pki: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="naive"):
        _issue(pki, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="lifetime"):
        _issue(pki, lifetime=0)
    with pytest.raises(ValueError, match="svc"):
        _issue(pki, svc="")
    with pytest.raises(ValueError, match="http"):
        _issue(pki, aud="inway.provider.test")


def test_unix_time_inputs(pki: dict[str, Any]) -> None:
    token = _issue(pki, now=int(NOW.timestamp()))
    assert _verify(pki, token, now=NOW.timestamp() + 5).nbf == int(NOW.timestamp())
    assert isinstance(pki["cert"], x509.Certificate)
