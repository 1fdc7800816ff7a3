"""Outway configuration (a TOML file; relative paths are relative to the file).

Example::

    group_rules = "../group.toml"
    certificate = "certs/outway/chain.pem"    # the certificate whose public key the grants pin
    key = "certs/outway/key.pem"
    listen = "127.0.0.1:8080"                 # where the organisation's own clients connect
    txlog_url = "sqlite:///txlog.db"
    workers = 2

    [client_tls]                              # optional: clients must use TLS with a certificate
    certificate = "certs/outway-local/cert.pem"
    key = "certs/outway-local/key.pem"
    client_ca = "certs/local-clients-ca.pem"

    manager_address = "https://127.0.1.2:8443"  # optional: own Manager; grants are learned from it

    [grants."$1$3$..."]                       # optional: grants pinned in the config
    manager_address = "https://127.0.1.3:8443" # the providing peer's Manager (token endpoint)
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nds.fsc.inway.common import load_toml_model
from nds.fsc.inway.config import check_listen


class ClientTls(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: Path = Field(description="PEM chain the Outway presents to its own clients.")
    key: Path = Field(description="PEM private key of that certificate.")
    client_ca: Path | None = Field(
        None, description="PEM CA(s) that sign the certificates of allowed clients."
    )
    require_client_cert: bool = Field(
        True, description="Refuse clients without a certificate from client_ca."
    )


class GrantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    manager_address: str = Field(description="Manager of the providing peer, https://host:port.")
    service_name: str | None = Field(None, description="For display only: the service of the grant.")

    @field_validator("manager_address")
    @classmethod
    def _addr(cls, v: str) -> str:
        if not v.startswith("https://"):
            raise ValueError("manager_address must be an https:// URL")
        return v.rstrip("/")


class OutwayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group_rules: Path = Field(description="The Group rules TOML file.")
    certificate: Path = Field(description="PEM chain of the Outway certificate (leaf first).")
    key: Path = Field(description="PEM private key of the Outway certificate.")
    listen: str = Field("127.0.0.1:8080", description="host:port for the organisation's own clients.")
    client_tls: ClientTls | None = Field(None, description="Serve clients over TLS (optionally mTLS).")
    txlog_url: str = Field(description="SQLAlchemy URL of this peer's TransactionLog database.")
    txlog_window_ms: float = Field(0.0, ge=0, le=50, description="Extra group-commit wait per batch.")
    workers: int = Field(1, ge=1, le=64, description="Worker processes sharing the port (SO_REUSEPORT).")
    health_listen: str | None = Field(None, description="Optional loopback host:port serving GET /healthz.")
    grants: dict[str, GrantConfig] = Field(default_factory=dict, description="Usable grants by grant hash.")
    grants_file: Path | None = Field(
        None,
        description="Optional JSON file {grant_hash: {manager_address, service_name}}, re-read on change.",
    )
    manager_address: str | None = Field(
        None,
        description="This organisation's own Manager, https://host:port: the Outway learns the valid "
        "grants pinned to its key from GET /v1/internal/outway/grants there, in the background.",
    )
    manager_refresh_seconds: float = Field(
        5.0, ge=0.5, le=300, description="How often the grants are fetched from the own Manager."
    )
    manager_miss_interval_seconds: float = Field(
        1.0,
        ge=0.1,
        le=60,
        description="An unknown Fsc-Grant-Hash triggers an immediate fetch from the own Manager, at most "
        "once per this many seconds (clients spraying unknown hashes cannot flood the Manager).",
    )
    token_refresh_seconds: int = Field(
        15, ge=0, le=600, description="Fetch a new token this many seconds before the cached one expires."
    )
    inway_timeout_seconds: float = Field(
        60.0, gt=0, description="Total time allowed for the Inway to answer."
    )

    @field_validator("manager_address")
    @classmethod
    def _manager(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not v.startswith("https://"):
            raise ValueError("manager_address must be an https:// URL")
        return v.rstrip("/")

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return check_listen(v, 8080)


def load_outway_config(path: str | os.PathLike[str]) -> OutwayConfig:
    cfg: OutwayConfig = load_toml_model(
        path, OutwayConfig, ("group_rules", "certificate", "key", "grants_file")
    )
    if cfg.client_tls is not None:
        base = Path(path).resolve().parent
        ct = cfg.client_tls
        fixed = ClientTls(
            certificate=ct.certificate if ct.certificate.is_absolute() else base / ct.certificate,
            key=ct.key if ct.key.is_absolute() else base / ct.key,
            client_ca=None
            if ct.client_ca is None
            else (ct.client_ca if ct.client_ca.is_absolute() else base / ct.client_ca),
            require_client_cert=ct.require_client_cert,
        )
        cfg = cfg.model_copy(update={"client_tls": fixed})
    return cfg
