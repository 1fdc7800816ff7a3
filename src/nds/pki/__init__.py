"""Group PKI: CA, Peer certificates (OIN in subject serialNumber), CRLs, thumbprints, validation, mTLS.

Public API (stable; other components code against it):

- :func:`create_group_ca`, :func:`ca_files`, :func:`issue_peer_certificate`, :func:`renew_certificate`,
  :func:`rotate_key`, :func:`publish_crl`, :func:`generate_key`
- :func:`create_csr` (Peer side: own key + CSR), :func:`sign_csr` (CA side)
- :func:`load_certificate`, :func:`load_certificates`, :func:`load_private_key`, :func:`load_crl`
- :func:`peer_identity`, :func:`cert_thumbprint_s256`, :func:`public_key_thumbprint`,
  :func:`peer_certificate_from_ssl_object`
- :func:`validate_certificate` (raises :class:`CertificateInvalid`)
- :func:`create_dev_group`: CA + group rules + Peer certificates in one call (tests, demo)
- :func:`server_ssl_context`, :func:`client_ssl_context`, :func:`check_negotiated`
"""

from __future__ import annotations

from nds.pki.csr import create_csr, load_csr, sign_csr
from nds.pki.devgroup import DevGroup, PeerSpec, create_dev_group
from nds.pki.files import (
    PrivateKey,
    PublicKey,
    cert_pem,
    key_pem,
    load_certificate,
    load_certificates,
    load_crl,
    load_private_key,
)
from nds.pki.identity import (
    b64url,
    cert_thumbprint_s256,
    peer_certificate_from_ssl_object,
    peer_identity,
    public_key_thumbprint,
)
from nds.pki.issue import (
    ca_files,
    create_group_ca,
    generate_key,
    issue_peer_certificate,
    key_type_of,
    publish_crl,
    renew_certificate,
    rotate_key,
)
from nds.pki.model import (
    KEY_TYPES,
    CaFiles,
    CertificateInvalid,
    KeyType,
    PeerFiles,
    PeerIdentity,
    PeerIdentityError,
    PkiError,
)
from nds.pki.tls import check_negotiated, client_ssl_context, server_ssl_context, tls13_suites_not_enforced
from nds.pki.validate import validate_certificate

__all__ = [
    "KEY_TYPES",
    "CaFiles",
    "CertificateInvalid",
    "DevGroup",
    "KeyType",
    "PeerFiles",
    "PeerIdentity",
    "PeerIdentityError",
    "PeerSpec",
    "PkiError",
    "PrivateKey",
    "PublicKey",
    "b64url",
    "ca_files",
    "cert_pem",
    "cert_thumbprint_s256",
    "check_negotiated",
    "client_ssl_context",
    "create_csr",
    "create_dev_group",
    "create_group_ca",
    "generate_key",
    "issue_peer_certificate",
    "key_pem",
    "key_type_of",
    "load_certificate",
    "load_certificates",
    "load_crl",
    "load_csr",
    "load_private_key",
    "peer_certificate_from_ssl_object",
    "peer_identity",
    "public_key_thumbprint",
    "publish_crl",
    "renew_certificate",
    "rotate_key",
    "server_ssl_context",
    "sign_csr",
    "tls13_suites_not_enforced",
    "validate_certificate",
]
