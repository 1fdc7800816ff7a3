"""The Alembic migration creates exactly the tables the store declares (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nds.db import make_engine, migrate
from nds.standards.store import MIGRATIONS, metadata, open_store


@pytest.mark.integration
def test_migration_matches_metadata(db_url: str) -> None:
    migrate(db_url, "standards", MIGRATIONS)
    migrate(db_url, "standards", MIGRATIONS)  # idempotent
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    relevant = [d for d in diff if "standards_" in repr(d)]
    assert relevant == []
    engine.dispose()
    open_store(db_url).dispose()
