"""Crafting ClientHellos and parsing the server's plaintext handshake (RFC 5246, RFC 8446).

The scanner never completes a key exchange with these messages: it sends one ClientHello, reads the
server's answer up to ServerHelloDone (TLS <= 1.2) or the ServerHello / HelloRetryRequest (TLS 1.3) and
closes. That is enough to learn the chosen version, suite, group, extensions, certificate chain
(TLS <= 1.2) and key-exchange parameters, at the cost of one TCP connection and no client crypto.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
VERSION_NAMES = {SSL3: "SSLv3", TLS10: "TLSv1.0", TLS11: "TLSv1.1", TLS12: "TLSv1.2", TLS13: "TLSv1.3"}

HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")

GROUPS: dict[int, str] = {
    1: "sect163k1",
    2: "sect163r1",
    3: "sect163r2",
    4: "sect193r1",
    5: "sect193r2",
    6: "sect233k1",
    7: "sect233r1",
    8: "sect239k1",
    9: "sect283k1",
    10: "sect283r1",
    11: "sect409k1",
    12: "sect409r1",
    13: "sect571k1",
    14: "sect571r1",
    15: "secp160k1",
    16: "secp160r1",
    17: "secp160r2",
    18: "secp192k1",
    19: "secp192r1",
    20: "secp224k1",
    21: "secp224r1",
    22: "secp256k1",
    23: "secp256r1",
    24: "secp384r1",
    25: "secp521r1",
    26: "brainpoolP256r1",
    27: "brainpoolP384r1",
    28: "brainpoolP512r1",
    29: "x25519",
    30: "x448",
    31: "brainpoolP256r1tls13",
    32: "brainpoolP384r1tls13",
    33: "brainpoolP512r1tls13",
    0x0100: "ffdhe2048",
    0x0101: "ffdhe3072",
    0x0102: "ffdhe4096",
    0x0103: "ffdhe6144",
    0x0104: "ffdhe8192",
    0x11EB: "SecP256r1MLKEM768",
    0x11EC: "X25519MLKEM768",
    0x11ED: "SecP384r1MLKEM1024",
}
# TLS 1.3 groups enumerated: hybrid ML-KEM and elliptic curves — as internet.nl (sslyze's curves scan).
# FFDHE groups are not enumerated in TLS 1.3: OpenSSL 3 accepts ffdhe2048 there by default although no
# mainstream client negotiates it, and internet.nl judges finite-field DH only from TLS <= 1.2 DHE suites.
TLS13_GROUPS = [0x11EC, 0x11EB, 0x11ED, 29, 23, 24, 25, 30, 31, 32, 33, 21]
FFDHE_GROUPS = [0x0100, 0x0101, 0x0102, 0x0103, 0x0104]
EC_GROUPS = [29, 23, 24, 25, 30, 26, 27, 28, *range(1, 23)]

# signature_algorithms: SHA-2 (and intrinsic) first, then SHA-224 and SHA-1 so old servers still answer.
SIGALGS_SHA2 = [
    0x0403,
    0x0503,
    0x0603,
    0x0807,
    0x0808,
    0x0804,
    0x0805,
    0x0806,
    0x0809,
    0x080A,
    0x080B,
    0x0401,
    0x0501,
    0x0601,
    0x0402,
    0x0502,
    0x0602,
]
SIGALGS_ALL = [*SIGALGS_SHA2, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202]
HASH_OF_SIGALG = {1: "md5", 2: "sha1", 3: "sha224", 4: "sha256", 5: "sha384", 6: "sha512"}


def sigalg_is_sha2(code: int) -> bool:
    """TLS 1.2 SignatureAndHashAlgorithm: the high byte is the hash (RFC 5246 §7.4.1.4.1); 0x08xx are
    RFC 8446 schemes (RSA-PSS with SHA-256/384/512, Ed25519/Ed448) — all SHA-2 or intrinsic."""
    return (code >> 8) in (4, 5, 6, 8)


EXT_SERVER_NAME, EXT_STATUS_REQUEST, EXT_SUPPORTED_GROUPS, EXT_EC_POINT_FORMATS = 0, 5, 10, 11
EXT_SIGNATURE_ALGORITHMS, EXT_EMS, EXT_SUPPORTED_VERSIONS, EXT_PSK_MODES, EXT_KEY_SHARE = 13, 23, 43, 45, 51
EXT_RENEGOTIATION_INFO, EXT_PADDING = 0xFF01, 21

# Handshake message types
HS_SERVER_HELLO, HS_CERTIFICATE, HS_SERVER_KEY_EXCHANGE, HS_SERVER_HELLO_DONE, HS_CERT_STATUS = (
    2,
    11,
    12,
    14,
    22,
)


def _ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(body)) + body


def _u16list(values: list[int]) -> bytes:
    data = b"".join(struct.pack("!H", v) for v in values)
    return struct.pack("!H", len(data)) + data


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def client_hello(
    *,
    version: int,
    suites: list[int],
    server_name: str | None,
    groups: list[int] | None = None,
    sigalgs: list[int] | None = None,
    tls13: bool = False,
    compression: bool = True,
) -> bytes:
    """One ClientHello record.

    ``tls13``: offer only TLS 1.3 (supported_versions) with an *empty* key_share, so the server answers
    with a HelloRetryRequest naming its chosen group and suite: no key material is generated on either
    side. Otherwise ``version`` is the legacy client_version and no supported_versions is sent.
    """
    exts = b""
    if server_name and not _is_ip(server_name):
        name = server_name.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        exts += _ext(EXT_SERVER_NAME, struct.pack("!H", len(entry)) + entry)
    if version >= TLS10 or tls13:
        grp = groups if groups is not None else (TLS13_GROUPS if tls13 else EC_GROUPS)
        exts += _ext(EXT_SUPPORTED_GROUPS, _u16list(grp))
        exts += _ext(EXT_EC_POINT_FORMATS, b"\x01\x00")
        exts += _ext(EXT_SIGNATURE_ALGORITHMS, _u16list(sigalgs or (SIGALGS_SHA2 if tls13 else SIGALGS_ALL)))
        exts += _ext(EXT_STATUS_REQUEST, b"\x01\x00\x00\x00\x00")
        exts += _ext(EXT_EMS, b"")
        exts += _ext(EXT_RENEGOTIATION_INFO, b"\x00")
    if tls13:
        exts += _ext(EXT_SUPPORTED_VERSIONS, b"\x02" + struct.pack("!H", TLS13))
        exts += _ext(EXT_PSK_MODES, b"\x01\x01")
        exts += _ext(EXT_KEY_SHARE, struct.pack("!H", 0))
    legacy = TLS12 if tls13 else version
    session_id = os.urandom(32) if tls13 else b""
    body = struct.pack("!H", legacy) + os.urandom(32)
    body += bytes([len(session_id)]) + session_id
    cs = b"".join(struct.pack("!H", s) for s in suites)
    body += struct.pack("!H", len(cs)) + cs
    methods = b"\x01\x00" if compression and not tls13 else b"\x00"
    body += bytes([len(methods)]) + methods
    if exts:
        # RFC 7685 padding: keep the hello out of the 256-511 byte range some middleboxes choke on
        plain = 4 + len(body) + 2 + len(exts)
        if 256 <= plain < 512:
            exts += _ext(EXT_PADDING, bytes(max(0, 512 - plain - 4)))
        body += struct.pack("!H", len(exts)) + exts
    hs = bytes([1]) + struct.pack("!I", len(body))[1:] + body
    record_version = SSL3 if version == SSL3 else TLS10
    return bytes([22]) + struct.pack("!HH", record_version, len(hs)) + hs


@dataclass
class ServerAnswer:
    """What the server's plaintext flight told us. ``alert`` is set when it refused."""

    version: int | None = None
    suite: int | None = None
    compression: int = 0
    hrr: bool = False
    group: int | None = None  # TLS 1.3 key_share / HRR group, or TLS 1.2 ECDHE named curve
    extensions: set[int] = field(default_factory=set)
    certificates: list[bytes] = field(default_factory=list)
    dh_prime: bytes | None = None
    dh_generator: bytes | None = None
    kex_sigalg: int | None = None  # TLS 1.2 ServerKeyExchange signature algorithm
    ocsp_stapled: bool = False
    alert: int | None = None

    @property
    def accepted(self) -> bool:
        return self.version is not None and self.suite is not None


class ProtocolError(Exception):
    """The peer sent something that is not a TLS handshake."""


def parse_server_hello(msg: bytes, ans: ServerAnswer) -> None:
    if len(msg) < 38:
        raise ProtocolError("short ServerHello")
    ans.version = struct.unpack("!H", msg[0:2])[0]
    random = msg[2:34]
    ans.hrr = random == HRR_RANDOM
    sid_len = msg[34]
    pos = 35 + sid_len
    ans.suite = struct.unpack("!H", msg[pos : pos + 2])[0]
    ans.compression = msg[pos + 2]
    pos += 3
    if pos + 2 > len(msg):
        return
    ext_len = struct.unpack("!H", msg[pos : pos + 2])[0]
    pos += 2
    end = min(len(msg), pos + ext_len)
    while pos + 4 <= end:
        etype, elen = struct.unpack("!HH", msg[pos : pos + 4])
        data = msg[pos + 4 : pos + 4 + elen]
        ans.extensions.add(etype)
        if etype == EXT_SUPPORTED_VERSIONS and len(data) >= 2:
            ans.version = struct.unpack("!H", data[:2])[0]
        elif etype == EXT_KEY_SHARE and len(data) >= 2:
            ans.group = struct.unpack("!H", data[:2])[0]
        pos += 4 + elen


def parse_certificate(msg: bytes, ans: ServerAnswer) -> None:
    total = int.from_bytes(msg[0:3], "big")
    pos, end = 3, min(len(msg), 3 + total)
    while pos + 3 <= end:
        n = int.from_bytes(msg[pos : pos + 3], "big")
        ans.certificates.append(bytes(msg[pos + 3 : pos + 3 + n]))
        pos += 3 + n


def parse_server_key_exchange(msg: bytes, ans: ServerAnswer) -> None:
    """ECDHE (named curve) or DHE parameters, and the TLS 1.2 signature algorithm."""
    from nds.standards.checks.tls.suites import SUITES

    name = SUITES.get(ans.suite or 0, "")
    pos = 0
    if "_ECDHE_" in name:
        if msg[0] != 3:
            return
        ans.group = struct.unpack("!H", msg[1:3])[0]
        pos = 4 + msg[3]
    elif "_DHE_" in name or "_DH_anon_" in name:
        vals = []
        for _ in range(3):
            n = struct.unpack("!H", msg[pos : pos + 2])[0]
            vals.append(bytes(msg[pos + 2 : pos + 2 + n]))
            pos += 2 + n
        ans.dh_prime, ans.dh_generator = vals[0], vals[1]
    else:
        return
    if ans.version == TLS12 and "_anon_" not in name and pos + 2 <= len(msg):
        ans.kex_sigalg = struct.unpack("!H", msg[pos : pos + 2])[0]


# --- SSL 2.0 (draft-hickman-netscape-ssl-00): a different record and hello format ----------------------

SSL2_CIPHER_SPECS = [0x010080, 0x020080, 0x030080, 0x040080, 0x050080, 0x060040, 0x0700C0]


def ssl2_client_hello() -> bytes:
    specs = b"".join(spec.to_bytes(3, "big") for spec in SSL2_CIPHER_SPECS)
    challenge = os.urandom(16)
    msg = b"\x01\x00\x02" + struct.pack("!HHH", len(specs), 0, len(challenge)) + specs + challenge
    return struct.pack("!H", 0x8000 | len(msg)) + msg


def parse_ssl2_server_hello(data: bytes) -> bool:
    """True when ``data`` starts with an SSL 2.0 SERVER-HELLO offering at least one cipher spec."""
    if len(data) < 2 + 11 or not data[0] & 0x80:
        return False
    msg = data[2:]
    if msg[0] != 4:
        return False
    version = struct.unpack("!H", msg[3:5])[0]
    specs_len = struct.unpack("!H", msg[7:9])[0]
    return version == 0x0002 and specs_len >= 3
