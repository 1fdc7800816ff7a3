"""The Group's TLS 1.3 cipher suites on the data plane.

Python's ``ssl`` cannot narrow the TLS 1.3 suites of a context, so a Group that allows fewer than
OpenSSL offers is enforced after the handshake (``nds.pki.check_negotiated``): the Inway refuses such
a connection before reading a request, the Outway refuses such an Inway before sending one. Real TLS on
loopback; the Inway as its own process.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest
from fscdp_harness import MiniGroup, read_records

from nds.fsc.grouprules import GroupRules, TlsRules, load_group_rules
from nds.fsc.http1 import Http1Server, Request, UpstreamError, UpstreamPool
from nds.pki import check_negotiated, client_ssl_context, server_ssl_context

pytestmark = pytest.mark.integration

# OpenSSL's server preference puts TLS_AES_256_GCM_SHA384 first; a Group allowing only ChaCha20 makes
# every default TLS 1.3 handshake land on a suite the Group does not allow.
ONLY_CHACHA = TlsRules(tls13_ciphers=["TLS_CHACHA20_POLY1305_SHA256"])


def test_inway_refuses_a_tls13_suite_the_group_does_not_allow(tmp_path: Path) -> None:
    g = MiniGroup(tmp_path, tls=ONLY_CHACHA)
    try:
        service_url, record, _ = g.start_service("basisregister")
        inway, proc, _ = g.start_inway({"basisregister": service_url})
        headers = {
            "Fsc-Authorization": g.mint(),
            "Fsc-Transaction-Id": "019310c4-5b2a-7c3e-8f00-000000000001",
        }
        with g.client(g.consumer) as client, pytest.raises(httpx.TransportError):
            client.get(inway + "/persons", headers=headers)
        log = proc.log.read_text(errors="replace")
        assert "refused: TLS 1.3 cipher suite TLS_AES_256_GCM_SHA384 is not allowed" in log, log
        assert not record.exists() or read_records(record) == []  # the service was never called

        # The same client, limited to TLS 1.2 (allowed by the Group, with an allowed suite): served.
        ctx = g.client_ctx(g.consumer)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with httpx.Client(verify=ctx, timeout=10) as client:
            r = client.get(inway + "/persons", headers=headers)
        assert r.status_code == 200, r.text
        assert len(read_records(record)) == 1
    finally:
        g.procs.stop_all()


def test_upstream_pool_refuses_a_tls_connection_the_group_does_not_allow(tmp_path: Path) -> None:
    """What the Outway does towards an Inway: the pool checks every new TLS connection."""
    g = MiniGroup(tmp_path)
    rules = load_group_rules(g.rules_path)
    narrowed = GroupRules.model_validate({**rules.model_dump(), "tls": ONLY_CHACHA})
    host = g.provider.host

    async def answer(req: Request) -> None:
        req.respond(200, b"", b"ok\n", content_type=b"text/plain")

    async def main() -> tuple[str, int]:
        server = Http1Server(answer)
        srv = await server.listen(
            host, 0, ssl_context=server_ssl_context(rules, g.provider.chain, g.provider.key)
        )
        port = srv.sockets[0].getsockname()[1]
        ctx = client_ssl_context(rules, g.consumer.chain, g.consumer.key)
        head = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        try:
            strict = UpstreamPool(ctx, tls_check=lambda tls: check_negotiated(tls, narrowed))
            with pytest.raises(UpstreamError) as refused:
                await strict.request(host, port, head, b"", tls=True, server_hostname=host, timeout=5)
            await strict.close()
            fitting = UpstreamPool(ctx, tls_check=lambda tls: check_negotiated(tls, rules))
            resp = await fitting.request(host, port, head, b"", tls=True, server_hostname=host, timeout=5)
            await fitting.close()
            return str(refused.value), resp.status
        finally:
            await server.close()

    message, status = asyncio.run(main())
    assert "refused" in message and "TLS_AES_256_GCM_SHA384" in message, message
    assert status == 200
