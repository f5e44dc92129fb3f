"""Counting gateway calls as their audit records are written (an audit batch hook, same transaction): calls per
grant and day for quotas, and calls per day/resource/consumer/outcome with latency buckets for the evaluation.

Cost: one upsert per distinct key in a batch (executed as one executemany), so a burst of calls costs a couple
of statements, not one each. The statements are built once per dialect.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from govdata.audit import service as audit
from govdata.sharing.models import LATENCY_BUCKETS, CallStat, GrantUsage

_U = GrantUsage.__table__
_S = CallStat.__table__
BUCKETS = [name for name, _ in LATENCY_BUCKETS]
STAT_KEYS = ["day", "resource_code", "consumer_org", "outcome"]
STAT_ADDS = ["calls", "rows", "ms_total", *BUCKETS]


def _bucket(ms: float) -> str:
    return next(name for name, bound in LATENCY_BUCKETS if bound is None or ms <= bound)


@cache
def _upserts(dialect_name: str) -> tuple[Any, Any]:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    usage = dialect.insert(_U).values(grant_id=bindparam("grant_id"), day=bindparam("day"),
                                      calls=bindparam("calls"), rows=bindparam("rows"))
    usage = usage.on_conflict_do_update(index_elements=["grant_id", "day"],
                                        set_={"calls": _U.c.calls + usage.excluded.calls,
                                              "rows": _U.c.rows + usage.excluded.rows})
    columns = [*STAT_KEYS, "provider_org", *STAT_ADDS]
    stat = dialect.insert(_S).values({c: bindparam(c) for c in columns})
    stat = stat.on_conflict_do_update(index_elements=STAT_KEYS,
                                      set_={c: _S.c[c] + stat.excluded[c] for c in STAT_ADDS})
    return usage, stat


def count_calls(db: Session, records: list[dict[str, Any]]) -> None:
    usage: dict[tuple[int, str], list[int]] = {}
    stats: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for rec in records:
        if rec.get("kind") != "exchange.call":
            continue
        extra = rec.get("extra") or {}
        day, rows, ms = extra.get("day") or "", int(rec.get("rows") or 0), float(extra.get("ms") or 0.0)
        if rec.get("outcome") == "ok" and extra.get("grant_id"):
            entry = usage.setdefault((int(extra["grant_id"]), day), [0, 0])
            entry[0] += 1
            entry[1] += rows
        key = (day, rec.get("resource") or "", rec.get("consumer_org") or "", rec.get("outcome") or "")
        stat = stats.get(key)
        if stat is None:
            stat = stats[key] = {**dict(zip(STAT_KEYS, key, strict=True)), **dict.fromkeys(STAT_ADDS, 0),
                                 "provider_org": rec.get("provider_org") or "", "ms_total": 0.0}
        stat["calls"] += 1
        stat["rows"] += rows
        stat["ms_total"] += ms
        stat[_bucket(ms)] += 1
    if not stats:
        return
    usage_upsert, stat_upsert = _upserts(db.get_bind().dialect.name)
    conn = db.connection()
    if usage:
        conn.execute(usage_upsert, [{"grant_id": g, "day": d, "calls": c, "rows": r}
                                    for (g, d), (c, r) in sorted(usage.items())])
    conn.execute(stat_upsert, [stats[key] for key in sorted(stats)])


audit.register_batch_hook(count_calls)
