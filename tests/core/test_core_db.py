from __future__ import annotations

import sqlalchemy as sa

from nds.db import component_metadata, make_engine


def test_engine_roundtrip_and_sqlite_pragmas(db_url: str) -> None:
    md = component_metadata()
    t = sa.Table(
        "core_probe", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.String(20))
    )
    engine = make_engine(db_url, immediate=True)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert().values(v="één"))
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.c.v)).scalar_one() == "één"
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        else:
            assert engine.dialect.name == "postgresql"
    engine.dispose()
