"""Unit tests of every TLS evaluation rule on recorded facts, under both NCSC profiles — including what
Debian's OpenSSL 3 cannot serve (SSLv3, TLS compression, insecure renegotiation, hybrid ML-KEM groups)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from nds.standards.checks.tls import evaluate as ev
from nds.standards.checks.tls.retrieve import TlsFacts
from nds.standards.model import SUBTESTS, Status
from nds.standards.policy import get_profile

pytestmark = pytest.mark.unit

OLD = get_profile("ncsc-2.1.1")
NEW = get_profile("ncsc-2025-05")


def facts(**kw) -> TlsFacts:
    base = dict(
        address="192.0.2.1",
        port=443,
        versions=["TLSv1.3", "TLSv1.2"],
        suites={"TLSv1.3": ["TLS_AES_256_GCM_SHA384"], "TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]},
        server_order={"TLSv1.2": None},
        groups=["x25519"],
        kex_hash="sha2",
        secure_renegotiation=True,
        ems=True,
        client_renegotiation="off",
        zero_rtt=False,
        ocsp_stapled=False,
        negotiated="TLSv1.3",
    )
    base.update(kw)
    return TlsFacts(**base)


def statuses(f: TlsFacts, rule) -> tuple[Status, Status]:
    return rule(f, OLD).status, rule(f, NEW).status


def test_baseline_passes_everything_in_both() -> None:
    for p in (OLD, NEW):
        assert {r.id: r.status for r in ev.evaluate_tls(facts(), p)} == {
            "tls.version": Status.PASSED,
            "tls.ciphers": Status.PASSED,
            "tls.cipher_order": Status.PASSED,
            "tls.key_exchange": Status.PASSED,
            "tls.kex_hash": Status.PASSED,
            "tls.compression": Status.PASSED,
            "tls.renegotiation": Status.PASSED,
            "tls.client_renegotiation": Status.PASSED,
            "tls.zero_rtt": Status.PASSED,
            "tls.ems": Status.PASSED,
            "tls.ocsp_stapling": Status.PASSED,
        }


def test_sslv3_is_insufficient_in_both() -> None:
    f = facts(versions=["TLSv1.2", "SSLv3"])
    assert statuses(f, ev.version) == (Status.FAILED, Status.FAILED)
    assert "SSLv3" in ev.version(f, OLD).detail


def test_tls11_phase_out_then_insufficient() -> None:
    f = facts(versions=["TLSv1.2", "TLSv1.1"])
    assert statuses(f, ev.version) == (Status.WARNING, Status.FAILED)


def test_tls_compression_recorded() -> None:
    assert statuses(facts(tls_compression=True), ev.compression) == (Status.FAILED, Status.FAILED)
    r = ev.compression(facts(tls_compression=True), OLD)
    assert r.clause == "NCSC TLS 2.1 Table 7 (compression)" and r.fix


def test_insecure_renegotiation_recorded() -> None:
    assert statuses(facts(secure_renegotiation=False), ev.renegotiation) == (Status.FAILED, Status.FAILED)
    assert (
        ev.renegotiation(facts(versions=["TLSv1.3"], secure_renegotiation=None), NEW).status is Status.PASSED
    )


def test_ems_only_required_in_2025() -> None:
    assert statuses(facts(ems=False), ev.ems) == (Status.PASSED, Status.FAILED)
    assert "RFC 7627" in ev.ems(facts(ems=False), NEW).clause


def test_client_renegotiation_levels() -> None:
    assert statuses(facts(client_renegotiation="limited"), ev.client_renegotiation) == (
        Status.INFO,
        Status.INFO,
    )
    r = ev.client_renegotiation(facts(client_renegotiation="unlimited"), NEW)
    assert r.status is Status.INFO and r.facts["level"] == "phase_out"  # capped at the subtest's worst (info)
    assert SUBTESTS.get("tls.client_renegotiation").worst_status is Status.INFO
    assert ev.client_renegotiation(facts(client_renegotiation=None), NEW).status is Status.NOT_TESTED


def test_zero_rtt() -> None:
    assert statuses(facts(zero_rtt=True), ev.zero_rtt) == (Status.FAILED, Status.FAILED)
    assert ev.zero_rtt(facts(versions=["TLSv1.2"], zero_rtt=None), OLD).status is Status.PASSED


def test_ocsp_is_notice_level_and_optional() -> None:
    assert statuses(facts(ocsp_stapled=False), ev.ocsp) == (Status.PASSED, Status.PASSED)
    assert ev.ocsp(facts(ocsp_stapled=True), OLD).detail == "OCSP response stapled"


def test_kex_hash_without_sha2_is_phase_out() -> None:
    assert statuses(facts(kex_hash="no_sha2"), ev.kex_hash) == (Status.WARNING, Status.WARNING)
    assert ev.kex_hash(facts(kex_hash=None), OLD).status is Status.PASSED  # no signed key exchange


def test_hybrid_and_classic_groups() -> None:
    f = facts(groups=["X25519MLKEM768", "x25519", "secp256r1"])
    assert statuses(f, ev.key_exchange) == (Status.PASSED, Status.PASSED)
    assert ev.key_exchange(f, NEW).facts["levels"] == {
        "X25519MLKEM768": "good",
        "x25519": "sufficient",
        "secp256r1": "sufficient",
    }
    assert statuses(facts(groups=["sect163k1"]), ev.key_exchange) == (Status.FAILED, Status.FAILED)
    assert statuses(facts(groups=[], dh_groups=["ffdhe3072"]), ev.key_exchange) == (
        Status.PASSED,
        Status.WARNING,
    )
    assert statuses(facts(groups=[], dh_groups=["custom-4096"]), ev.key_exchange) == (
        Status.FAILED,
        Status.FAILED,
    )


def test_cipher_order_rules() -> None:
    mixed = {
        "TLSv1.2": [
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
        ]
    }
    # server order good > sufficient > phase out: passes in 2.1
    ok = facts(suites=mixed, server_order={"TLSv1.2": True})
    assert ev.cipher_order(ok, OLD).status is Status.PASSED
    # client order with non-good suites: B2-5 violated
    client = facts(suites=mixed, server_order={"TLSv1.2": False})
    assert statuses(client, ev.cipher_order) == (Status.FAILED, Status.FAILED)
    # server order but a phase-out suite preferred over a sufficient one
    wrong = facts(
        suites={"TLSv1.2": [mixed["TLSv1.2"][2], mixed["TLSv1.2"][0]]}, server_order={"TLSv1.2": True}
    )
    r = ev.cipher_order(wrong, OLD)
    assert r.status is Status.FAILED and "prefers TLS_RSA_WITH_AES_128_GCM_SHA256" in r.detail
    # TLS 1.3 is never judged (internet.nl), even with AES-128 (sufficient in 2025) in the client's order
    aes128 = facts(
        suites={"TLSv1.3": ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]},
        server_order={"TLSv1.3": False},
        versions=["TLSv1.3"],
    )
    assert statuses(aes128, ev.cipher_order) == (Status.PASSED, Status.PASSED)
    # one class only at TLS 1.2 (ECDHE AEAD: good in 2.1, sufficient in 2025): no order prescribed
    one = facts(
        suites={
            "TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
        },
        server_order={"TLSv1.2": False},
    )
    assert statuses(one, ev.cipher_order) == (Status.PASSED, Status.PASSED)
    assert "one class" in ev.cipher_order(one, NEW).detail
    # only the highest TLS <= 1.2 version is judged
    lower = facts(
        suites={"TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"], "TLSv1.0": mixed["TLSv1.2"]},
        server_order={"TLSv1.2": None, "TLSv1.0": False},
    )
    assert ev.cipher_order(lower, OLD).status is Status.PASSED


def test_rc4_and_export_insufficient() -> None:
    f = facts(suites={"TLSv1.0": ["TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_EXPORT_WITH_RC4_40_MD5"]})
    assert statuses(f, ev.ciphers) == (Status.FAILED, Status.FAILED)


# --- certificates --------------------------------------------------------------------------------------


def _cert(key, issuer_key, *, hash_alg=hashes.SHA256(), names=("www.example.test",), cn="leaf"):
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    )
    return b.sign(issuer_key, None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hash_alg)


def _with_chain(*certs) -> TlsFacts:
    return facts(chain=[c.public_bytes(serialization.Encoding.DER) for c in certs])


@pytest.fixture(scope="module")
def ca_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.mark.parametrize(
    ("key", "old", "new"),
    [
        (lambda: rsa.generate_private_key(65537, 3072), Status.PASSED, Status.PASSED),
        (lambda: rsa.generate_private_key(65537, 2048), Status.PASSED, Status.WARNING),
        (lambda: rsa.generate_private_key(65537, 1024), Status.FAILED, Status.FAILED),
        (lambda: ec.generate_private_key(ec.SECP256R1()), Status.PASSED, Status.PASSED),
        (lambda: ec.generate_private_key(ec.SECP224R1()), Status.WARNING, Status.WARNING),
        (lambda: ed25519.Ed25519PrivateKey.generate(), Status.FAILED, Status.PASSED),
    ],
)
def test_cert_pubkey(key, old: Status, new: Status, ca_key) -> None:
    f = _with_chain(_cert(key(), ca_key))
    chain = ev.load_chain(f)
    assert (ev.pubkey(f, OLD, chain).status, ev.pubkey(f, NEW, chain).status) == (old, new)


def _openssl_sha1_root(tmp_path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """cryptography refuses to sign with SHA-1, so the SHA-1 certificate comes from the openssl CLI."""
    import subprocess

    key, crt = tmp_path / "root.key", tmp_path / "root.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha1",
            "-days",
            "2",
            "-subj",
            "/CN=ca",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    root_key = serialization.load_pem_private_key(key.read_bytes(), None)
    assert isinstance(root_key, rsa.RSAPrivateKey)
    return x509.load_pem_x509_certificate(crt.read_bytes()), root_key


def test_cert_signature_sha1_fails_and_root_is_skipped(tmp_path) -> None:
    root, root_key = _openssl_sha1_root(tmp_path)
    assert root.signature_hash_algorithm is not None and root.signature_hash_algorithm.name == "sha1"
    alone = _with_chain(root)  # a single self-signed certificate is the leaf: judged
    r = ev.signature(alone, OLD, ev.load_chain(alone))
    assert r.status is Status.FAILED and "sha1" in r.detail
    assert ev.signature(alone, NEW, ev.load_chain(alone)).status is Status.FAILED
    # leaf (SHA-256) + self-signed SHA-1 root: the root is not judged (every certificate except the root)
    f2 = _with_chain(_cert(ec.generate_private_key(ec.SECP256R1()), root_key), root)
    chain = ev.load_chain(f2)
    assert ev.signature(f2, NEW, chain).status is Status.PASSED
    assert ev.pubkey(f2, NEW, chain).status is Status.PASSED


@pytest.mark.parametrize(
    ("pattern", "host", "ok"),
    [
        ("www.example.nl", "www.example.nl", True),
        ("www.example.nl", "WWW.Example.NL.", True),
        ("*.example.nl", "www.example.nl", True),
        ("*.example.nl", "example.nl", False),
        ("*.example.nl", "a.b.example.nl", False),
        ("*.nl", "example.nl", False),
        ("w*.example.nl", "www.example.nl", False),
    ],
)
def test_hostname_matching(pattern: str, host: str, ok: bool) -> None:
    assert ev.name_matches(pattern, host) is ok


def test_no_certificate_fails_all_cert_subtests() -> None:
    results = ev.evaluate_cert(facts(chain=[]), "www.example.test", NEW)
    assert [r.status for r in results] == [Status.FAILED] * 4


def test_mail_makes_trust_and_hostname_info(ca_key) -> None:
    f = _with_chain(_cert(ec.generate_private_key(ec.SECP256R1()), ca_key, names=("mx.other.test",)))
    f.trust_error = "unable to get local issuer certificate"
    by = {r.id: r.status for r in ev.evaluate_cert(f, "mx.example.test", NEW, mail=True)}
    assert by["cert.trust"] is Status.INFO and by["cert.hostname"] is Status.INFO
    assert [r.id for r in ev.evaluate_tls(f, NEW, mail=True)].count("tls.zero_rtt") == 0


def test_trust_is_never_assumed_without_a_full_handshake() -> None:
    """A server only legacy clients can talk to: trust comes from the plaintext chain, never a default."""
    import asyncio

    from nds.standards.checks.tls import fullhs
    from nds.standards.checks.tls.probe import HandshakeCounter

    f = facts(chain=[], negotiated=None)
    # nothing listens on this loopback port: the full handshake fails
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.36", 0))
        port = s.getsockname()[1]
    asyncio.run(
        asyncio.to_thread(
            fullhs.full_handshake, "127.0.0.36", port, "x.test", f, 1.0, None, HandshakeCounter()
        )
    )
    assert f.error and f.error.startswith("full handshake failed")
    assert f.trust_error == "no certificate received"
    assert ev.trust(f, NEW).status is Status.FAILED
