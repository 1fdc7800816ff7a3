"""Database plumbing shared by all components.

Each component owns its own ``MetaData`` (its own tables, prefixed with the component
name) and its own Alembic migrations in ``<component>/migrations``, tracked in its own
version table ``alembic_version_<component>``. No component reads another's tables.

SQLite is taken seriously: WAL journal, ``synchronous=FULL`` (a commit is on disk when it
returns), foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for writes so that
concurrent writers queue instead of failing on lock upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def component_metadata() -> MetaData:
    """A fresh MetaData with the project's constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, immediate: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL and synchronous=FULL.

    ``immediate=True`` makes every SQLite transaction ``BEGIN IMMEDIATE`` (take the write lock
    up front): use it for an engine that writes, so concurrent writers wait in line instead of
    failing with "database is locked" on lock upgrade. Readers keep plain deferred ``BEGIN``.
    """
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (see _begin_immediate) instead of pysqlite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def migrate(
    url_or_engine: str | Engine, component: str, migrations_dir: Path, revision: str = "head"
) -> None:
    """Upgrade one component's tables with its own Alembic scripts and version table."""
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["version_table"] = f"alembic_version_{component}"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    if isinstance(url_or_engine, str):
        engine.dispose()


def run_migrations_env(target_metadata: MetaData) -> None:
    """Body of every component's ``migrations/env.py`` (online mode, connection given by migrate())."""
    from alembic import context

    cfg = context.config
    conn = cfg.attributes["connection"]
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        version_table=cfg.attributes["version_table"],
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
