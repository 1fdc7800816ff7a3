"""Access-token checks at the Inway (fsc-core §Inway Authorization, §Access token).

The checks themselves are :func:`nds.fsc.jose.verify_access_token`: a compact JWS by an allowed
algorithm (RS/ES 256/384/512) fitting the key, signed with a certificate of the Inway's own Manager
(header ``x5t#S256``), issued by the Inway's own peer (``iss``), meant for this Inway (``aud``),
for this Group (``gid``), current (``exp``/``nbf`` with the Group's clock skew) and bound to the
connection's client certificate (``cnf.x5t#S256``, RFC 8705 §3.1).

The Inway sees the same token on every request of a client until it expires, so successful
verifications are cached per (token, client-certificate thumbprint), bounded in size; on a cache hit
only the time window is checked again (the only check whose outcome can change).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography import x509

from nds.fsc.jose import AccessTokenClaims, TokenError, verify_access_token

# Kinds, mapped to FSC error codes by the Inway.
MISSING = "missing"
INVALID = "invalid"
EXPIRED = "expired"
WRONG_GROUP = "wrong_group"


class TokenRejected(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Expectations:
    group_id: str
    issuer: str  # the Inway's own peer ID
    audience: str  # this Inway's address, e.g. https://127.0.1.3:443
    clock_skew: int


class TokenVerifier:
    def __init__(
        self,
        expect: Expectations,
        signing_certificates: Iterable[x509.Certificate],
        *,
        cache_size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.expect = expect
        self.certificates = list(signing_certificates)
        self._cache: OrderedDict[tuple[str, str], AccessTokenClaims] = OrderedDict()
        self._cache_size = cache_size
        self._clock = clock

    def verify(self, token: str | None, client_cert_thumbprint: str) -> AccessTokenClaims:
        if not token or not token.strip():
            raise TokenRejected(MISSING, "the Fsc-Authorization header does not contain an access token")
        token = token.strip()
        e = self.expect
        now = self._clock()
        key = (token, client_cert_thumbprint)
        claims = self._cache.get(key)
        if claims is not None:
            if now > claims.exp + e.clock_skew:
                del self._cache[key]
                raise TokenRejected(EXPIRED, "access token has expired")
            return claims
        try:
            claims = verify_access_token(
                token,
                signer_cert=self.certificates,
                expected_iss=e.issuer,
                expected_aud=e.audience,
                expected_gid=e.group_id,
                now=now,
                clock_skew=e.clock_skew,
                client_cert_thumbprint=client_cert_thumbprint,
            )
        except TokenError as err:
            kind = {"expired": EXPIRED, "wrong_group": WRONG_GROUP}.get(err.kind, INVALID)
            raise TokenRejected(kind, err.message) from None
        self._cache[key] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims
