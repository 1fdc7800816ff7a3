"""Reading and writing certificates, keys and CRLs (PEM, DER for CRLs)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from nds.pki.model import PkiError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise PkiError(f"cannot read {what} {path}: {e.strerror or e}") from None


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """All certificates in a PEM file (in file order); at least one, else :class:`PkiError`."""
    data = _read(path, "certificate file")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            raise PkiError(f"{path} holds no PEM or DER certificate") from None
    return certs


def load_certificate(path: str | os.PathLike[str]) -> x509.Certificate:
    """The first certificate of a PEM (or DER) file."""
    return load_certificates(path)[0]


def load_private_key(path: str | os.PathLike[str], password: bytes | None = None) -> PrivateKey:
    """An EC or RSA private key from a PEM file (PKCS#8, SEC1 or PKCS#1)."""
    data = _read(path, "private key file")
    try:
        key: Any = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as e:
        raise PkiError(f"{path} holds no usable PEM private key ({e})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiError(f"{path}: only EC and RSA keys are supported, not {type(key).__name__}")
    return key


def load_crl(path: str | os.PathLike[str]) -> x509.CertificateRevocationList:
    """A CRL from a PEM or DER file."""
    data = _read(path, "CRL file")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise PkiError(f"{path} holds no valid CRL") from None


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_atomic(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Write ``data`` to ``path`` via a temporary file; secret files get mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(tmp, flags, 0o600 if secret else 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
