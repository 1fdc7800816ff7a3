"""NCSC ICT-beveiligingsrichtlijnen voor TLS v2.1 (January 2021) — v2.1.1 is the version the law names.

Ratings as internet.nl applied them before June 2025. Where the guideline is silent and internet.nl
made a choice, the clause says so. ``G`` = good, ``S`` = sufficient, ``P`` = phase out,
``X`` = insufficient. Everything not listed is insufficient ("alle overige: onvoldoende").
"""

from __future__ import annotations

from nds.standards.policy import Level, Profile, Rating

G, S, P, X = Level.GOOD, Level.SUFFICIENT, Level.PHASE_OUT, Level.INSUFFICIENT
V = "NCSC TLS 2.1"

VERSIONS = f"{V} Table 1 (TLS versions)"
SUITES = f"{V} Appendix C (cipher suites)"
SUITES_IN = f"{V} Appendix C; AES-CCM and Camellia accepted as sufficient (internet.nl, footnote 31)"
KEX = f"{V} Table 10 (key-exchange groups)"
KEX_EXT = (
    f"{V} Table 10 does not list this group; rated by its strength (Table 4 minimum sizes), "
    "as NCSC 2025-05 does (nds interpretation)"
)
KEX_HYBRID = (
    f"{V} predates hybrid ML-KEM groups; rated as their classical component, which Table 10 "
    "rates good (nds interpretation)"
)
CERT_KEY = f"{V} Table 3 (certificate public keys)"
HASH = f"{V} Table 5 (hash functions)"
COMPRESSION = f"{V} Table 7 (compression)"
RENEG = f"{V} Table 8 (renegotiation)"
ZERO_RTT = f"{V} Table 9 (0-RTT)"
OCSP = f"{V} Table 9 (OCSP stapling)"
ORDER = f"{V} B2-5 (server cipher preference)"
EMS = f"{V} does not require Extended Master Secret (RFC 7627)"


def _r(level: Level, clause: str) -> Rating:
    return Rating(level, clause)


_suites: dict[str, Rating] = {}
for name in ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"):
    _suites[name] = _r(G, SUITES)
# Appendix C lists these TLS 1.2 AEAD suites as sufficient; internet.nl graded them good (its footnote 52),
# which matters only for the cipher-order rule (no order is prescribed when only good suites are offered).
for auth in ("ECDSA", "RSA"):
    for enc in ("AES_256_GCM_SHA384", "CHACHA20_POLY1305_SHA256", "AES_128_GCM_SHA256"):
        _suites[f"TLS_ECDHE_{auth}_WITH_{enc}"] = _r(G, SUITES + "; graded good as internet.nl did")
    for enc in ("AES_256_CBC_SHA384", "AES_256_CBC_SHA", "AES_128_CBC_SHA256", "AES_128_CBC_SHA"):
        _suites[f"TLS_ECDHE_{auth}_WITH_{enc}"] = _r(S, SUITES)
    for enc in ("CAMELLIA_256_CBC_SHA384", "CAMELLIA_128_CBC_SHA256"):
        _suites[f"TLS_ECDHE_{auth}_WITH_{enc}"] = _r(S, SUITES_IN)
    _suites[f"TLS_ECDHE_{auth}_WITH_3DES_EDE_CBC_SHA"] = _r(P, SUITES)
for enc in (
    "AES_256_GCM_SHA384",
    "CHACHA20_POLY1305_SHA256",
    "AES_128_GCM_SHA256",
    "AES_256_CBC_SHA256",
    "AES_256_CBC_SHA",
    "AES_128_CBC_SHA256",
    "AES_128_CBC_SHA",
):
    _suites[f"TLS_DHE_RSA_WITH_{enc}"] = _r(S, SUITES)
for name in (
    "TLS_AES_128_CCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    "TLS_DHE_RSA_WITH_AES_128_CCM",
    "TLS_DHE_RSA_WITH_AES_256_CCM",
    "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
):
    _suites[name] = _r(S, SUITES_IN)
_suites["TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"] = _r(P, SUITES)
for enc in (
    "AES_256_GCM_SHA384",
    "AES_128_GCM_SHA256",
    "AES_256_CBC_SHA256",
    "AES_256_CBC_SHA",
    "AES_128_CBC_SHA256",
    "AES_128_CBC_SHA",
    "3DES_EDE_CBC_SHA",
):
    _suites[f"TLS_RSA_WITH_{enc}"] = _r(P, SUITES + " (RSA key exchange: phase out, Table 4)")

PROFILE = Profile(
    name="ncsc-2.1.1",
    title="NCSC ICT-beveiligingsrichtlijnen voor TLS v2.1.1 (2021)",
    source="https://www.ncsc.nl/documenten/publicaties/2019/mei/01/ict-beveiligingsrichtlijnen-voor-transport-layer-security-tls",
    versions={
        "TLSv1.3": _r(G, VERSIONS),
        "TLSv1.2": _r(S, VERSIONS),
        "TLSv1.1": _r(P, VERSIONS),
        "TLSv1.0": _r(P, VERSIONS),
        "SSLv3": _r(X, VERSIONS),
        "SSLv2": _r(X, VERSIONS),
    },
    suites=_suites,
    suite_default=_r(X, SUITES + " (not listed: insufficient)"),
    groups={
        "x25519": _r(G, KEX),
        "x448": _r(G, KEX),
        "secp256r1": _r(G, KEX),
        "secp384r1": _r(G, KEX),
        "secp521r1": _r(S, KEX_EXT),
        "brainpoolP256r1": _r(S, KEX_EXT),
        "brainpoolP384r1": _r(S, KEX_EXT),
        "brainpoolP512r1": _r(S, KEX_EXT),
        "secp224r1": _r(P, KEX),
        "ffdhe8192": _r(S, KEX),
        "ffdhe6144": _r(S, KEX),
        "ffdhe4096": _r(S, KEX),
        "ffdhe3072": _r(S, KEX),
        "ffdhe2048": _r(P, KEX),
        "X25519MLKEM768": _r(G, KEX_HYBRID),
        "SecP256r1MLKEM768": _r(G, KEX_HYBRID),
        "SecP384r1MLKEM1024": _r(G, KEX_HYBRID),
    },
    group_default=_r(X, KEX + " (not listed, or a self-generated DH group: insufficient)"),
    custom_dh={},
    rsa_key=[(3072, _r(G, CERT_KEY)), (2048, _r(S, CERT_KEY))],
    rsa_key_default=_r(X, CERT_KEY),
    cert_curves={
        "secp256r1": _r(G, CERT_KEY),
        "secp384r1": _r(G, CERT_KEY),
        "secp521r1": _r(S, KEX_EXT),
        "secp224r1": _r(P, CERT_KEY),
    },
    cert_curve_default=_r(X, CERT_KEY),
    cert_hashes={"sha512": _r(G, HASH), "sha384": _r(G, HASH), "sha256": _r(G, HASH), "sha224": _r(P, HASH)},
    cert_hash_default=_r(X, HASH),
    kex_hash={"sha2": _r(G, HASH), "no_sha2": _r(P, HASH)},
    tls_compression={False: _r(G, COMPRESSION), True: _r(X, COMPRESSION)},
    http_compression={
        False: _r(G, COMPRESSION),
        True: _r(S, COMPRESSION + " (application-level: sufficient)"),
    },
    secure_renegotiation={True: _r(G, RENEG), False: _r(X, RENEG)},
    client_renegotiation={"off": _r(G, RENEG), "limited": _r(S, RENEG), "unlimited": _r(S, RENEG)},
    zero_rtt={False: _r(G, ZERO_RTT), True: _r(X, ZERO_RTT)},
    ocsp_stapling={True: _r(G, OCSP), False: _r(S, OCSP)},
    ems={True: _r(G, EMS), False: _r(G, EMS)},
    cipher_order={"enforced": _r(G, ORDER), "not_prescribed": _r(G, ORDER), "not_enforced": _r(X, ORDER)},
    notes=[
        "secp521r1 and brainpool curves are not in Table 10; nds rates them sufficient (not insufficient), "
        "following their strength and the 2025 revision. internet.nl rated a negotiated secp521r1 "
        "insufficient.",
        "Hybrid ML-KEM groups postdate 2.1; nds rates them as their classical component (good).",
    ],
)
