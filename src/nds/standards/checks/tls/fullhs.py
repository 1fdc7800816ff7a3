"""The one real handshake per address (pyOpenSSL, blocking; run in a thread).

It yields what needs a completed session: the certificate chain as sent (also under TLS 1.3, where it is
encrypted), its trust against the system store plus ``--ca-file``, the stapled OCSP response, whether a
TLS 1.3 session ticket allows early data (0-RTT), and whether the server accepts client-initiated
renegotiation (TLS 1.2; up to 11 in a row to tell "limited" (<= 10) from "unlimited").
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import socket
import struct
import time

from cryptography import x509
from OpenSSL import SSL, crypto
from OpenSSL._util import ffi as _ffi
from OpenSSL._util import lib as _lib

from nds.standards.checks.tls.probe import HandshakeCounter

SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
RENEGOTIATION_LIMIT = 10  # more than 10 client renegotiations on one connection is "unlimited" (NCSC 2025)


@functools.cache
def _openssl_names() -> dict[int, str]:
    """IANA code -> OpenSSL name, for every TLS <= 1.2 suite this OpenSSL knows."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return {c["id"] & 0xFFFF: c["name"] for c in ctx.get_ciphers() if c.get("protocol") != "TLSv1.3"}


def cipher_string(accepted: list[str]) -> bytes:
    """The suites the server accepted (at most 64, like every probe), in OpenSSL's notation."""
    from nds.standards.checks.tls.suites import BY_NAME

    names = _openssl_names()
    picked = [names[BY_NAME[n]] for n in accepted if n in BY_NAME and BY_NAME[n] in names][:64]
    return (":".join(picked) + ":@SECLEVEL=0").encode() if picked else b"DEFAULT:@SECLEVEL=0"


def _context(max_version: int | None, ciphers: bytes = b"DEFAULT:@SECLEVEL=0") -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_METHOD)
    try:
        ctx.set_cipher_list(ciphers)
    except SSL.Error:  # none of them known to this OpenSSL build
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    ctx.set_min_proto_version(0)
    if max_version:
        ctx.set_max_proto_version(max_version)
    ctx.set_verify(SSL.VERIFY_NONE)
    return ctx


def _connect(
    addr: str, port: int, name: str, ctx: SSL.Context, timeout: float, counter: HandshakeCounter
) -> tuple[SSL.Connection, socket.socket]:
    sock = socket.create_connection((addr, port), timeout=timeout)
    # pyOpenSSL needs a blocking socket; kernel-level timeouts keep every call bounded.
    sock.settimeout(None)
    tv = struct.pack("ll", int(timeout), int((timeout % 1) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    conn = SSL.Connection(ctx, sock)
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name)
        name = ""
    if name:
        conn.set_tlsext_host_name(name.encode("idna"))
    conn.request_ocsp()
    conn.set_connect_state()
    counter.add()
    conn.do_handshake()
    return conn, sock


@functools.lru_cache(maxsize=8)
def _store(ca_file: str | None, _mtime: float) -> crypto.X509Store:
    """The trust store (system bundle + ``ca_file``), parsed once: loading ~150 roots costs ~20 ms."""
    store = crypto.X509Store()
    for bundle in SYSTEM_BUNDLES:
        if os.path.exists(bundle):
            store.load_locations(bundle)
            break
    if ca_file:
        store.load_locations(ca_file)
    return store


def verify_chain(chain: list[x509.Certificate], ca_file: str | None) -> str | None:
    """None when the chain leads to a trusted root; otherwise OpenSSL's reason."""
    if not chain:
        return "no certificate received"
    mtime = os.path.getmtime(ca_file) if ca_file and os.path.exists(ca_file) else 0.0
    store = _store(ca_file, mtime)
    leaf = crypto.X509.from_cryptography(chain[0])
    rest = [crypto.X509.from_cryptography(c) for c in chain[1:]]
    try:
        crypto.X509StoreContext(store, leaf, rest).verify_certificate()
    except crypto.X509StoreContextError as exc:
        return str(exc)
    return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, SSL.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        return "; ".join(str(e[-1]) for e in exc.args[0] if e)
    return str(exc) or type(exc).__name__


def _close(conn: SSL.Connection, sock: socket.socket) -> None:
    with contextlib.suppress(Exception):
        conn.shutdown()
    sock.close()


def _zero_rtt(conn: SSL.Connection, sock: socket.socket, wait: float = 0.6) -> bool | None:
    """Wait briefly for the TLS 1.3 NewSessionTicket (servers send it right after the handshake) without
    sending application data (for SMTP after STARTTLS that would break the session, the reason internet.nl
    dropped 0-RTT for mail), then read the ticket's max_early_data. A new ticket shows as a new session
    object; no ticket within ``wait`` means no resumption, hence no 0-RTT."""

    def current() -> tuple[int, SSL.Session | None]:
        s = conn.get_session()
        return (int(_ffi.cast("uintptr_t", s._session)), s) if s is not None else (0, None)

    first, _ = current()
    sock.setblocking(False)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            conn.recv(16384)
        except SSL.WantReadError:
            pass
        except (SSL.Error, OSError):
            break
        ptr, session = current()
        if session is not None and ptr != first:
            return bool(_lib.SSL_SESSION_get_max_early_data(session._session))
        time.sleep(0.01)
    _, session = current()
    if session is None:
        return None
    return bool(_lib.SSL_SESSION_get_max_early_data(session._session))


def _client_renegotiation(conn: SSL.Connection) -> str:
    done = 0
    for _ in range(RENEGOTIATION_LIMIT + 1):
        try:
            if not conn.renegotiate():
                break
            conn.do_handshake()
            # the server answers the renegotiation handshake only while it reads
            conn.sendall(b"")
            if conn.renegotiate_pending():
                conn.do_handshake()
            if conn.renegotiate_pending():
                break
        except (SSL.Error, OSError):
            break
        done += 1
    if done == 0:
        return "off"
    return "unlimited" if done > RENEGOTIATION_LIMIT else "limited"


def full_handshake(
    addr: str,
    port: int,
    name: str,
    facts: object,
    timeout: float,
    ca_file: str | None,
    counter: HandshakeCounter,
) -> None:
    from nds.standards.checks.tls.retrieve import TlsFacts

    assert isinstance(facts, TlsFacts)
    ocsp: list[bytes] = []

    def on_ocsp(_conn: SSL.Connection, data: bytes, _d: object) -> bool:
        ocsp.append(data)
        return True

    legacy = [n for v, names in facts.suites.items() if v != "TLSv1.3" for n in names]
    ciphers = cipher_string(legacy)
    ctx = _context(None, ciphers)
    ctx.set_ocsp_client_callback(on_ocsp)
    try:
        conn, sock = _connect(addr, port, name, ctx, timeout, counter)
    except (SSL.Error, OSError) as exc:
        # e.g. a server that only speaks suites OpenSSL 3 dropped (RC4, 3DES): judge the chain it sent in
        # the plaintext TLS <= 1.2 flight instead, so trust is never assumed
        facts.error = f"full handshake failed: {_reason(exc)}"
        if facts.chain:
            chain = [x509.load_der_x509_certificate(c) for c in facts.chain]
            facts.trust_error = verify_chain(chain, ca_file)
        else:
            facts.trust_error = "no certificate received"
        return
    try:
        facts.negotiated = conn.get_protocol_version_name()
        if facts.negotiated == "TLSv1.3" and "TLSv1.3" not in facts.versions:
            # the crafted TLS 1.3 hello was refused (e.g. a server that dislikes an empty key_share) but a
            # real client gets TLS 1.3: record what this handshake shows rather than deny TLS 1.3
            from nds.standards.checks.tls.suites import BY_NAME

            facts.versions.insert(0, "TLSv1.3")
            suite = conn.get_cipher_name() or ""
            facts.suites["TLSv1.3"] = [suite] if suite in BY_NAME else []
        chain = conn.get_peer_cert_chain(as_cryptography=True) or []
        facts.chain = [c.public_bytes(_der()) for c in chain]
        facts.trust_error = verify_chain(list(chain), ca_file)
        facts.ocsp_stapled = bool(ocsp and ocsp[0]) or bool(facts.ocsp_stapled)
        if ocsp and ocsp[0]:
            facts.ocsp_response = bytes(ocsp[0])
        if facts.negotiated == "TLSv1.3":
            facts.zero_rtt = _zero_rtt(conn, sock)
        elif "TLSv1.2" in facts.versions or facts.negotiated:
            facts.client_renegotiation = _client_renegotiation(conn)
    finally:
        _close(conn, sock)
    if facts.negotiated == "TLSv1.3" and any(v != "TLSv1.3" for v in facts.versions):
        try:
            conn, sock = _connect(addr, port, name, _context(SSL.TLS1_2_VERSION, ciphers), timeout, counter)
        except (SSL.Error, OSError):
            return
        try:
            facts.client_renegotiation = _client_renegotiation(conn)
        finally:
            _close(conn, sock)


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER
