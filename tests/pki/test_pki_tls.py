"""Real mTLS handshakes on 127.0.0.1 with the Group's SSL contexts."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pki_helpers import OIN_A, OIN_B, Group

from nds.fsc.grouprules import GroupRules, parse_group_rules
from nds.pki import (
    PeerFiles,
    PkiError,
    check_negotiated,
    client_ssl_context,
    issue_peer_certificate,
    load_certificate,
    peer_certificate_from_ssl_object,
    peer_identity,
    publish_crl,
    server_ssl_context,
)

pytestmark = pytest.mark.integration
TIMEOUT = 10


@dataclass
class ServerResult:
    peer_id: str | None = None
    version: str | None = None
    cipher: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _serve_once(ctx: ssl.SSLContext, rules: GroupRules) -> tuple[int, ServerResult, threading.Thread]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT)
    port = listener.getsockname()[1]
    result = ServerResult()

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                cert = peer_certificate_from_ssl_object(tls)
                result.peer_id = peer_identity(cert, rules).peer_id if cert is not None else None
                result.version = tls.version()
                result.cipher = (tls.cipher() or ("",))[0]
                tls.sendall(b"hello " + (result.peer_id or "anonymous").encode())
        except (OSError, ssl.SSLError, PkiError) as e:
            result.error = f"{type(e).__name__}: {e}"
        finally:
            listener.close()
            result.done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return port, result, t


def _connect(ctx: ssl.SSLContext, port: int, server_hostname: str = "peer-b.test",
             check: tuple[GroupRules, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
                ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            out["server_cert"] = peer_certificate_from_ssl_object(tls)
            out["version"] = tls.version()
            out["data"] = tls.recv(100)  # TLS 1.3: a refused client certificate shows up here
            out["checks"] = []
            for rules in check:
                try:
                    check_negotiated(tls, rules)
                    out["checks"].append(None)
                except PkiError as e:
                    out["checks"].append(str(e))
    except (OSError, ssl.SSLError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    return out


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, rules: GroupRules,
               server_hostname: str = "peer-b.test",
               check: tuple[GroupRules, ...] = ()) -> tuple[ServerResult, dict[str, Any]]:
    port, result, thread = _serve_once(server_ctx, rules)
    client = _connect(client_ctx, port, server_hostname, check)
    assert result.done.wait(TIMEOUT)
    thread.join(TIMEOUT)
    return result, client


def _rules(group: Group, **overrides: Any) -> GroupRules:
    data: dict[str, Any] = {"group_id": "nds-test", "trust_anchors": [str(group.dev.ca.cert)]}
    data.update(overrides)
    return parse_group_rules(data, group.tmp)


def test_mutual_tls_identifies_both_peers(group: Group) -> None:
    rules = group.rules
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = client_ssl_context(rules, group.dev.peers[OIN_A])
    result, out = _handshake(server, client, rules)
    assert result.error is None, result.error
    assert result.peer_id == OIN_A
    assert out["data"] == f"hello {OIN_A}".encode()
    assert peer_identity(out["server_cert"], rules).peer_id == OIN_B
    assert out["version"] == "TLSv1.3"
    assert result.cipher in rules.tls.tls13_ciphers


def test_hostname_is_checked_by_the_client(group: Group) -> None:
    rules = group.rules
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = client_ssl_context(rules, group.dev.peers[OIN_A])
    _, out = _handshake(server, client, rules, server_hostname="peer-a.test")
    assert "error" in out and "certificate verify failed" in out["error"]


def test_client_without_certificate_is_refused(group: Group) -> None:
    rules = group.rules
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(group.dev.ca.cert))
    result, out = _handshake(server, client, rules)
    assert result.error is not None and "certificate" in result.error.lower()
    assert result.peer_id is None
    assert "data" not in out or out["data"] == b""


def test_client_certificate_from_another_ca_is_refused(group: Group, tmp_path: Path) -> None:
    rules = group.rules
    foreign = issue_peer_certificate(group.other_ca, OIN_A, "Imposter", ["peer-a.test"], tmp_path / "x")
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = client_ssl_context(rules, foreign)
    result, out = _handshake(server, client, rules)
    assert result.error is not None and "certificate verify failed" in result.error
    assert result.peer_id is None
    assert "data" not in out or out["data"] == b""


def test_server_certificate_from_another_ca_is_refused(group: Group, tmp_path: Path) -> None:
    rules = group.rules
    foreign = issue_peer_certificate(group.other_ca, OIN_B, "Imposter", ["peer-b.test"], tmp_path / "x")
    server = server_ssl_context(rules, foreign, require_client_cert=False)
    client = client_ssl_context(rules, group.dev.peers[OIN_A])
    result, out = _handshake(server, client, rules)
    assert "certificate verify failed" in out["error"]
    assert result.peer_id is None


def test_optional_client_certificate(group: Group) -> None:
    rules = group.rules
    server = server_ssl_context(rules, group.dev.peers[OIN_B], require_client_cert=False)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(group.dev.ca.cert))
    result, out = _handshake(server, client, rules)
    assert result.error is None and result.peer_id is None
    assert out["data"] == b"hello anonymous"


def test_tls12_only_group_uses_an_allowed_suite(group: Group) -> None:
    rules = _rules(group, tls={"min_version": "1.2", "max_version": "1.2"})
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = client_ssl_context(rules, group.dev.peers[OIN_A])
    result, out = _handshake(server, client, rules, check=(rules, group.rules))
    assert result.error is None, result.error
    assert result.version == "TLSv1.2" and out["version"] == "TLSv1.2"
    assert result.cipher in rules.tls.tls12_ciphers
    assert out["checks"] == [None, None]
    tls13_only = _rules(group, tls={"min_version": "1.3", "tls12_ciphers": []})
    _, out = _handshake(server_ssl_context(rules, group.dev.peers[OIN_B]), client, rules, check=(tls13_only,))
    assert "not allowed" in out["checks"][0]


def test_client_offering_only_weak_tls12_suites_is_refused(group: Group) -> None:
    rules = group.rules
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = client_ssl_context(rules, group.dev.peers[OIN_A])
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.set_ciphers("ECDHE-ECDSA-AES128-SHA256")  # CBC: not in the NCSC 'good' list
    result, out = _handshake(server, client, rules)
    assert result.error is not None and out.get("error")


def test_tls13_only_group_refuses_tls12_clients(group: Group) -> None:
    rules = _rules(group, tls={"min_version": "1.3", "max_version": "1.3", "tls12_ciphers": []})
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    client = client_ssl_context(group.rules, group.dev.peers[OIN_A])
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    result, out = _handshake(server, client, rules)
    assert result.error is not None and out.get("error")


def test_check_negotiated_enforces_narrowed_tls13_suites(group: Group) -> None:
    narrow = _rules(group, tls={"tls13_ciphers": ["TLS_CHACHA20_POLY1305_SHA256"]})
    server = server_ssl_context(group.rules, group.dev.peers[OIN_B])
    client = client_ssl_context(group.rules, group.dev.peers[OIN_A])
    result, out = _handshake(server, client, group.rules, check=(group.rules, narrow))
    assert result.error is None
    assert out["checks"][0] is None
    assert result.cipher != "TLS_CHACHA20_POLY1305_SHA256"  # OpenSSL prefers AES-GCM
    assert "not allowed" in out["checks"][1]


def test_revoked_client_certificate_is_refused_when_crls_are_checked(group: Group, tmp_path: Path) -> None:
    a_serial = load_certificate(group.dev.peers[OIN_A].cert).serial_number
    crl = publish_crl(group.dev.ca, [a_serial], tmp_path / "crl.pem")
    rules = _rules(group, check_crl=True, crl_paths=[str(crl)])
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    result, _ = _handshake(server, client_ssl_context(rules, group.dev.peers[OIN_A]), rules)
    assert result.error is not None and "revoked" in result.error
    # a Peer that is not on the CRL still gets in
    c = issue_peer_certificate(group.dev.ca, OIN_A, "Gemeente A", ["peer-a.test"], tmp_path / "new")
    server = server_ssl_context(rules, group.dev.peers[OIN_B])
    result, _ = _handshake(server, client_ssl_context(rules, c), rules)
    assert result.error is None and result.peer_id == OIN_A


def test_context_errors_are_clear(group: Group, tmp_path: Path) -> None:
    wrong = PeerFiles(cert=group.dev.peers[OIN_A].chain, key=group.dev.peers[OIN_B].key,
                      chain=group.dev.peers[OIN_A].chain)
    with pytest.raises(PkiError, match="cannot load certificate"):
        server_ssl_context(group.rules, wrong)
    with pytest.raises(PkiError, match="private key path"):
        client_ssl_context(group.rules, group.dev.peers[OIN_A].cert)


def test_rsa_peers_over_tls12_and_tls13(group: Group, tmp_path: Path) -> None:
    server_files = issue_peer_certificate(group.dev.ca, OIN_B, "Gemeente B", ["peer-b.test"], tmp_path / "b",
                                          key_type="rsa-3072")
    client_files = issue_peer_certificate(group.dev.ca, OIN_A, "Gemeente A", ["peer-a.test"], tmp_path / "a",
                                          key_type="rsa-3072")
    tls12 = _rules(group, tls={"max_version": "1.2"})
    result, out = _handshake(server_ssl_context(tls12, server_files), client_ssl_context(tls12, client_files),
                             tls12)
    assert out["version"] == "TLSv1.2"
    assert result.error is None, result.error
    assert result.version == "TLSv1.2"
    assert result.cipher is not None and result.cipher.startswith("ECDHE-RSA-")
    assert result.peer_id == OIN_A
    result, _ = _handshake(server_ssl_context(group.rules, server_files),
                           client_ssl_context(group.rules, client_files), group.rules)
    assert result.error is None and result.version == "TLSv1.3" and result.peer_id == OIN_A


def test_unenforceable_tls13_narrowing_is_reported(group: Group, caplog: pytest.LogCaptureFixture) -> None:
    from nds.pki import tls13_suites_not_enforced

    ctx = server_ssl_context(group.rules, group.dev.peers[OIN_B])
    assert tls13_suites_not_enforced(ctx, group.rules) == []
    narrow = _rules(group, tls={"tls13_ciphers": ["TLS_AES_256_GCM_SHA384"]})
    with caplog.at_level("WARNING", logger="nds.pki.tls"):
        ctx = server_ssl_context(narrow, group.dev.peers[OIN_B])
    assert "TLS_AES_128_GCM_SHA256" in tls13_suites_not_enforced(ctx, narrow)
    assert "check_negotiated" in caplog.text
