"""mTLS contexts that enforce the Group's TLS rules.

- trust: only the Group's trust anchors (never the system store);
- versions: ``rules.tls.min_version``..``max_version``;
- TLS 1.2 suites: ``rules.tls.tls12_ciphers`` (set on the context);
- TLS 1.3 suites: Python's :mod:`ssl` cannot restrict them per context. OpenSSL 3's default TLS 1.3
  set equals the NCSC "good" list (our default); a Group that narrows it gets it enforced after the
  handshake by :func:`check_negotiated`, which the Inway (per accepted connection) and the Outway (per
  connection to an Inway) call; the Manager's endpoints do not yet (docs/fsc/dataplane.md);
- CRLs: with ``rules.check_crl`` OpenSSL checks the peer's leaf against the Group CRLs (fail closed).
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from nds.pki.files import cert_pem, load_certificates, load_crl
from nds.pki.model import PeerFiles, PkiError

if TYPE_CHECKING:
    from nds.fsc.grouprules import GroupRules

log = logging.getLogger(__name__)
_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def _paths(cert: str | os.PathLike[str] | PeerFiles, key: str | os.PathLike[str] | None) -> tuple[str, str]:
    if isinstance(cert, PeerFiles):
        return str(cert.chain), str(key if key is not None else cert.key)
    if key is None:
        raise PkiError("a private key path is required")
    return str(cert), str(key)


def trust_anchor_pem(rules: GroupRules) -> str:
    pems: list[str] = []
    for p in rules.trust_anchors:
        pems.extend(cert_pem(c).decode("ascii") for c in load_certificates(p))
    return "".join(pems)


def tls13_suites_not_enforced(ctx: ssl.SSLContext, rules: GroupRules) -> list[str]:
    """TLS 1.3 suites this context would negotiate although the Group rules do not allow them.

    Non-empty only when a Group narrows ``tls13_ciphers`` below OpenSSL's set; then callers must use
    :func:`check_negotiated` after each handshake.
    """
    if rules.tls.max_version != "1.3":
        return []
    offered = [c["name"] for c in ctx.get_ciphers() if c.get("protocol") == "TLSv1.3"]
    return [name for name in offered if name not in rules.tls.tls13_ciphers]


def _configure(ctx: ssl.SSLContext, rules: GroupRules, cert: str, key: str) -> ssl.SSLContext:
    ctx.minimum_version = _VERSIONS[rules.tls.min_version]
    ctx.maximum_version = _VERSIONS[rules.tls.max_version]
    if rules.tls.tls12_ciphers:
        try:
            ctx.set_ciphers(":".join(rules.tls.tls12_ciphers))
        except ssl.SSLError:
            raise PkiError("none of the group's TLS 1.2 cipher suites is supported by OpenSSL") from None
    extra = tls13_suites_not_enforced(ctx, rules)
    if extra:
        log.warning(
            "TLS 1.3 suites %s are not allowed by the group rules but cannot be disabled per context; "
            "they are refused after the handshake (check_negotiated)", ", ".join(extra)
        )
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_TICKET
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise PkiError(f"cannot load certificate {cert} with key {key}: {e}") from None
    ctx.load_verify_locations(cadata=trust_anchor_pem(rules))
    if rules.check_crl:
        _load_crls(ctx, rules)
    return ctx


def _load_crls(ctx: ssl.SSLContext, rules: GroupRules) -> None:
    pem = b"".join(load_crl(p).public_bytes(serialization.Encoding.PEM) for p in rules.crl_paths)
    fd, name = tempfile.mkstemp(prefix="nds-crl-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        ctx.load_verify_locations(cafile=name)
    finally:
        Path(name).unlink(missing_ok=True)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def server_ssl_context(
    rules: GroupRules,
    cert: str | os.PathLike[str] | PeerFiles,
    key: str | os.PathLike[str] | None = None,
    require_client_cert: bool = True,
) -> ssl.SSLContext:
    """A server context: our chain + key, client certificates verified against the Group anchors.

    ``cert`` is a PEM file with our certificate (and its chain), or :class:`PeerFiles`.
    """
    c, k = _paths(cert, key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return _configure(ctx, rules, c, k)


def client_ssl_context(
    rules: GroupRules,
    cert: str | os.PathLike[str] | PeerFiles,
    key: str | os.PathLike[str] | None = None,
    *,
    check_hostname: bool = True,
) -> ssl.SSLContext:
    """A client context presenting our certificate; servers verified against the Group anchors only."""
    c, k = _paths(cert, key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    return _configure(ctx, rules, c, k)


def check_negotiated(ssl_obj: ssl.SSLObject | ssl.SSLSocket, rules: GroupRules) -> None:
    """Raise :class:`PkiError` if the negotiated version/suite is outside the Group rules."""
    version = ssl_obj.version()
    cipher = ssl_obj.cipher()
    if version is None or cipher is None:
        raise PkiError("TLS handshake not completed")
    name = cipher[0]
    if version == "TLSv1.3":
        if name not in rules.tls.tls13_ciphers:
            raise PkiError(f"TLS 1.3 cipher suite {name} is not allowed by the group rules")
    elif version == "TLSv1.2":
        if rules.tls.min_version != "1.2" or name not in rules.tls.tls12_ciphers:
            raise PkiError(f"TLS 1.2 cipher suite {name} is not allowed by the group rules")
    else:
        raise PkiError(f"{version} is not allowed by the group rules")
