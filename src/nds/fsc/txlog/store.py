"""The per-peer TransactionLog store: durable group commit and the ``GET /logs`` query.

Durability: :meth:`TransactionLog.append_durable` returns only after the records are committed and
fsynced (SQLite in WAL mode with ``synchronous=FULL`` fsyncs the WAL on every commit; PostgreSQL
with its default ``fsync=on``/``synchronous_commit=on`` flushes the WAL before COMMIT returns).

Group commit: one writer per process. Requests that arrive while a commit is in flight queue up
and are written together in the next transaction, so N concurrent requests cost one fsync instead
of N. The default window is zero: a batch is exactly what accumulated during the previous commit
(no added delay when idle; under load the batch grows by itself). ``window_ms`` adds an optional
wait before each batch to trade latency for fewer fsyncs. A failed batch fails every request in
it (each gets TRANSACTION_LOG_WRITE_ERROR); the next batch tries again.

Every process (Inway/Outway worker, Manager) may open the same database; SQLite writers of all
processes serialise on a ``flock`` of ``<db>.writelock`` (see :mod:`nds.fsc.txlog.writer`),
PostgreSQL needs nothing special.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nds.db import component_metadata, is_sqlite, make_engine, migrate
from nds.fsc.txlog.model import Direction, LogRecord
from nds.fsc.txlog.writer import (
    SQLITE_CACHED_STATEMENTS,
    DbapiSink,
    GroupCommitWriter,
    SqliteSink,
    TransactionLogWriteError,
)

__all__ = [
    "LogPage",
    "QueryError",
    "TransactionLog",
    "TransactionLogWriteError",
    "index_state_table",
    "records_table",
]

metadata = component_metadata()
_ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias

records_table = sa.Table(
    "fsc_txlog_records",
    metadata,
    sa.Column("id", _ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("direction", sa.String(24), nullable=False),
    sa.Column("grant_hash", sa.String(1024), nullable=False),
    sa.Column("outway_peer_id", sa.String(64), nullable=False),
    sa.Column("source_delegator_peer_id", sa.String(64), nullable=True),
    sa.Column("service_peer_id", sa.String(64), nullable=False),
    sa.Column("destination_delegator_peer_id", sa.String(64), nullable=True),
    sa.Column("service_name", sa.String(255), nullable=False),
    sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    # 0 from the durable commit until the writer indexes the record (SQLite); 1 at once elsewhere.
    sa.Column("indexed", sa.SmallInteger(), nullable=False, server_default="1"),
)
# Indexes match the GET /logs queries (migration fsc_txlog_0002): every query is restricted to the
# caller, so it is driven by the per-party indexes (or transaction_id); the other filters are residual.
# Delegators are rare: partial indexes cost nothing for records without one. All are partial on
# ``indexed = 1`` (migration fsc_txlog_0003): a record enters them after its commit, not in it. On
# PostgreSQL the four party indexes are ``(column, id)`` (migration fsc_txlog_0004; an SQLite index
# ends in the row ID anyway), so that a page of GET /logs walks each of them in ID order.
_INDEXED = records_table.c.indexed == 1
for _col in ("transaction_id", "outway_peer_id", "service_peer_id"):
    _c = records_table.c[_col]
    sa.Index(f"ix_fsc_txlog_records_{_col}", _c, sqlite_where=_INDEXED, postgresql_where=_INDEXED)
for _col in ("source_delegator_peer_id", "destination_delegator_peer_id"):
    _c = records_table.c[_col]
    _w = sa.and_(_c.isnot(None), _INDEXED)
    sa.Index(f"ix_fsc_txlog_records_{_col}", _c, sqlite_where=_w, postgresql_where=_w)
index_state_table = sa.Table(
    "fsc_txlog_index_state",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    # every record with an ID up to this one is indexed; newer ones may not be yet
    sa.Column("indexed_through", sa.BigInteger(), nullable=False),
)
_PARTIES = ("outway_peer_id", "service_peer_id", "source_delegator_peer_id", "destination_delegator_peer_id")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
MAX_TRANSACTION_IDS = 1000
SORT_ASCENDING = "SORT_ORDER_ASCENDING"
SORT_DESCENDING = "SORT_ORDER_DESCENDING"


class QueryError(ValueError):
    """Invalid query parameters (bad cursor, limit out of range, ...)."""


@dataclass(frozen=True)
class LogPage:
    records: list[LogRecord]
    next_cursor: str  # "" when there are no more results (as fsc-logging's paginationResult says)

    def to_api(self) -> dict[str, Any]:
        return {
            "records": [r.to_api() for r in self.records],
            "pagination": {"next_cursor": self.next_cursor},
        }


def _encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{row_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _, num = raw.partition(":")
        if prefix != "v1" or not num.isdigit():
            raise ValueError(cursor)
        return int(num)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise QueryError("invalid cursor") from exc


_COLUMNS = (
    "transaction_id",
    "direction",
    "grant_hash",
    "outway_peer_id",
    "source_delegator_peer_id",
    "service_peer_id",
    "destination_delegator_peer_id",
    "service_name",
    "created_at_us",
)


def _row_tuple(r: LogRecord) -> tuple[Any, ...]:
    return (
        r.transaction_id,
        str(r.direction),
        r.grant_hash,
        r.outway_peer_id,
        r.source_delegator_peer_id,
        r.service_peer_id,
        r.destination_delegator_peer_id,
        r.service_name,
        r.created_at_us,
    )


def _insert_sql(paramstyle: str) -> str:
    marks = ", ".join("?" if paramstyle == "qmark" else "%s" for _ in _COLUMNS)
    return f"INSERT INTO fsc_txlog_records ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constants


def _from_row(row: Any) -> LogRecord:
    return LogRecord(
        transaction_id=row.transaction_id,
        direction=Direction(row.direction),
        grant_hash=row.grant_hash,
        outway_peer_id=row.outway_peer_id,
        service_peer_id=row.service_peer_id,
        service_name=row.service_name,
        source_delegator_peer_id=row.source_delegator_peer_id,
        destination_delegator_peer_id=row.destination_delegator_peer_id,
        created_at_us=row.created_at_us,
    )


class TransactionLog:
    """One peer's TransactionLog.

    Interface used by the Inway, the Outway and the Manager's ``GET /logs``:

    - ``await append_durable(records)``: returns once committed and fsynced, or raises
      :class:`TransactionLogWriteError`;
    - ``await query(caller_peer_id, ...)`` / ``query_sync(...)``: a :class:`LogPage` of the records
      that involve the caller (source, destination or either delegator), with fsc-logging filters.
    """

    def __init__(
        self, url: str, *, window_ms: float = 0.0, max_batch: int = 2048, create: bool = True
    ) -> None:
        self.url = url
        self._sqlite = is_sqlite(url)
        connect_args = {"cached_statements": SQLITE_CACHED_STATEMENTS} if self._sqlite else {}
        self._engine: Engine = make_engine(url, immediate=True, connect_args=connect_args)
        # Queries get their own engine with deferred BEGIN: a reader must not take the write lock.
        self._read_engine: Engine = make_engine(url) if self._sqlite else self._engine
        if create:
            migrate(self._engine, "fsc_txlog", MIGRATIONS_DIR)
        lock_path: str | None = None
        sink: SqliteSink | DbapiSink
        if self._sqlite:
            sink = SqliteSink(self._engine.raw_connection, records_table.name, _COLUMNS)
            db = url.split("///", 1)[-1]
            if db and db != ":memory:":
                lock_path = db + ".writelock"
        else:
            sink = DbapiSink(self._engine.raw_connection, _insert_sql(self._engine.dialect.paramstyle))
        self._writer = GroupCommitWriter(
            sink,
            window_ms=window_ms,
            max_batch=max_batch,
            lock_path=lock_path,
        )
        # Reads get their own threads (the Manager's GET /logs).
        self._read_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="txlog-reader")

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def window_ms(self) -> float:
        return self._writer.window_ms

    @property
    def batches_written(self) -> int:
        """Commits so far by this object (for tests and the benchmarks)."""
        return self._writer.batches_written

    @property
    def records_written(self) -> int:
        return self._writer.records_written

    # -- writing ---------------------------------------------------------------------------

    def append_sync(self, records: Iterable[LogRecord]) -> None:
        """Write records in one transaction (committed and fsynced when this returns)."""
        rows = [_row_tuple(r) for r in records]
        if rows:
            self._writer.write_sync(rows)

    async def append_durable(self, records: Sequence[LogRecord], *, alone: bool = False) -> None:
        """Queue ``records`` for the next group commit and wait until they are on disk.

        All records of one call are committed in the same transaction. If that commit fails, every
        request in the batch gets :class:`TransactionLogWriteError`; the next batch tries again.

        ``alone``: the caller has no other request in progress in this process. Then, if the writer
        is idle, the records are committed right here, on the event loop, which saves the hand-off
        to the writer thread and back (the unloaded latency; docs/fsc/dataplane.md). SQLite only: a
        local commit blocks the loop for a fraction of a millisecond, a database server's round trip
        for as long as the network and the server take.
        """
        if records:
            rows = [_row_tuple(r) for r in records]
            if alone and self._sqlite and self._writer.try_write_inline(rows):
                return
            await self._writer.submit(rows)

    def index_pending(self) -> None:
        """Put every record that waits for the secondary indexes into them now (SQLite; the writer
        does this by itself when idle). For maintenance and tests; queries never need it."""
        self._writer.index_pending()

    # -- reading ---------------------------------------------------------------------------

    def query_sync(
        self,
        caller_peer_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        grant_hash: Sequence[str] = (),
        service_name: Sequence[str] = (),
        transaction_ids: Sequence[str] = (),
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        sort_order: str = SORT_ASCENDING,
    ) -> LogPage:
        """Records involving ``caller_peer_id``, filtered as in fsc-logging's ``GET /logs``.

        ``after``/``before`` are Unix seconds compared with the record's ``created_at`` (whole
        seconds, exclusive bounds). ``transaction_ids`` overrides the other filters and pagination
        (as the spec says), but never the restriction to the caller.
        """
        t = records_table
        if sort_order not in (SORT_ASCENDING, SORT_DESCENDING):
            raise QueryError(f"sort_order must be {SORT_ASCENDING} or {SORT_DESCENDING}")
        descending = sort_order == SORT_DESCENDING
        conds: list[Any] = []
        page: int | None = limit
        if transaction_ids:
            if len(transaction_ids) > MAX_TRANSACTION_IDS:
                raise QueryError(f"at most {MAX_TRANSACTION_IDS} transaction_ids")
            conds.append(t.c.transaction_id.in_(list(transaction_ids)))
            page = None  # the spec: transaction_ids overrides pagination
        else:
            if not 1 <= limit <= MAX_LIMIT:
                raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
            if after is not None:
                conds.append(t.c.created_at_us >= (after + 1) * 1_000_000)
            if before is not None:
                conds.append(t.c.created_at_us < before * 1_000_000)
            if grant_hash:
                conds.append(t.c.grant_hash.in_(list(grant_hash)))
            if service_name:
                conds.append(t.c.service_name.in_(list(service_name)))
            if cursor:
                last = _decode_cursor(cursor)
                conds.append(t.c.id < last if descending else t.c.id > last)
        order = t.c.id.desc() if descending else t.c.id
        fetch = None if page is None else page + 1
        with self._read_engine.connect() as conn:  # one read transaction: one snapshot for every part
            if page is None:
                # transaction_ids: at most 1,000 IDs, found through their index, the caller as a filter.
                parts = [
                    sa.select(t).where(
                        sa.or_(*(sa.and_(t.c[col] == caller_peer_id, t.c.indexed == 1) for col in _PARTIES)),
                        *conds,
                    )
                ]
            else:
                # One query per party column: each walks its partial index in ID order from the cursor
                # and stops after a page, so a page costs O(limit), not O(the caller's records) as one
                # OR over the columns did (SQLite sorted every matching row ID first). Each names
                # ``indexed = 1``, which lets SQLite and PostgreSQL use the partial index.
                parts = [
                    sa.select(t).where(t.c[col] == caller_peer_id, t.c.indexed == 1, *conds)
                    for col in _PARTIES
                ]
            if self._sqlite:
                # Records committed but not indexed yet: newer than indexed_through, found by ID range.
                through = sa.select(index_state_table.c.indexed_through).scalar_subquery()
                parts.append(
                    sa.select(t).where(
                        t.c.id > sa.func.coalesce(through, 0),
                        t.c.indexed == 0,
                        sa.or_(*(t.c[col] == caller_peer_id for col in _PARTIES)),
                        *conds,
                    )
                )
            found: dict[int, Any] = {}
            for part in parts:
                for row in conn.execute(part.order_by(order).limit(fetch)):
                    found[row.id] = row  # a record can involve the caller twice (e.g. its own service)
        rows = sorted(found.values(), key=lambda r: r.id, reverse=descending)
        if page is None:
            return LogPage([_from_row(r) for r in rows], "")
        more_pages = len(rows) > page
        rows = rows[:page]
        next_cursor = _encode_cursor(rows[-1].id) if more_pages and rows else ""
        return LogPage([_from_row(r) for r in rows], next_cursor)

    async def query(self, caller_peer_id: str, **filters: Any) -> LogPage:
        """:meth:`query_sync` on a reader thread (for aiohttp handlers)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._read_executor, lambda: self.query_sync(caller_peer_id, **filters)
        )

    def count(self) -> int:
        with self._read_engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(records_table)).scalar_one())

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Flush what is queued, stop the writer, release the database."""
        thread = self._writer.stop()
        while thread is not None and thread.is_alive():
            await asyncio.sleep(0.001)
        self.close()

    def close(self) -> None:
        self._writer.close()
        self._read_executor.shutdown(wait=True)
        self._engine.dispose()
        self._read_engine.dispose()
