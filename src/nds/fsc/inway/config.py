"""Inway configuration (a TOML file; relative paths are relative to the file).

Example::

    group_rules = "../group.toml"
    certificate = "certs/inway/chain.pem"     # leaf + chain, signed by the Group's trust anchor
    key = "certs/inway/key.pem"
    listen = "127.0.1.3:443"                   # FSC: port 443 (or 8443)
    address = "https://127.0.1.3:443"          # this Inway's address as Managers put it in ``aud``
    token_signing_certificates = ["certs/manager/cert.pem"]  # own Manager's signing certificate(s)
    txlog_url = "sqlite:///txlog.db"
    workers = 2
    health_listen = "127.0.0.1:9443"           # optional plain-HTTP /healthz on loopback

    [services.basisregistratie]
    endpoint = "http://127.0.0.1:9001"         # where the Inway forwards, path appended unaltered
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nds.fsc.inway.common import load_toml_model, split_hostport

SERVICE_NAME_PATTERN = r"^[a-zA-Z0-9._-]{3,255}$"  # fsc-core manager.yaml: 3..255 characters


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(
        description="Base URL of the service (http or https); the request path is appended."
    )
    timeout_seconds: float = Field(60.0, gt=0, description="Total time allowed for the service to answer.")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError("endpoint must be an http:// or https:// URL")
        return v.rstrip("/")


def check_listen(v: str, default_port: int) -> str:
    host, port = split_hostport(v, default_port)
    if not 0 < port < 65536:
        raise ValueError("port out of range")
    if host not in ("localhost", "") and not host.replace(".", "").isalnum():
        try:
            ipaddress.ip_address(host)
        except ValueError as exc:
            raise ValueError(f"listen host {host!r} must be an IP address or 'localhost'") from exc
    return v


class InwayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group_rules: Path = Field(description="The Group rules TOML file.")
    certificate: Path = Field(description="PEM chain of this Inway's certificate (leaf first).")
    key: Path = Field(description="PEM private key of the certificate.")
    listen: str = Field("127.0.0.1:443", description="host:port to accept Outway connections on.")
    address: str = Field(description="This Inway's URL (scheme, host, port) as used in token 'aud'.")
    token_signing_certificates: list[Path] = Field(
        min_length=1, description="Certificates whose keys sign access tokens: the own Manager's."
    )
    txlog_url: str = Field(description="SQLAlchemy URL of this peer's TransactionLog database.")
    txlog_window_ms: float = Field(0.0, ge=0, le=50, description="Extra group-commit wait per batch.")
    workers: int = Field(1, ge=1, le=64, description="Worker processes sharing the port (SO_REUSEPORT).")
    health_listen: str | None = Field(None, description="Optional loopback host:port serving GET /healthz.")
    services: dict[str, ServiceConfig] = Field(default_factory=dict, description="Services by name.")

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return check_listen(v, 443)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not v.startswith("https://"):
            raise ValueError("an Inway address must be an https:// URL with a port")
        return v

    @field_validator("services")
    @classmethod
    def _names(cls, v: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        import re

        for name in v:
            if not re.fullmatch(SERVICE_NAME_PATTERN, name):
                raise ValueError(f"invalid service name {name!r}")
        return v


def load_inway_config(path: str | os.PathLike[str]) -> InwayConfig:
    cfg: InwayConfig = load_toml_model(
        path, InwayConfig, ("group_rules", "certificate", "key", "token_signing_certificates")
    )
    return cfg
