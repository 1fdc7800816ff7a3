"""Test helpers: a private CA issuing certificates with chosen weaknesses, and real TLS servers
(``openssl s_server``) on loopback addresses, cleaned up even when a test fails."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Issued:
    cert: Path
    key: Path
    chain: Path  # leaf + intermediate-free chain file for servers


class TestCA:
    __test__ = False

    def __init__(self, directory: Path):
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("nds test root"))
            .issuer_name(_name("nds test root"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = directory / "ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self,
        name: str,
        *,
        names: list[str] | None = None,
        rsa_bits: int | None = 2048,
        curve: ec.EllipticCurve | None = None,
        expired: bool = False,
        sig_hash: hashes.HashAlgorithm | None = None,
        label: str | None = None,
        ocsp_url: str | None = None,
    ) -> Issued:
        key = (
            ec.generate_private_key(curve)
            if curve is not None
            else rsa.generate_private_key(65537, rsa_bits or 2048)
        )
        start, end = (
            (NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=1))
            if expired
            else (NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=90))
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in (names or [name])]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        if ocsp_url:
            ocsp_desc = x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
            )
            builder = builder.add_extension(x509.AuthorityInformationAccess([ocsp_desc]), critical=False)
        cert = builder.sign(self.key, sig_hash or hashes.SHA256())
        base = self.dir / (label or name)
        cert_path, key_path = base.with_suffix(".crt"), base.with_suffix(".key")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return Issued(cert_path, key_path, cert_path)


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port}")


@contextlib.contextmanager
def s_server(addr: str, issued: Issued, *args: str) -> Iterator[int]:
    """``openssl s_server -www`` on ``addr``; yields its port; always terminated."""
    port = free_port(addr)
    cmd = [
        "openssl",
        "s_server",
        "-accept",
        f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}",
        "-cert",
        str(issued.cert),
        "-key",
        str(issued.key),
        "-www",
        "-quiet",
        *args,
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_port(addr, port)
        except TimeoutError:
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise RuntimeError(f"s_server did not start: {err.decode(errors='replace')[:500]}") from None
        yield port
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
