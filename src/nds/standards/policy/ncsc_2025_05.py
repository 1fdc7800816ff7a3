"""NCSC ICT-beveiligingsrichtlijnen voor TLS, May 2025 revision, as internet.nl >= 1.11 applies it.

Changes from 2.1: TLS 1.0/1.1 insufficient; only TLS 1.3 AES-256-GCM and ChaCha20 good; ECDHE AEAD suites
sufficient; ECDHE CBC-SHA2 and every DHE suite phase out; SHA-1 CBC suites and RSA key exchange
insufficient; RSA 2048–3071 phase out; classic curves sufficient, hybrid ML-KEM good; ffdhe2048
insufficient, larger FFDHE groups phase out; Extended Master Secret required; unlimited client
renegotiation phase out.
"""

from __future__ import annotations

from nds.standards.policy import Level, Profile, Rating

G, S, P, X = Level.GOOD, Level.SUFFICIENT, Level.PHASE_OUT, Level.INSUFFICIENT
V = "NCSC TLS 2025-05"

VERSIONS = f"{V} §versions (TLS 1.0/1.1 insufficient)"
SUITES = f"{V} Appendix (cipher suites)"
KEX = f"{V} §key exchange (groups)"
CERT_KEY = f"{V} §certificates (public keys)"
HASH = f"{V} §hash functions"
COMPRESSION = f"{V} §compression"
RENEG = f"{V} §renegotiation"
ZERO_RTT = f"{V} §0-RTT"
OCSP = f"{V} §OCSP stapling"
ORDER = f"{V} §server cipher preference (as 2.1 B2-5)"
EMS = f"{V} §Extended Master Secret (RFC 7627) required"


def _r(level: Level, clause: str) -> Rating:
    return Rating(level, clause)


_suites: dict[str, Rating] = {
    "TLS_AES_256_GCM_SHA384": _r(G, SUITES),
    "TLS_CHACHA20_POLY1305_SHA256": _r(G, SUITES),
    "TLS_AES_128_GCM_SHA256": _r(S, SUITES),
    "TLS_AES_128_CCM_SHA256": _r(S, SUITES),
}
for auth in ("ECDSA", "RSA"):
    for enc in (
        "AES_256_GCM_SHA384",
        "CHACHA20_POLY1305_SHA256",
        "AES_128_GCM_SHA256",
    ):
        _suites[f"TLS_ECDHE_{auth}_WITH_{enc}"] = _r(S, SUITES + " (ECDHE with AES-GCM/ChaCha20)")
    for enc in (
        "ARIA_256_GCM_SHA384",
        "ARIA_128_GCM_SHA256",
        "CAMELLIA_256_GCM_SHA384",
        "CAMELLIA_128_GCM_SHA256",
    ):
        _suites[f"TLS_ECDHE_{auth}_WITH_{enc}"] = _r(P, SUITES + " (ECDHE with ARIA/Camellia: phase out)")
    for enc in (
        "AES_256_CBC_SHA384",
        "AES_128_CBC_SHA256",
        "CAMELLIA_256_CBC_SHA384",
        "CAMELLIA_128_CBC_SHA256",
    ):
        _suites[f"TLS_ECDHE_{auth}_WITH_{enc}"] = _r(P, SUITES + " (ECDHE CBC with SHA-2)")
for enc in ("AES_256_CCM", "AES_128_CCM"):
    _suites[f"TLS_ECDHE_ECDSA_WITH_{enc}"] = _r(S, SUITES + " (ECDHE with AES-CCM)")
for enc in (
    "AES_256_GCM_SHA384",
    "CHACHA20_POLY1305_SHA256",
    "AES_128_GCM_SHA256",
    "AES_256_CCM",
    "AES_128_CCM",
    "ARIA_256_GCM_SHA384",
    "ARIA_128_GCM_SHA256",
    "CAMELLIA_256_GCM_SHA384",
    "CAMELLIA_128_GCM_SHA256",
    "AES_256_CBC_SHA256",
    "AES_128_CBC_SHA256",
    "CAMELLIA_256_CBC_SHA256",
    "CAMELLIA_128_CBC_SHA256",
):
    _suites[f"TLS_DHE_RSA_WITH_{enc}"] = _r(P, SUITES + " (DHE: phase out)")

PROFILE = Profile(
    name="ncsc-2025-05",
    title="NCSC ICT-beveiligingsrichtlijnen voor TLS, revision of May 2025",
    source="https://www.ncsc.nl/transport-layer-security-tls",
    versions={
        "TLSv1.3": _r(G, VERSIONS),
        "TLSv1.2": _r(S, VERSIONS),
        "TLSv1.1": _r(X, VERSIONS),
        "TLSv1.0": _r(X, VERSIONS),
        "SSLv3": _r(X, VERSIONS),
        "SSLv2": _r(X, VERSIONS),
    },
    suites=_suites,
    suite_default=_r(X, SUITES + " (not listed — incl. SHA-1 CBC and RSA key exchange: insufficient)"),
    groups={
        "X25519MLKEM768": _r(G, KEX),
        "SecP256r1MLKEM768": _r(G, KEX),
        "SecP384r1MLKEM1024": _r(G, KEX),
        "x25519": _r(S, KEX),
        "x448": _r(S, KEX),
        "secp256r1": _r(S, KEX),
        "secp384r1": _r(S, KEX),
        "secp521r1": _r(S, KEX),
        "brainpoolP256r1": _r(S, KEX),
        "brainpoolP384r1": _r(S, KEX),
        "brainpoolP512r1": _r(S, KEX),
        "brainpoolP256r1tls13": _r(S, KEX),
        "brainpoolP384r1tls13": _r(S, KEX),
        "brainpoolP512r1tls13": _r(S, KEX),
        "ffdhe8192": _r(P, KEX),
        "ffdhe6144": _r(P, KEX),
        "ffdhe4096": _r(P, KEX),
        "ffdhe3072": _r(P, KEX),
        "ffdhe2048": _r(X, KEX),
        "secp224r1": _r(P, KEX),
    },
    group_default=_r(X, KEX + " (not listed, or a self-generated DH group: insufficient)"),
    custom_dh={},
    rsa_key=[(3072, _r(S, CERT_KEY)), (2048, _r(P, CERT_KEY))],
    rsa_key_default=_r(X, CERT_KEY),
    cert_curves={
        name: _r(S, CERT_KEY)
        for name in (
            "secp256r1",
            "secp384r1",
            "secp521r1",
            "brainpoolP256r1",
            "brainpoolP384r1",
            "brainpoolP512r1",
            "ed25519",
            "ed448",
        )
    }
    | {"secp224r1": _r(P, CERT_KEY)},
    cert_curve_default=_r(X, CERT_KEY),
    cert_hashes={
        "sha512": _r(G, HASH),
        "sha384": _r(G, HASH),
        "sha256": _r(G, HASH),
        "sha224": _r(X, HASH + " (certificates: SHA-224 not listed)"),
        "eddsa": _r(G, HASH),
    },
    cert_hash_default=_r(X, HASH),
    kex_hash={"sha2": _r(G, HASH), "no_sha2": _r(P, HASH)},
    tls_compression={False: _r(G, COMPRESSION), True: _r(X, COMPRESSION)},
    http_compression={
        False: _r(G, COMPRESSION),
        True: _r(S, COMPRESSION + " (application-level: sufficient)"),
    },
    secure_renegotiation={True: _r(G, RENEG), False: _r(X, RENEG)},
    client_renegotiation={
        "off": _r(G, RENEG),
        "limited": _r(S, RENEG + " (fewer than 10: acceptable)"),
        "unlimited": _r(P, RENEG + " (unlimited: phase out)"),
    },
    zero_rtt={False: _r(G, ZERO_RTT), True: _r(X, ZERO_RTT)},
    ocsp_stapling={True: _r(G, OCSP), False: _r(S, OCSP)},
    ems={True: _r(G, EMS), False: _r(X, EMS)},
    cipher_order={"enforced": _r(G, ORDER), "not_prescribed": _r(G, ORDER), "not_enforced": _r(X, ORDER)},
)
