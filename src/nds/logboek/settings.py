"""Settings of one organisation's logboek."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nds.settings import ComponentSettings


class LogboekSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="NDS_LOGBOEK_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///.nds/logboek.db",
        description="SQLAlchemy URL of this organisation's logboek (SQLite WAL or PostgreSQL).",
    )
    name: str = Field(default="logboek", description="Name of this logboek in checkpoints and tombstones.")
    keyring: Path = Field(
        default=Path(".nds/keys/pseudonyms.json"),
        description="Key file for data-subject pseudonyms (HMAC keys). Keep it outside the database; 0600.",
    )
    signing_key: Path | None = Field(
        default=None,
        description="PEM private key the organisation signs checkpoints and purge tombstones with.",
    )
    register_base_uri: str = Field(
        default="https://register.example/organisatie",
        description="Base URI of this organisation's register of processing activities.",
    )
