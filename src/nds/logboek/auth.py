"""Who may read the logboek, and on whose behalf (pluggable).

The read API is reached only through the organisation's FSC Inway, so the calling organisation
is already authenticated under a contract. On top of that every query is *bound to a citizen*:
the caller presents a short-lived citizen assertion (a JWT signed by the identity provider the
organisation trusts — in the DigiLab the simulated DigiD, in production an OIDC provider) and the
query is restricted to that person. A caller can never choose another data subject.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from nds.fsc.jose import JoseError as FscJoseError
from nds.fsc.jose import peek_payload
from nds.logboek.model import DataSubject

_BSN = re.compile(r"[0-9]{9}")
ASSERTION_ALGS = ["ES256", "ES384", "RS256", "PS256"]
MAX_ASSERTION_LIFETIME = 900  # seconds


class AuthError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Caller:
    subject: DataSubject  # the citizen the query is bound to
    peer_id: str | None  # the calling organisation (from FSC), if known
    via: str  # "citizen-assertion"


_PEER_ID = re.compile(r"[0-9A-Za-z._:-]{1,100}")


def fsc_peer(headers: dict[str, str]) -> str | None:
    """The calling organisation's peer ID: the ``sub`` of the FSC access token (``Fsc-Authorization``)
    that the organisation's Inway verified before forwarding (the read API is reachable only through
    it). Read unverified here, and used only to describe the caller in the inzageverzoek record;
    never a free header a client could set (an earlier version trusted ``Fsc-Peer-Id``)."""
    token = headers.get("fsc-authorization", "").removeprefix("Bearer ").strip()
    if not token:
        return None
    try:
        sub = peek_payload(token).get("sub")
    except FscJoseError:
        return None
    return sub if isinstance(sub, str) and _PEER_ID.fullmatch(sub) else None


class Authenticator(Protocol):
    def authenticate(self, headers: dict[str, str]) -> Caller: ...


class CitizenAssertionAuth:
    """Verifies ``Authorization: Bearer <JWT>`` with claims ``sub`` (the BSN), ``sub_type``,
    ``iss``, ``aud`` (this read API), ``iat`` and ``exp`` (at most 15 minutes apart)."""

    def __init__(self, issuer: str, key: ECKey | RSAKey, audience: str, clock_skew: int = 30) -> None:
        self.issuer = issuer
        self.key = key
        self.audience = audience
        self.clock_skew = clock_skew

    def authenticate(self, headers: dict[str, str]) -> Caller:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise AuthError(401, "Een burger-verklaring (Bearer-token) is verplicht.")
        try:
            token = jwt.decode(auth[7:].strip(), self.key, algorithms=ASSERTION_ALGS)
            claims = token.claims
            jwt.JWTClaimsRegistry(
                now=int(time.time()),
                leeway=self.clock_skew,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthError(401, "De burger-verklaring is ongeldig of verlopen.") from exc
        if int(claims["exp"]) - int(claims["iat"]) > MAX_ASSERTION_LIFETIME:
            raise AuthError(401, "De burger-verklaring is te lang geldig.")
        sub = str(claims["sub"])
        # ASCII digits only (str.isdigit also accepts e.g. Arabic-Indic digits); the query is bound
        # to a BSN, so a token naming another kind of subject is refused rather than trusted
        if not _BSN.fullmatch(sub) or claims.get("sub_type", "BSN") != "BSN":
            raise AuthError(401, "De burger-verklaring bevat geen geldig BSN.")
        return Caller(DataSubject(sub, "BSN"), fsc_peer(headers), "citizen-assertion")


def issue_citizen_assertion(
    key: ECKey | RSAKey, issuer: str, audience: str, bsn: str, lifetime: int = 300, alg: str = "ES256"
) -> str:
    """Used by the (simulated) identity provider; real deployments use their OIDC provider."""
    now = int(time.time())
    return jwt.encode(
        {"alg": alg},
        {"iss": issuer, "aud": audience, "sub": bsn, "sub_type": "BSN", "iat": now, "exp": now + lifetime},
        key,
    )
