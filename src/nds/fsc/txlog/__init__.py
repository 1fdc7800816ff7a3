"""FSC Logging: the per-peer TransactionLog (records, durable group commit, ``GET /logs`` query)."""

from nds.fsc.txlog.model import Direction, LogRecord, is_valid_transaction_id, new_transaction_id
from nds.fsc.txlog.store import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    LogPage,
    QueryError,
    TransactionLog,
    TransactionLogWriteError,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Direction",
    "LogPage",
    "LogRecord",
    "QueryError",
    "TransactionLog",
    "TransactionLogWriteError",
    "is_valid_transaction_id",
    "new_transaction_id",
]
