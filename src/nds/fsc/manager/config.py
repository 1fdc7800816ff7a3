"""Manager configuration: one TOML file per Manager process.

Relative paths in the file are resolved against the file's own directory, so a state directory
can be moved as a whole. Every field is declared once here, with its help text.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """The configuration file is missing or invalid (message is safe to show)."""


class InwayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Name of the Inway, unique within the Peer.")
    address: str = Field(
        description="Public URL of the Inway with scheme and port, e.g. https://inway.a:443."
    )


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Service name (FSC pattern ^[a-zA-Z0-9-._]{1,100}$).")
    inway: str = Field(description="Name of the Inway offering the Service.")
    endpoint_url: str = Field(description="Where the Inway forwards requests for this Service.")
    protocol: str = Field(default="PROTOCOL_TCP_HTTP_1.1", description="FSC protocol of the Service.")
    regulated_area: str = Field(default="", description="Regulated Area the Service belongs to (if any).")


class ManagerConfig(BaseModel):
    """Settings of one Manager process."""

    model_config = ConfigDict(extra="forbid")

    group_rules: Path = Field(description="Path of the Group rules file (nds.fsc.grouprules).")
    certificate: Path = Field(
        description="PEM file with the Manager's certificate, then its chain (no root)."
    )
    private_key: Path = Field(description="PEM file with the Manager's private key.")
    address: str = Field(description="Public Manager address sent as Fsc-Manager-Address, https://host:port.")
    listen_host: str = Field(default="127.0.0.1", description="Address the FSC Manager API binds to.")
    listen_port: int = Field(default=8443, ge=1, le=65535, description="Port of the FSC Manager API.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default SQLite at STATE_DIR/manager.db."
    )
    txlog_database_url: str = Field(
        default="",
        description="TransactionLog URL served at GET /logs; default SQLite at STATE_DIR/txlog.db.",
    )
    state_dir: Path = Field(default=Path("."), description="Directory for the database and admin token.")
    directory: bool = Field(default=False, description="Act as the Group's Directory.")
    directory_address: str = Field(
        default="",
        description="Manager address of the Directory to announce to (default: from the Group rules).",
    )
    auto_sign_publications: bool = Field(
        default=True,
        description="As Directory: accept valid (Delegated)ServicePublication contracts automatically.",
    )
    membership_administrator: bool = Field(
        default=False,
        description="Act as Membership Administrator of the regulated areas below (fsc-regulated-area).",
    )
    regulated_areas: list[str] = Field(
        default_factory=list,
        description="Names of the regulated areas this Manager administers or takes part in.",
    )
    auto_sign_registrations: bool = Field(
        default=True,
        description="As Membership Administrator: accept PeerRegistration contracts automatically.",
    )
    membership_administrator_address: str = Field(
        default="", description="Manager address of the Membership Administrator used to check members."
    )
    membership_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a membership answer of the Membership Administrator is reused.",
    )
    extra_jwks_certificates: list[Path] = Field(
        default_factory=list,
        description="Further certificate chains published in the JWKS (the previous one during renewal).",
    )
    admin_host: str = Field(
        default="127.0.0.1", description="Bind address of the admin API (loopback by default)."
    )
    admin_port: int = Field(default=0, ge=0, le=65535, description="Port of the admin API; 0 disables it.")
    admin_token_file: Path = Field(
        default=Path("admin-token"),
        description="File with the bearer token of the admin API (created if absent).",
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="Largest request body accepted.")
    max_grants: int = Field(default=100, description="Most grants accepted in one contract.")
    max_json_depth: int = Field(default=32, description="Deepest JSON nesting accepted in a request body.")
    inways: list[InwayConfig] = Field(
        default_factory=list, description="Inways of this Peer (also via admin API)."
    )
    services: list[ServiceConfig] = Field(default_factory=list, description="Services of this Peer.")

    @field_validator("address", "directory_address", "membership_administrator_address")
    @classmethod
    def _https(cls, v: str) -> str:
        if v and not v.startswith("https://"):
            raise ValueError("must be an https:// URL")
        return v.rstrip("/")

    @field_validator("admin_host")
    @classmethod
    def _admin_loopback(cls, v: str) -> str:
        try:
            if not ipaddress.ip_address(v).is_loopback:
                raise ValueError("the admin API binds to a loopback address only")
        except ValueError as exc:
            if v != "localhost":
                raise ValueError(f"admin_host must be a loopback address: {exc}") from None
        return v

    @model_validator(mode="after")
    def _admin_port(self) -> ManagerConfig:
        if self.admin_port and (self.admin_port in (443, 8443) or self.admin_port == self.listen_port):
            raise ValueError("admin_port must differ from the FSC ports (443, 8443) and from listen_port")
        return self

    def resolved_txlog_url(self) -> str:
        return self.txlog_database_url or f"sqlite:///{(self.state_dir / 'txlog.db').resolve()}"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.state_dir / 'manager.db').resolve()}"


_PATH_FIELDS = ("group_rules", "certificate", "private_key", "state_dir", "admin_token_file")


def load_config(path: Path | str) -> ManagerConfig:
    """Read and validate a Manager TOML file; raise :class:`ConfigError` with a readable message."""
    p = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {p}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {p} is not valid TOML: {exc}") from None
    data = raw.get("manager", raw)
    try:
        cfg = ManagerConfig.model_validate(data)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration {p}: {msgs}") from None
    base = p.parent.resolve()
    updates: dict[str, Any] = {}
    for name in _PATH_FIELDS:
        value: Path = getattr(cfg, name)
        if not value.is_absolute():
            updates[name] = (base / value).resolve() if name != "admin_token_file" else value
    updates["extra_jwks_certificates"] = [
        c if c.is_absolute() else (base / c).resolve() for c in cfg.extra_jwks_certificates
    ]
    cfg = cfg.model_copy(update=updates)
    if not cfg.admin_token_file.is_absolute():
        cfg = cfg.model_copy(update={"admin_token_file": cfg.state_dir / cfg.admin_token_file})
    return cfg
