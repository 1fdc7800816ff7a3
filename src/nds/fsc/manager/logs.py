"""GET /logs (fsc-logging): records of this Peer's TransactionLog that involve the caller.

The Inway and Outway of this Peer write the TransactionLog (:mod:`nds.fsc.txlog`); the Manager only
reads it, through the TransactionLog's query interface, never its tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nds.fsc.manager.httputil import BODY_CODE, RequestError
from nds.fsc.txlog import DEFAULT_LIMIT, QueryError, TransactionLog

if TYPE_CHECKING:
    from nds.fsc.manager.core import Manager

_logs: dict[str, TransactionLog] = {}


def txlog_for(m: Manager) -> TransactionLog:
    url = m.cfg.resolved_txlog_url()
    if url not in _logs:
        _logs[url] = TransactionLog(url)
    return _logs[url]


def _int(query: Mapping[str, str], name: str) -> int | None:
    v = query.get(name)
    if v is None:
        return None
    if not v.isdigit() or len(v) > 15:
        raise RequestError(BODY_CODE, f"{name} must be a unix timestamp", 400)
    return int(v)


def _list(query: Any, name: str) -> list[str]:
    out: list[str] = []
    for v in query.getall(name, []):
        out.extend(x for x in v.split(",") if x)
    return out


async def query(m: Manager, caller: str, q: Any) -> dict[str, Any]:
    limit = q.get("limit", str(DEFAULT_LIMIT))
    if not limit.isdigit():
        raise RequestError(BODY_CODE, "limit must be an integer", 400)
    try:
        page = await txlog_for(m).query(
            caller,
            after=_int(q, "after"),
            before=_int(q, "before"),
            grant_hash=_list(q, "grant_hash"),
            service_name=_list(q, "service_name"),
            transaction_ids=_list(q, "transaction_ids"),
            limit=int(limit),
            cursor=q.get("cursor") or None,
            sort_order=q.get("sort_order", "SORT_ORDER_ASCENDING"),
        )
    except QueryError as exc:
        raise RequestError(BODY_CODE, str(exc), 400) from None
    return page.to_api()
