"""Integration: the crafted-ClientHello scanner against real ``openssl s_server`` configurations on
loopback, evaluated under both NCSC profiles. Each case asserts exact statuses and clauses."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from nds_tls_helpers import TestCA, s_server

from nds.standards.checks.tls import evaluate as ev
from nds.standards.checks.tls.probe import HandshakeCounter
from nds.standards.checks.tls.retrieve import TlsFacts, scan_address
from nds.standards.model import Status
from nds.standards.policy import get_profile

pytestmark = pytest.mark.integration

OLD = get_profile("ncsc-2.1.1")
NEW = get_profile("ncsc-2025-05")
HOST = "www.example.test"


def scan(addr: str, port: int, ca: TestCA, counter: HandshakeCounter | None = None) -> TlsFacts:
    return asyncio.run(scan_address(addr, port, HOST, timeout=5, ca_file=str(ca.pem), counter=counter))


def by_id(results: list, sub_id: str):
    (r,) = [r for r in results if r.id == sub_id]
    return r


def test_modern_tls13_only(ca: TestCA) -> None:
    cert = ca.issue(HOST, curve=ec.SECP256R1(), label="modern")
    with s_server(
        "127.0.0.21",
        cert,
        "-tls1_3",
        "-ciphersuites",
        "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
        "-groups",
        "x25519:secp384r1",
    ) as port:
        counter = HandshakeCounter()
        f = scan("127.0.0.21", port, ca, counter)
    assert f.versions == ["TLSv1.3"]
    assert f.suites["TLSv1.3"] and set(f.suites["TLSv1.3"]) == {
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    }
    assert set(f.groups) == {"x25519", "secp384r1"}
    assert f.trust_error is None and f.negotiated == "TLSv1.3"
    assert f.secure_renegotiation is None and f.ems is None and f.zero_rtt is False
    assert counter.count == f.handshakes <= 30
    for profile in (OLD, NEW):
        results = ev.evaluate_tls(f, profile) + ev.evaluate_cert(f, HOST, profile)
        statuses = {r.id: r.status for r in results}
        assert all(s is Status.PASSED for s in statuses.values()), statuses
        assert by_id(results, "tls.version").facts["profile"] == profile.name


def test_default_openssl_config_profiles_disagree(ca: TestCA) -> None:
    """OpenSSL defaults: RSA key exchange, DHE with the RFC 3526 group, client cipher order."""
    cert = ca.issue(HOST, rsa_bits=2048, label="default")
    with s_server("127.0.0.22", cert) as port:
        f = scan("127.0.0.22", port, ca)
    assert f.versions == ["TLSv1.3", "TLSv1.2"]
    assert "TLS_RSA_WITH_AES_128_GCM_SHA256" in f.all_suites
    assert f.dh_groups == ["modp2048"]
    # TLS 1.3 groups as internet.nl enumerates them: curves, not OpenSSL's default FFDHE groups
    assert set(f.groups) == {"x25519", "secp256r1", "x448", "secp521r1", "secp384r1"}
    assert f.server_order["TLSv1.2"] is False
    old = {r.id: r for r in ev.evaluate_tls(f, OLD) + ev.evaluate_cert(f, HOST, OLD)}
    new = {r.id: r for r in ev.evaluate_tls(f, NEW) + ev.evaluate_cert(f, HOST, NEW)}
    # RSA key exchange: phase out in 2.1 (warning), insufficient in 2025 (failed)
    assert old["tls.ciphers"].status is Status.WARNING
    assert old["tls.ciphers"].clause.startswith("NCSC TLS 2.1 Appendix C")
    assert new["tls.ciphers"].status is Status.FAILED
    assert "TLS_RSA_WITH_AES_128_GCM_SHA256" in new["tls.ciphers"].detail
    # a non-RFC 7919 DH group is insufficient in both
    assert old["tls.key_exchange"].status is Status.FAILED and "modp2048" in old["tls.key_exchange"].detail
    assert new["tls.key_exchange"].status is Status.FAILED
    # non-good suites but the client's order: B2-5 violated
    assert old["tls.cipher_order"].status is Status.FAILED and "B2-5" in old["tls.cipher_order"].clause
    # RSA-2048: sufficient in 2.1, phase out in 2025
    assert old["cert.pubkey"].status is Status.PASSED
    assert new["cert.pubkey"].status is Status.WARNING and "RSA-2048" in new["cert.pubkey"].detail
    assert old["tls.ems"].status is Status.PASSED and new["tls.ems"].status is Status.PASSED
    assert old["tls.client_renegotiation"].status is Status.PASSED  # OpenSSL 3 refuses by default
    assert old["cert.trust"].status is Status.PASSED


def test_tls10_and_tls11_phase_out_vs_insufficient(ca: TestCA) -> None:
    cert = ca.issue(HOST, rsa_bits=3072, label="legacy")
    with s_server(
        "127.0.0.23",
        cert,
        "-no_tls1_3",
        "-min_protocol",
        "TLSv1",
        "-serverpref",
        "-cipher",
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
    ) as port:
        f = scan("127.0.0.23", port, ca)
    assert f.versions == ["TLSv1.2", "TLSv1.1", "TLSv1.0"]
    old = ev.version(f, OLD)
    new = ev.version(f, NEW)
    assert old.status is Status.WARNING and old.clause == "NCSC TLS 2.1 Table 1 (TLS versions)"
    assert "TLSv1.0" in old.detail and "TLSv1.1" in old.detail
    assert new.status is Status.FAILED and new.clause.startswith("NCSC TLS 2025-05")
    # the SHA-1 CBC suite: sufficient in 2.1, insufficient in 2025
    assert ev.ciphers(f, OLD).status is Status.PASSED
    assert ev.ciphers(f, NEW).status is Status.FAILED
    assert f.server_order["TLSv1.2"] is True
    assert ev.cipher_order(f, OLD).status is Status.PASSED
    assert ev.pubkey(f, NEW, ev.load_chain(f)).status is Status.PASSED  # RSA-3072 sufficient in 2025


def test_insufficient_null_suite(ca: TestCA) -> None:
    cert = ca.issue(HOST, rsa_bits=2048, label="weak")
    with s_server(
        "127.0.0.24", cert, "-no_tls1_3", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:NULL-SHA256:@SECLEVEL=0"
    ) as port:
        f = scan("127.0.0.24", port, ca)
    assert set(f.all_suites) == {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_NULL_SHA256"}
    for p in (OLD, NEW):
        r = ev.ciphers(f, p)
        assert r.status is Status.FAILED
        assert "TLS_RSA_WITH_NULL_SHA256" in r.detail.split("phase-out")[0]


def test_ffdhe2048_and_secp224r1(ca: TestCA, tmp_path: Path) -> None:
    dh = tmp_path / "ffdhe2048.pem"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            "group:ffdhe2048",
            "-out",
            str(dh),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    cert = ca.issue(HOST, rsa_bits=2048, label="dhe")
    with s_server(
        "127.0.0.25",
        cert,
        "-no_tls1_3",
        "-dhparam",
        str(dh),
        "-groups",
        "secp224r1",
        "-cipher",
        "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
    ) as port:
        f = scan("127.0.0.25", port, ca)
    assert f.dh_groups == ["ffdhe2048"]
    assert f.groups == ["secp224r1"]
    old, new = ev.key_exchange(f, OLD), ev.key_exchange(f, NEW)
    assert old.status is Status.WARNING  # both phase out in 2.1
    assert old.clause == "NCSC TLS 2.1 Table 10 (key-exchange groups)"
    assert new.status is Status.FAILED  # both insufficient in 2025
    assert f.kex_hash == "sha2" and ev.kex_hash(f, NEW).status is Status.PASSED


def test_zero_rtt_and_client_renegotiation(ca: TestCA) -> None:
    cert = ca.issue(HOST, curve=ec.SECP384R1(), label="zerortt")
    with s_server(
        "127.0.0.26",
        cert,
        "-max_early_data",
        "16384",
        "-client_renegotiation",
        "-cipher",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ) as port:
        f = scan("127.0.0.26", port, ca)
    assert f.zero_rtt is True
    assert f.client_renegotiation == "unlimited"
    for p in (OLD, NEW):
        assert ev.zero_rtt(f, p).status is Status.FAILED
    assert ev.client_renegotiation(f, OLD).status is Status.INFO  # allowed: sufficient, shown as info
    new = ev.client_renegotiation(f, NEW)
    assert new.status is Status.INFO and new.facts["level"] == "phase_out"


def test_wrong_name_and_expired(ca: TestCA) -> None:
    cert = ca.issue("other.example.test", label="wrongname")
    with s_server("127.0.0.27", cert) as port:
        f = scan("127.0.0.27", port, ca)
    r = ev.hostname(f, HOST, NEW, ev.load_chain(f))
    assert r.status is Status.FAILED and "other.example.test" in r.detail
    assert r.clause.startswith("RFC 6125")
    expired = ca.issue(HOST, expired=True, label="expired")
    with s_server("127.0.0.28", expired) as port:
        f = scan("127.0.0.28", port, ca)
    t = ev.trust(f, NEW)
    assert t.status is Status.FAILED and "expired" in t.detail


def test_untrusted_without_ca_file(ca: TestCA) -> None:
    cert = ca.issue(HOST, label="untrusted")
    with s_server("127.0.0.29", cert) as port:
        f = asyncio.run(scan_address("127.0.0.29", port, HOST, timeout=5, ca_file=None))
    assert ev.trust(f, OLD).status is Status.FAILED


def test_unreachable_port_is_not_an_exception() -> None:
    from nds_tls_helpers import free_port

    port = free_port("127.0.0.30")
    f = asyncio.run(scan_address("127.0.0.30", port, HOST, timeout=2))
    assert f.reachable is False and f.versions == [] and "refused" in (f.error or "").lower()


def _ocsp_response(ca: TestCA, leaf_pem: Path, *, days: int = 1, other_serial: bool = False) -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    leaf = x509.load_pem_x509_certificate(leaf_pem.read_bytes())
    if other_serial:
        leaf = x509.load_pem_x509_certificate(
            ca.issue("someone.else.test", label="other-ocsp").cert.read_bytes()
        )
    now = dt.datetime.now(dt.UTC)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=ca.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(days=2),
            next_update=now + dt.timedelta(days=days),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
        .sign(ca.key, hashes.SHA256())
    )
    return response.public_bytes(serialization.Encoding.DER)


def test_ocsp_stapling(ca: TestCA, tmp_path: Path) -> None:
    """A valid staple is good; a stale one or one about another certificate is not valid (notice);
    no staple is sufficient; a certificate without an OCSP responder has nothing to staple."""
    cert = ca.issue(HOST, curve=ec.SECP256R1(), label="ocsp", ocsp_url="http://ocsp.example.test/")
    cases = {
        "valid": _ocsp_response(ca, cert.cert),
        "expired": _ocsp_response(ca, cert.cert, days=-1),
        "other": _ocsp_response(ca, cert.cert, other_serial=True),
    }
    seen = {}
    for i, (case, der) in enumerate(cases.items()):
        path = tmp_path / f"{case}.der"
        path.write_bytes(der)
        with s_server(
            f"127.0.0.{90 + i}", cert, "-status_file", str(path), "-cert_chain", str(ca.pem)
        ) as port:
            seen[case] = scan(f"127.0.0.{90 + i}", port, ca)
    assert all(f.ocsp_stapled for f in seen.values())
    good = ev.ocsp(seen["valid"], OLD)
    assert good.status is Status.PASSED and good.detail == "valid OCSP response stapled"
    assert good.facts["level"] == "good"
    expired = ev.ocsp(seen["expired"], NEW)
    assert expired.status is Status.WARNING and "expired" in expired.detail and "RFC 6960" in expired.clause
    other = ev.ocsp(seen["other"], NEW)
    assert other.status is Status.WARNING and "another certificate" in other.detail
    with s_server("127.0.0.93", cert) as port:
        f = scan("127.0.0.93", port, ca)
    assert f.ocsp_stapled is False and ev.ocsp(f, NEW).facts["level"] == "sufficient"
    plain = ca.issue(HOST, curve=ec.SECP256R1(), label="no-aia")
    with s_server("127.0.0.94", plain) as port:
        f = scan("127.0.0.94", port, ca)
    r = ev.ocsp(f, NEW)
    assert r.status is Status.PASSED and "no OCSP responder" in r.detail


def test_ipv6_loopback(ca: TestCA) -> None:
    cert = ca.issue(HOST, curve=ec.SECP256R1(), label="v6")
    with s_server("::1", cert, "-tls1_3") as port:
        f = scan("::1", port, ca)
    assert f.address == "::1" and f.versions == ["TLSv1.3"] and f.trust_error is None


def test_key_exchange_signed_with_sha1_only(ca: TestCA) -> None:
    cert = ca.issue(HOST, rsa_bits=2048, label="sha1kex")
    with s_server(
        "127.0.0.35",
        cert,
        "-no_tls1_3",
        "-sigalgs",
        "RSA+SHA1",
        "-cipher",
        "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
    ) as port:
        f = scan("127.0.0.35", port, ca)
    assert f.versions == ["TLSv1.2"]
    assert f.kex_hash == "no_sha2"
    for p in (OLD, NEW):
        r = ev.kex_hash(f, p)
        assert r.status is Status.WARNING and "SHA-2" in r.detail
    assert ev.kex_hash(f, OLD).clause == "NCSC TLS 2.1 Table 5 (hash functions)"


def test_rare_suites_beyond_the_first_hello_and_at_most_64_suites_per_hello(ca: TestCA) -> None:
    """Some servers ignore suites past the 64th: every hello stays within 64, and a suite from the second
    chunk (Camellia) is still found. A recording proxy sits between scanner and server."""
    import struct

    cert = ca.issue(HOST, rsa_bits=2048, label="camellia")
    sizes: list[int] = []

    async def go(port: int) -> TlsFacts:
        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_r, up_w = await asyncio.open_connection("127.0.0.38", port)
            first = await reader.read(65536)
            if first[:1] == b"\x16" and first[5:6] == b"\x01":
                hs = first[9:]
                pos = 2 + 32
                pos += 1 + hs[pos]
                sizes.append(struct.unpack("!H", hs[pos : pos + 2])[0] // 2)
            up_w.write(first)

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    dst.close()

            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

        proxy = await asyncio.start_server(relay, "127.0.0.39", 0)
        pport = proxy.sockets[0].getsockname()[1]
        async with proxy:
            return await scan_address("127.0.0.39", pport, HOST, timeout=5, ca_file=str(ca.pem))

    with s_server(
        "127.0.0.38", cert, "-no_tls1_3", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:CAMELLIA256-SHA:@SECLEVEL=0"
    ) as port:
        f = asyncio.run(go(port))
    assert set(f.all_suites) == {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"}
    assert sizes and max(sizes) <= 64
    assert ev.ciphers(f, NEW).status is Status.FAILED  # RSA key exchange with Camellia: insufficient
