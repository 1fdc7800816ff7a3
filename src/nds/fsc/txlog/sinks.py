"""Where the group commit writes: SQLite (one long-lived ``sqlite3`` connection) or any other
database through its DBAPI driver (PostgreSQL).

SQLite: up to :data:`CHUNK_ROWS` records are written with **one** multi-row ``INSERT`` in autocommit
mode: one ``sqlite3_step`` begins, inserts, commits and fsyncs. The ``sqlite3`` module releases the
GIL twice per statement (step and reset); ``executemany`` inside ``BEGIN``/``COMMIT`` did so twice
per row plus four times. The statements (one per row count) stay prepared in the connection's
statement cache; the connection lives as long as the log (reopened after an error). Records are
committed with ``indexed = 0`` and indexed later by :meth:`SqliteSink.index` (migration
fsc_txlog_0003), so that a commit changes one B-tree page instead of four.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from typing import Any

CHUNK_ROWS = 64  # rows per multi-row INSERT (9 columns: 576 parameters, below SQLite's oldest limit of 999)
# The statement cache must hold one INSERT per row count 1..CHUNK_ROWS plus BEGIN/COMMIT/ROLLBACK.
SQLITE_CACHED_STATEMENTS = 2 * CHUNK_ROWS + 16
INDEX_STATE_TABLE = "fsc_txlog_index_state"

Row = tuple[Any, ...]


class SqliteSink:
    """Writes batches on one long-lived ``sqlite3`` connection (autocommit, WAL, synchronous=FULL)."""

    deferred_indexing = True

    def __init__(self, connect: Callable[[], Any], table: str, columns: tuple[str, ...]) -> None:
        # ``connect`` returns a pool-proxied connection whose driver connection has the log's pragmas
        # and autocommit (``isolation_level=None``); we call the ``sqlite3`` connection directly.
        self._connect = connect
        self._proxy: Any = None
        self._conn: Any = None
        # ``indexed = 0``: the commit changes only the table's leaf page; the partial secondary
        # indexes take the record later, in :meth:`index` (migration fsc_txlog_0003).
        self._head = f"INSERT INTO {table} ({', '.join(columns)}, indexed) VALUES "  # noqa: S608 - constants
        self._one = "(" + ", ".join("?" for _ in columns) + ", 0)"
        self._sql: dict[int, str] = {}
        self._table = table

    def _insert_sql(self, n: int) -> str:
        sql = self._sql.get(n)
        if sql is None:
            sql = self._sql[n] = self._head + ", ".join(itertools.repeat(self._one, n))
        return sql

    def write(self, rows: list[Row]) -> None:
        conn = self._conn
        if conn is None:
            self._proxy = self._connect()
            conn = self._conn = self._proxy.driver_connection
        n = len(rows)
        if n <= CHUNK_ROWS:
            # Autocommit: one statement is one transaction, committed and fsynced inside this call.
            conn.execute(self._insert_sql(n), list(itertools.chain.from_iterable(rows)))
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, n, CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS]
                conn.execute(self._insert_sql(len(part)), list(itertools.chain.from_iterable(part)))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise

    def index(self, limit: int) -> int:
        """Put up to ``limit`` not yet indexed records into the secondary indexes, oldest first, in
        one transaction, and move ``indexed_through`` past them. Returns how many are left."""
        conn = self._conn
        if conn is None:
            self._proxy = self._connect()
            conn = self._conn = self._proxy.driver_connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(f"SELECT indexed_through FROM {INDEX_STATE_TABLE} WHERE id = 1").fetchone()  # noqa: S608
            through = row[0] if row is not None else 0
            top = conn.execute(f"SELECT max(id) FROM {self._table}").fetchone()[0] or 0  # noqa: S608
            upto = min(top, through + limit)
            if upto > through:
                conn.execute(
                    f"UPDATE {self._table} SET indexed = 1 WHERE id > ? AND id <= ? AND indexed = 0",  # noqa: S608
                    (through, upto),
                )
                conn.execute(
                    f"INSERT INTO {INDEX_STATE_TABLE} (id, indexed_through) VALUES (1, ?) "  # noqa: S608
                    "ON CONFLICT (id) DO UPDATE SET indexed_through = excluded.indexed_through",
                    (upto,),
                )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
        return top - upto

    def reset(self) -> None:
        """After an error: drop the connection (a fresh one is opened for the next batch)."""
        proxy, self._proxy, self._conn = self._proxy, None, None
        if proxy is not None:
            with contextlib.suppress(Exception):
                proxy.invalidate()

    def close(self) -> None:
        proxy, self._proxy, self._conn = self._proxy, None, None
        if proxy is not None:
            with contextlib.suppress(Exception):
                proxy.close()


class DbapiSink:
    """Any other database (PostgreSQL): ``executemany`` + ``commit`` on one pooled DBAPI connection.
    Records are indexed in their own commit (``indexed`` keeps its default, 1)."""

    deferred_indexing = False

    def __init__(self, connect: Callable[[], Any], insert_sql: str) -> None:
        self._connect = connect  # returns a pool-proxied DBAPI connection (has .invalidate())
        self._conn: Any = None
        self._sql = insert_sql

    def index(self, limit: int) -> int:  # pragma: no cover - never called: nothing is deferred
        return 0

    def write(self, rows: list[Row]) -> None:
        if self._conn is None:
            self._conn = self._connect()
        cur = self._conn.cursor()
        try:
            cur.executemany(self._sql, rows)
            self._conn.commit()
        finally:
            cur.close()

    def reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.invalidate()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
