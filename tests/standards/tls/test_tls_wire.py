"""The wire format: ClientHellos we craft and the server answers we parse (RFC 5246 §7.4, RFC 8446 §4)."""

from __future__ import annotations

import asyncio
import struct
import subprocess
from pathlib import Path

import pytest

from nds.standards.checks.tls import wire
from nds.standards.checks.tls.ffdhe import identify_dh_group
from nds.standards.checks.tls.probe import HandshakeCounter, exchange
from nds.standards.checks.tls.retrieve import ALL_TLS13, LEGACY_SUITES, scan_address
from nds.standards.checks.tls.suites import BY_NAME


def _extensions(record: bytes) -> dict[int, bytes]:
    assert record[0] == 22
    hs = record[5:]
    assert hs[0] == 1 and int.from_bytes(hs[1:4], "big") == len(hs) - 4
    pos = 4 + 2 + 32
    pos += 1 + hs[pos]
    pos += 2 + struct.unpack("!H", hs[pos : pos + 2])[0]
    pos += 1 + hs[pos]
    total = struct.unpack("!H", hs[pos : pos + 2])[0]
    pos += 2
    assert pos + total == len(hs)
    out = {}
    while pos < len(hs):
        t, n = struct.unpack("!HH", hs[pos : pos + 4])
        out[t] = hs[pos + 4 : pos + 4 + n]
        pos += 4 + n
    return out


@pytest.mark.unit
def test_tls13_hello_has_empty_key_share_and_only_tls13() -> None:
    rec = wire.client_hello(version=wire.TLS12, suites=ALL_TLS13, server_name="www.example.nl", tls13=True)
    ext = _extensions(rec)
    assert ext[wire.EXT_KEY_SHARE] == b"\x00\x00"
    assert ext[wire.EXT_SUPPORTED_VERSIONS] == b"\x02\x03\x04"
    assert b"www.example.nl" in ext[wire.EXT_SERVER_NAME]


@pytest.mark.unit
def test_legacy_hello_offers_compression_ems_and_renegotiation_info() -> None:
    rec = wire.client_hello(version=wire.TLS12, suites=LEGACY_SUITES, server_name="127.0.0.1")
    ext = _extensions(rec)
    assert wire.EXT_SERVER_NAME not in ext  # no SNI for IP literals
    assert ext[wire.EXT_EMS] == b"" and ext[wire.EXT_RENEGOTIATION_INFO] == b"\x00"
    hs = rec[5:]
    assert b"\x02\x01\x00" in hs  # compression methods: DEFLATE, null


@pytest.mark.unit
@pytest.mark.parametrize("n", range(1, 60))
def test_hello_length_avoids_256_to_511(n: int) -> None:
    rec = wire.client_hello(
        version=wire.TLS12, suites=LEGACY_SUITES[:n], server_name="a" * 40 + ".example.nl"
    )
    assert not 256 <= len(rec) - 5 < 512


def _server_hello(version: int, suite: int, exts: bytes, random: bytes = b"\x11" * 32) -> bytes:
    body = struct.pack("!H", 0x0303) + random + b"\x00" + struct.pack("!H", suite) + b"\x00"
    body += struct.pack("!H", len(exts)) + exts
    return body


@pytest.mark.unit
def test_parse_hello_retry_request() -> None:
    exts = wire._ext(wire.EXT_SUPPORTED_VERSIONS, b"\x03\x04") + wire._ext(wire.EXT_KEY_SHARE, b"\x00\x1d")
    ans = wire.ServerAnswer()
    wire.parse_server_hello(_server_hello(0x0303, 0x1302, exts, wire.HRR_RANDOM), ans)
    assert ans.hrr and ans.version == wire.TLS13 and ans.suite == 0x1302 and ans.group == 29


@pytest.mark.unit
def test_parse_ecdhe_server_key_exchange() -> None:
    ans = wire.ServerAnswer(version=wire.TLS12, suite=BY_NAME["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
    ske = b"\x03\x00\x17" + bytes([65]) + b"\x04" * 65 + b"\x08\x04" + b"\x00\x02ab"
    wire.parse_server_key_exchange(ske, ans)
    assert ans.group == 23 and ans.kex_sigalg == 0x0804


@pytest.mark.unit
def test_malformed_server_hello_is_a_protocol_error() -> None:
    with pytest.raises(wire.ProtocolError):
        wire.parse_server_hello(b"\x03\x03", wire.ServerAnswer())


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("group", ["ffdhe2048", "ffdhe3072", "ffdhe4096", "modp_2048", "modp_1536"])
def test_dh_groups_recognised_like_openssl(group: str, tmp_path: Path) -> None:
    pem = tmp_path / "dh.pem"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            f"group:{group}",
            "-out",
            str(pem),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    from cryptography.hazmat.primitives.serialization import load_pem_parameters

    numbers = load_pem_parameters(pem.read_bytes()).parameter_numbers()  # type: ignore[union-attr]
    assert numbers.g == 2
    prime = numbers.p.to_bytes((numbers.p.bit_length() + 7) // 8, "big")
    assert identify_dh_group(prime, b"\x02") == group.replace("_", "")
    assert identify_dh_group(b"\x00" + prime, b"\x02") == group.replace("_", "")  # leading zero tolerated
    assert identify_dh_group(prime, b"\x05").startswith("custom-")


@pytest.mark.integration
def test_non_tls_and_garbage_servers_are_refusals() -> None:
    async def go() -> list:
        async def junk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)
            writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            await writer.drain()
            writer.close()

        async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)
            writer.write(b"\x16\x03\x03\x00\x06\x02\x00\x00\x02\x03\x03")  # truncated ServerHello
            await writer.drain()
            writer.close()

        out = []
        for handler in (junk, short):
            server = await asyncio.start_server(handler, "127.0.0.33", 0)
            port = server.sockets[0].getsockname()[1]
            async with server:
                hello = wire.client_hello(version=wire.TLS12, suites=LEGACY_SUITES, server_name="x.test")
                out.append(
                    await exchange(
                        "127.0.0.33", port, hello, timeout=3, counter=HandshakeCounter(), tls13=False
                    )
                )
                out.append(await scan_address("127.0.0.33", port, "x.test", timeout=3))
        return out

    junk_ans, junk_facts, short_ans, short_facts = asyncio.run(go())
    assert junk_ans.alert == -2 and not junk_ans.accepted
    assert junk_facts.versions == [] and junk_facts.reachable
    assert not short_ans.accepted and short_facts.versions == []


@pytest.mark.integration
def test_silent_server_is_retried_then_a_refusal_and_a_late_listener_is_found() -> None:
    async def go() -> tuple:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)
            await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.34", 0)
        port = server.sockets[0].getsockname()[1]
        counter = HandshakeCounter()
        async with server:
            hello = wire.client_hello(version=wire.TLS12, suites=LEGACY_SUITES, server_name="x.test")
            ans = await exchange(
                "127.0.0.34",
                port,
                hello,
                timeout=0.3,
                counter=counter,
                tls13=False,
                retries=1,
                retry_delay=0.05,
            )
        return ans, counter.count

    ans, attempts = asyncio.run(go())
    assert ans.alert == -3 and not ans.accepted
    assert attempts == 2  # one retry


@pytest.mark.unit
@pytest.mark.parametrize(
    ("code", "sha2"),
    [
        (0x0401, True),
        (0x0403, True),
        (0x0501, True),
        (0x0601, True),
        (0x0804, True),
        (0x0807, True),
        (0x0201, False),
        (0x0203, False),
        (0x0101, False),
        (0x0301, False),
    ],
)
def test_kex_signature_hash(code: int, sha2: bool) -> None:
    assert wire.sigalg_is_sha2(code) is sha2


def _ssl2_server_hello() -> bytes:
    cert = b"\x30\x03\x02\x01\x00"  # not parsed: only the version and cipher specs matter
    specs = (0x010080).to_bytes(3, "big")
    conn_id = b"\x22" * 16
    msg = b"\x04\x00\x01\x00\x02" + struct.pack("!HHH", len(cert), len(specs), len(conn_id)) + cert + specs
    msg += conn_id
    return struct.pack("!H", 0x8000 | len(msg)) + msg


@pytest.mark.unit
def test_ssl2_hello_format_and_answer() -> None:
    hello = wire.ssl2_client_hello()
    assert hello[0] & 0x80 and (struct.unpack("!H", hello[:2])[0] & 0x7FFF) == len(hello) - 2
    assert hello[2] == 1 and hello[3:5] == b"\x00\x02"
    assert wire.parse_ssl2_server_hello(_ssl2_server_hello())
    assert not wire.parse_ssl2_server_hello(b"\x15\x03\x03\x00\x02\x02\x28")  # a TLS alert


@pytest.mark.integration
def test_sslv2_server_detected_and_insufficient() -> None:
    """Debian's OpenSSL cannot serve SSL 2.0: a scripted server answers the SSL 2.0 hello."""
    from nds.standards.checks.tls import evaluate as ev
    from nds.standards.policy import get_profile

    async def go():
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            first = await reader.read(4096)
            if first[:1] and first[0] & 0x80 and first[2:3] == b"\x01":
                writer.write(_ssl2_server_hello())
            else:
                writer.write(b"\x15\x03\x01\x00\x02\x02\x46")  # alert protocol_version to every TLS hello
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handler, "127.0.0.37", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await scan_address("127.0.0.37", port, "x.test", timeout=3)

    f = asyncio.run(go())
    assert f.versions == ["SSLv2"]
    for name in ("ncsc-2.1.1", "ncsc-2025-05"):
        r = ev.version(f, get_profile(name))
        assert r.status.value == "failed" and "SSLv2" in r.detail
