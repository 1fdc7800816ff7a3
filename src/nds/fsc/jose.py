"""Compact JWS and FSC access tokens (fsc-core §Signatures, §Access token), built on joserfc.

Rules enforced here, whatever the caller passes:

- algorithms: only RS256/384/512 and ES256/384/512 (``none``, ``HS*``, ``PS*``, ``EdDSA`` are refused);
- the header ``alg`` must fit the key of the certificate (ES256 ⇔ P-256, ES384 ⇔ P-384, ES512 ⇔ P-521,
  RS* ⇔ RSA ≥ 2048 bits), so an attacker cannot pick the algorithm (no alg confusion);
- the header must carry ``x5t#S256`` equal to the thumbprint of the certificate used to verify;
- a ``crit`` header is refused (we implement no extensions).

Access tokens: ``sub`` is the Peer whose Outway connects (``grant.data.outway.peer_id``, the holder of
the bound certificate), ``iss`` the Peer offering the Service, ``act.sub`` the delegator of a
DelegatedServiceConnectionGrant (``grant.data.delegator.peer_id``) and ``pdi`` the delegator of a
delegated publication (``grant.data.service.delegator.peer_id``). See docs/fsc/pki-tokens.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jws
from joserfc.errors import JoseError as _LibJoseError
from joserfc.jwk import ECKey, RSAKey

from nds.pki.identity import b64url, cert_thumbprint_s256

ALLOWED_ALGS: tuple[str, ...] = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
_EC_ALG = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
MAX_TOKEN_LENGTH = 64 * 1024
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
ACCESS_TOKEN_TYP = "JWT"  # noqa: S105 - a media type, not a secret


class JoseError(ValueError):
    """A JWS could not be parsed, signed or verified (message is safe to show; no token contents)."""


TokenErrorKind = Literal[
    "invalid", "expired", "not_yet_valid", "wrong_issuer", "wrong_audience", "wrong_group", "unbound"
]


class TokenError(Exception):
    """An access token was refused. ``kind`` maps to FSC error codes (``wrong_group`` → 403, others 401)."""

    def __init__(self, kind: TokenErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: TokenErrorKind = kind
        self.message = message

    @property
    def http_status(self) -> int:
        return 403 if self.kind == "wrong_group" else 401


# -- keys and algorithms -------------------------------------------------------------------------


def alg_for_key(key: Any, *, rsa_hash: Literal[256, 384, 512] = 256) -> str:
    """The JWS ``alg`` that fits a private or public key (RSA: ``RS{rsa_hash}``)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        alg = _EC_ALG.get(key.curve.name)
        if alg is None:
            raise JoseError(f"EC curve {key.curve.name} is not allowed for JWS")
        return alg
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise JoseError("RSA keys shorter than 2048 bits are not allowed")
        return f"RS{rsa_hash}"
    raise JoseError(f"unsupported key type {type(key).__name__}; use an EC or RSA key")


def _alg_fits(alg: str, pub: Any) -> bool:
    if alg.startswith("ES"):
        return isinstance(pub, ec.EllipticCurvePublicKey) and _EC_ALG.get(pub.curve.name) == alg
    if alg.startswith("RS"):
        return isinstance(pub, rsa.RSAPublicKey) and pub.key_size >= 2048
    return False


def _jwk(key: Any) -> ECKey | RSAKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ECKey.import_key(key)
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return RSAKey.import_key(key)
    raise JoseError(f"unsupported key type {type(key).__name__}")


def certificate_jwk(cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()) -> dict[str, Any]:
    """The public JWK of a signing certificate for a JWKS: ``kid`` = ``x5t#S256``, ``x5c`` = cert + chain."""
    pub = cert.public_key()
    jwk = dict(_jwk(pub).as_dict(private=False))
    thumb = cert_thumbprint_s256(cert)
    jwk.update({
        "use": "sig",
        "alg": alg_for_key(pub),
        "kid": thumb,
        "x5t#S256": thumb,
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii")
            for c in (cert, *chain)
        ],
    })
    return jwk


# -- compact JWS ---------------------------------------------------------------------------------


def _b64url_decode(part: str) -> bytes:
    if not part or not _B64URL_RE.fullmatch(part):
        raise JoseError("token is not base64url encoded")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise JoseError("token is not base64url encoded") from None


def _split(token: str) -> list[str]:
    if not isinstance(token, str):
        raise JoseError("token must be a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise JoseError("token is too long")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JoseError("not a compact JWS (expected three dot-separated parts)")
    return parts


def peek_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, without verifying anything. Raises :class:`JoseError`."""
    parts = _split(token)
    try:
        header = json.loads(_b64url_decode(parts[0]))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JoseError("JWS header is not JSON") from None
    if not isinstance(header, dict):
        raise JoseError("JWS header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise JoseError("JWS header has no 'alg'")
    return header


def peek_payload(token: str) -> dict[str, Any]:
    """The payload of a compact JWS as a JSON object, **unverified** (for routing and logging only)."""
    parts = _split(token)
    try:
        payload = json.loads(_b64url_decode(parts[1]))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JoseError("JWS payload is not JSON") from None
    if not isinstance(payload, dict):
        raise JoseError("JWS payload is not a JSON object")
    return payload


def sign_compact(
    payload: Mapping[str, Any],
    key: Any,
    cert: x509.Certificate,
    *,
    typ: str | None = None,
    rsa_hash: Literal[256, 384, 512] = 256,
) -> str:
    """Sign ``payload`` (a JSON object) as a compact JWS: ``alg`` from the key, ``x5t#S256`` of ``cert``.

    Contract signatures carry no ``typ`` (fsc-core names none); access tokens use ``typ: JWT``.
    """
    pub_der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if pub_der != key_der:
        raise JoseError("the signing key does not belong to the certificate")
    alg = alg_for_key(key, rsa_hash=rsa_hash)
    header: dict[str, Any] = {"alg": alg, "x5t#S256": cert_thumbprint_s256(cert)}
    if typ is not None:
        header["typ"] = typ
    try:
        body = json.dumps(dict(payload), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise JoseError(f"payload is not serialisable as JSON: {e}") from None
    return jws.serialize_compact(header, body.encode("utf-8"), _jwk(key), algorithms=[alg])


def _select_cert(header: Mapping[str, Any], certs: Sequence[x509.Certificate]) -> x509.Certificate:
    thumb = header.get("x5t#S256")
    if not isinstance(thumb, str) or not thumb:
        raise JoseError("JWS header has no 'x5t#S256'")
    for c in certs:
        if cert_thumbprint_s256(c) == thumb:
            return c
    raise JoseError("JWS 'x5t#S256' does not match the signer's certificate")


def verify_compact(
    token: str,
    cert: x509.Certificate | Sequence[x509.Certificate],
    allowed_algs: Sequence[str] = ALLOWED_ALGS,
) -> dict[str, Any]:
    """Verify a compact JWS made with ``cert``'s key and return its payload (a JSON object).

    ``cert`` may be several certificates (e.g. the current and the previous one of a Manager); the one
    whose thumbprint is in the header is used. Raises :class:`JoseError`.
    """
    header = peek_header(token)
    alg = header["alg"]
    if alg not in allowed_algs or alg not in ALLOWED_ALGS:
        raise JoseError(f"JWS algorithm {alg!r} is not allowed")
    if "crit" in header:
        raise JoseError("JWS 'crit' header parameters are not supported")
    certs = [cert] if isinstance(cert, x509.Certificate) else list(cert)
    signer = _select_cert(header, certs)
    pub = signer.public_key()
    if not _alg_fits(alg, pub):
        raise JoseError(f"JWS algorithm {alg} does not match the certificate's key")
    try:
        obj = jws.deserialize_compact(token.strip(), _jwk(pub), algorithms=[alg])
    except _LibJoseError:
        raise JoseError("JWS signature is invalid") from None
    except (ValueError, TypeError):
        raise JoseError("JWS is malformed") from None
    try:
        payload = json.loads(obj.payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JoseError("JWS payload is not JSON") from None
    if not isinstance(payload, dict):
        raise JoseError("JWS payload is not a JSON object")
    return payload


# -- access tokens -------------------------------------------------------------------------------


def _epoch(t: datetime | int | float) -> int:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError("naive datetime; pass an aware (UTC) datetime")
        return int(t.timestamp())
    return int(t)


def normalize_inway_url(url: str) -> str:
    """``scheme://host:port`` with lower-case scheme/host and an explicit port (for ``aud`` comparison)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise ValueError(f"invalid port in {url!r}") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}:{port}"


@dataclass(frozen=True)
class AccessTokenClaims:
    """The verified claims of an FSC access token."""

    gth: str
    gid: str
    sub: str
    iss: str
    svc: str
    aud: str
    exp: int
    nbf: int
    cnf_x5t_s256: str
    act_sub: str | None = None
    pdi: str | None = None
    prp: dict[str, Any] | None = None
    add: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def issue_access_token(
    *,
    key: Any,
    cert: x509.Certificate,
    grant_hash: str,
    group_id: str,
    sub: str,
    iss: str,
    svc: str,
    aud: str,
    lifetime: int,
    now: datetime | int | float,
    cnf_x5t_s256: str,
    act_sub: str | None = None,
    pdi: str | None = None,
    prp: Mapping[str, Any] | None = None,
    add: Mapping[str, Any] | None = None,
) -> str:
    """An FSC access token (JWT, fsc-core §Access token) signed with the Manager's ``key``/``cert``.

    ``aud`` must be the Inway URL with scheme and port (it is written with an explicit port);
    ``nbf`` = ``now``, ``exp`` = ``now + lifetime``; ``cnf.x5t#S256`` binds it to the Outway's
    certificate (RFC 8705).
    """
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    for name, value in (("grant_hash", grant_hash), ("group_id", group_id), ("sub", sub), ("iss", iss),
                        ("svc", svc), ("cnf_x5t_s256", cnf_x5t_s256)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    nbf = _epoch(now)
    claims: dict[str, Any] = {
        "gth": grant_hash,
        "gid": group_id,
        "sub": sub,
        "iss": iss,
        "svc": svc,
        "aud": normalize_inway_url(aud),
        "exp": nbf + int(lifetime),
        "nbf": nbf,
        "cnf": {"x5t#S256": cnf_x5t_s256},
    }
    if act_sub is not None:
        claims["act"] = {"sub": act_sub}
    if pdi is not None:
        claims["pdi"] = pdi
    if prp is not None:
        claims["prp"] = dict(prp)
    if add is not None:
        claims["add"] = dict(add)
    return sign_compact(claims, key, cert, typ=ACCESS_TOKEN_TYP)


def _str_claim(payload: Mapping[str, Any], name: str) -> str:
    v = payload.get(name)
    if not isinstance(v, str) or not v:
        raise TokenError("invalid", f"access token claim '{name}' is missing or not a string")
    return v


def _int_claim(payload: Mapping[str, Any], name: str) -> int:
    v = payload.get(name)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TokenError("invalid", f"access token claim '{name}' is missing or not a number")
    return int(v)


def _opt_obj(payload: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    v = payload.get(name)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise TokenError("invalid", f"access token claim '{name}' is not an object")
    return v


def verify_access_token(
    token: str,
    *,
    signer_cert: x509.Certificate | Sequence[x509.Certificate],
    expected_iss: str,
    expected_aud: str,
    expected_gid: str | None,
    now: datetime | int | float,
    clock_skew: int,
    client_cert_thumbprint: str | None,
) -> AccessTokenClaims:
    """Verify an access token as an Inway does; raise :class:`TokenError` with the failing ``kind``.

    Order: signature (made by our Manager, ``invalid``), claim types (``invalid``), ``iss``, ``aud``,
    ``gid``, ``exp``/``nbf`` (with ``clock_skew`` seconds leeway), and finally the certificate binding
    ``cnf.x5t#S256`` against the thumbprint of the client certificate of this connection (``unbound``;
    a connection without client certificate is unbound too).
    """
    try:
        payload = verify_compact(token, signer_cert)
    except JoseError as e:
        raise TokenError("invalid", f"access token rejected: {e}") from None
    gth, gid = _str_claim(payload, "gth"), _str_claim(payload, "gid")
    sub, iss = _str_claim(payload, "sub"), _str_claim(payload, "iss")
    svc, aud = _str_claim(payload, "svc"), _str_claim(payload, "aud")
    exp, nbf = _int_claim(payload, "exp"), _int_claim(payload, "nbf")
    cnf = _opt_obj(payload, "cnf")
    thumb = cnf.get("x5t#S256") if cnf else None
    if not isinstance(thumb, str) or not thumb:
        raise TokenError("invalid", "access token has no cnf.x5t#S256 certificate binding")
    act = _opt_obj(payload, "act")
    act_sub = act.get("sub") if act else None
    if act is not None and (not isinstance(act_sub, str) or not act_sub):
        raise TokenError("invalid", "access token claim 'act.sub' is not a string")
    pdi = payload.get("pdi")
    if pdi is not None and (not isinstance(pdi, str) or not pdi):
        raise TokenError("invalid", "access token claim 'pdi' is not a string")
    prp, add = _opt_obj(payload, "prp"), _opt_obj(payload, "add")

    if iss != expected_iss:
        raise TokenError("wrong_issuer", "access token was issued by another Peer")
    try:
        aud_ok = normalize_inway_url(aud) == normalize_inway_url(expected_aud)
    except ValueError:
        aud_ok = False
    if not aud_ok:
        raise TokenError("wrong_audience", "access token is meant for another Inway")
    if expected_gid is not None and gid != expected_gid:
        raise TokenError("wrong_group", "access token belongs to another Group")
    t = _epoch(now)
    if t > exp + clock_skew:
        raise TokenError("expired", "access token has expired")
    if t + clock_skew < nbf:
        raise TokenError("not_yet_valid", "access token is not valid yet")
    if not client_cert_thumbprint or client_cert_thumbprint != thumb:
        raise TokenError("unbound", "access token is bound to another certificate")
    return AccessTokenClaims(
        gth=gth, gid=gid, sub=sub, iss=iss, svc=svc, aud=aud, exp=exp, nbf=nbf, cnf_x5t_s256=thumb,
        act_sub=act_sub, pdi=pdi, prp=prp, add=add, raw=payload,
    )


__all__ = [
    "ACCESS_TOKEN_TYP",
    "ALLOWED_ALGS",
    "AccessTokenClaims",
    "JoseError",
    "TokenError",
    "TokenErrorKind",
    "alg_for_key",
    "b64url",
    "certificate_jwk",
    "issue_access_token",
    "normalize_inway_url",
    "peek_header",
    "peek_payload",
    "sign_compact",
    "verify_access_token",
    "verify_compact",
]
