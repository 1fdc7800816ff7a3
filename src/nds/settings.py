"""Typed settings, each declared once with its help text.

Every setting can be given as an environment variable ``NDS_<NAME>`` (upper case).
Components with settings of their own declare a subclass of :class:`ComponentSettings`
in their own package with their own prefix (``NDS_FSC_...``, ``NDS_STANDARDS_...``);
``docs/settings.md`` lists them all and a test keeps that page complete.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ComponentSettings(BaseSettings):
    """Base for all settings classes: environment variables, no silent extras."""

    model_config = SettingsConfigDict(env_prefix="NDS_", extra="forbid", validate_default=True)


class Settings(ComponentSettings):
    """Platform-wide settings."""

    state_dir: Path = Field(
        default=Path(".nds"),
        description="Directory for the embedded SQLite database, keys and runtime state.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the platform database. Default: SQLite (WAL) at STATE_DIR/nds.db. "
            "PostgreSQL: postgresql+psycopg://user:pass@host:5432/nds."
        ),
    )
    web_host: str = Field(default="127.0.0.1", description="Address the web app binds to.")
    web_port: int = Field(default=8000, ge=1, le=65535, description="Port the web app binds to.")
    demo_mode: bool = Field(
        default=False,
        description=(
            "Enable DigiLab demo features (simulated DigiD login). Only allowed when the web app "
            "binds to a loopback address; a banner shows on every page."
        ),
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'nds.db').resolve()}"


def get_settings() -> Settings:
    return Settings()
