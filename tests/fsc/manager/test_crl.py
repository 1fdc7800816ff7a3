"""Group rules with ``check_crl``: a revoked certificate can neither open an mTLS connection to a Manager
nor sign a contract (the signer's certificate is checked against the CRL)."""

from __future__ import annotations

import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mgr_support import CONSUMER, INWAY_ADDRESS, PROVIDER, SERVICE, Harness, assert_fsc_error

from nds.fsc.localgroup import LocalGroup, PeerSpec
from nds.pki import ca_files, issue_peer_certificate, load_certificate, publish_crl

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def crl_group() -> Iterator[tuple[Harness, Path, Path]]:
    state = Path(tempfile.mkdtemp(prefix="nds-mgr-crl-"))
    crl = state / "crl.pem"
    group = LocalGroup(
        state,
        [PeerSpec(PROVIDER), PeerSpec(CONSUMER, extra_config={"extra_jwks_certificates": ["extra/1.pem"]})],
        host_start=200,
        rules_overrides={"check_crl": True, "crl_paths": [crl], "signature_retry_schedule": [1]},
    )
    h = Harness(group, "1.1", "sqlite")
    try:
        crl.write_text("")  # replaced below, once the CA exists
        group.setup()
        ca = ca_files(group.ca_dir)
        consumer = group[CONSUMER]
        revoked_signing = issue_peer_certificate(
            ca, consumer.peer_id, CONSUMER, [], state / "revoked-signing", ip_addresses=[consumer.spec.host]
        )
        revoked_tls = issue_peer_certificate(
            ca, consumer.peer_id, CONSUMER, [], state / "revoked-tls", ip_addresses=[consumer.spec.host]
        )
        (consumer.dir / "extra").mkdir(exist_ok=True)
        (consumer.dir / "extra" / "1.pem").write_bytes(Path(revoked_signing.chain).read_bytes())
        serials = [load_certificate(f.cert).serial_number for f in (revoked_signing, revoked_tls)]
        publish_crl(ca, serials, crl)
        group.start(timeout=60)
        assert h.admin(PROVIDER, "PUT", "/inways/inway-a", {"address": INWAY_ADDRESS}).status_code == 200
        assert (
            h.admin(
                PROVIDER,
                "PUT",
                f"/services/{SERVICE}",
                {"inway": "inway-a", "endpoint_url": "http://127.0.0.1:9/"},
            ).status_code
            == 200
        )
        yield h, Path(revoked_signing.chain), Path(revoked_tls.chain)
    finally:
        h.close()
        group.stop()
        shutil.rmtree(state, ignore_errors=True)


def test_revoked_signing_certificate_is_refused(crl_group: tuple[Harness, Path, Path]) -> None:
    h, signing, _tls = crl_group
    content = h.content(h.sc(CONSUMER))
    ch = h.content_hash(content)
    sig = h.sign(CONSUMER, ch, cert=signing, key=signing.parent / "key.pem")
    r = h.post_contract(CONSUMER, PROVIDER, content, signature=sig)
    assert_fsc_error(r, 422, "ERROR_CODE_SIGNATURE_VERIFICATION_FAILED")
    assert "revoked" in r.json()["message"]
    # The same contract signed with the Consumer's current certificate is accepted.
    assert h.post_contract(CONSUMER, PROVIDER, content).status_code == 201


def test_revoked_client_certificate_cannot_connect(crl_group: tuple[Harness, Path, Path]) -> None:
    h, _signing, tls = crl_group
    ctx = ssl.create_default_context(cafile=str(h.group.ca_dir / "ca.pem"))
    ctx.load_cert_chain(str(tls), str(tls.parent / "key.pem"))
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=ctx, timeout=5) as c:
        c.get(f"{h.p(PROVIDER).address}/v1/peer")
