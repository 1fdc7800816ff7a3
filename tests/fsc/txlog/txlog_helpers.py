"""Helpers shared by the TransactionLog tests."""

from __future__ import annotations

import sqlalchemy as sa

from nds.db import make_engine
from nds.fsc.txlog import Direction, LogRecord, TransactionLog, new_transaction_id

A, B, C, D = "00000001000000000001", "00000001000000000002", "00000001000000000003", "00000001000000000004"


def rec(svc: str = "basisregister", *, sdel: str | None = None, ddel: str | None = None) -> LogRecord:
    return LogRecord(new_transaction_id(), Direction.OUTGOING, "$1$4$g", A, B, svc, sdel, ddel)


def ids_in_db(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(sa.text("SELECT transaction_id FROM fsc_txlog_records ORDER BY id")).scalars()
            )
    finally:
        engine.dispose()


def add_poison_trigger(log: TransactionLog) -> None:
    """Make every INSERT of a record with service_name 'poison' fail (as a broken disk would)."""
    with log.engine.begin() as conn:
        if log.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON fsc_txlog_records "
                "WHEN NEW.service_name = 'poison' BEGIN SELECT RAISE(ABORT, 'poison'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.service_name = 'poison' THEN RAISE EXCEPTION 'poison'; END IF; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON fsc_txlog_records "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )
