"""The NCSC profiles as data: complete, cited, consistent with the IANA registry, and differing where
the 2025 revision changed a rating."""

from __future__ import annotations

import pytest

from nds.standards.checks.tls.suites import BY_NAME
from nds.standards.checks.tls.wire import GROUPS
from nds.standards.policy import Level, Profile, get_profile, profiles

pytestmark = pytest.mark.unit

OLD = get_profile("ncsc-2.1.1")
NEW = get_profile("ncsc-2025-05")


@pytest.mark.parametrize("profile", list(profiles().values()), ids=lambda p: p.name)
def test_every_rating_cites_a_clause(profile: Profile) -> None:
    tables = [
        profile.versions,
        profile.suites,
        profile.groups,
        profile.cert_curves,
        profile.cert_hashes,
        profile.kex_hash,
        profile.tls_compression,
        profile.http_compression,
        profile.secure_renegotiation,
        profile.client_renegotiation,
        profile.zero_rtt,
        profile.ocsp_stapling,
        profile.ems,
        profile.cipher_order,
    ]
    ratings = [r for t in tables for r in t.values()] + [r for _, r in profile.rsa_key]
    ratings += [
        profile.suite_default,
        profile.group_default,
        profile.rsa_key_default,
        profile.cert_curve_default,
        profile.cert_hash_default,
    ]
    assert ratings
    for r in ratings:
        assert r.clause.startswith("NCSC TLS"), r


@pytest.mark.parametrize("profile", list(profiles().values()), ids=lambda p: p.name)
def test_suite_and_group_names_exist_in_the_registry(profile: Profile) -> None:
    unknown_suites = [n for n in profile.suites if n not in BY_NAME]
    assert unknown_suites == []
    assert [g for g in profile.groups if g not in GROUPS.values()] == []


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown TLS profile 'ncsc-1.0'.*ncsc-2.1.1"):
        get_profile("ncsc-1.0")


@pytest.mark.parametrize(
    ("fact", "old", "new"),
    [
        (lambda p: p.versions["TLSv1.0"], Level.PHASE_OUT, Level.INSUFFICIENT),
        (lambda p: p.versions["TLSv1.1"], Level.PHASE_OUT, Level.INSUFFICIENT),
        (lambda p: p.versions["TLSv1.2"], Level.SUFFICIENT, Level.SUFFICIENT),
        (lambda p: p.versions["SSLv3"], Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.suite("TLS_AES_128_GCM_SHA256"), Level.GOOD, Level.SUFFICIENT),
        (lambda p: p.suite("TLS_RSA_WITH_AES_128_GCM_SHA256"), Level.PHASE_OUT, Level.INSUFFICIENT),
        (lambda p: p.suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), Level.SUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"), Level.SUFFICIENT, Level.PHASE_OUT),
        (lambda p: p.suite("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"), Level.SUFFICIENT, Level.PHASE_OUT),
        (lambda p: p.suite("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"), Level.PHASE_OUT, Level.INSUFFICIENT),
        (lambda p: p.suite("TLS_RSA_WITH_RC4_128_SHA"), Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.group("x25519"), Level.GOOD, Level.SUFFICIENT),
        (lambda p: p.group("X25519MLKEM768"), Level.GOOD, Level.GOOD),
        (lambda p: p.group("secp224r1"), Level.PHASE_OUT, Level.PHASE_OUT),
        (lambda p: p.group("ffdhe2048"), Level.PHASE_OUT, Level.INSUFFICIENT),
        (lambda p: p.group("ffdhe3072"), Level.SUFFICIENT, Level.PHASE_OUT),
        (lambda p: p.group("modp2048"), Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.rsa(4096), Level.GOOD, Level.SUFFICIENT),
        (lambda p: p.rsa(3072), Level.GOOD, Level.SUFFICIENT),
        (lambda p: p.rsa(2048), Level.SUFFICIENT, Level.PHASE_OUT),
        (lambda p: p.rsa(1024), Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.curve("secp224r1"), Level.PHASE_OUT, Level.PHASE_OUT),
        (lambda p: p.cert_hash("sha1"), Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.cert_hash("sha224"), Level.PHASE_OUT, Level.INSUFFICIENT),
        (
            lambda p: p.suite("TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
            Level.INSUFFICIENT,
            Level.PHASE_OUT,
        ),
        (lambda p: p.suite("TLS_ECDHE_ECDSA_WITH_AES_128_CCM"), Level.SUFFICIENT, Level.SUFFICIENT),
        (lambda p: p.ems[False], Level.GOOD, Level.INSUFFICIENT),
        (lambda p: p.client_renegotiation["unlimited"], Level.SUFFICIENT, Level.PHASE_OUT),
        (lambda p: p.tls_compression[True], Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.zero_rtt[True], Level.INSUFFICIENT, Level.INSUFFICIENT),
        (lambda p: p.ocsp_stapling[False], Level.SUFFICIENT, Level.SUFFICIENT),
        (lambda p: p.kex_hash["no_sha2"], Level.PHASE_OUT, Level.PHASE_OUT),
    ],
)
def test_ratings_per_profile(fact, old: Level, new: Level) -> None:
    assert fact(OLD).level is old
    assert fact(NEW).level is new
