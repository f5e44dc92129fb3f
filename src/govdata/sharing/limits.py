"""Rate limits per system credential at the gateway (调用频率限制), unlimited unless the bureau sets one.

Counted per application process in fixed one-minute windows: with N server processes a credential may get up to
N × the limit in a minute. The daily quota of a grant is the exact, platform-wide limit; this one only protects
the gateway from a runaway client. A changed limit applies within ``_TTL`` seconds.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.accounts import service as accounts
from govdata.actionlog import service as actionlog
from govdata.db import utcnow
from govdata.errors import AppError
from govdata.principal import Principal, require_role
from govdata.sharing.models import RateLimit

_TTL = 10.0
_lock = threading.Lock()
_limits: dict[int, tuple[float, int | None]] = {}  # credential → (read at, per minute)
_windows: dict[int, tuple[int, int]] = {}  # credential → (minute, calls)


class RateLimited(AppError):
    status = 429
    code = "rate_limited"


def _limit_of(db: Session, credential_id: int) -> int | None:
    now = time.monotonic()
    cached = _limits.get(credential_id)
    if cached and now - cached[0] < _TTL:
        return cached[1]
    limit = db.scalar(select(RateLimit.per_minute).where(RateLimit.credential_id == credential_id))
    _limits[credential_id] = (now, limit)
    return limit


def take(db: Session, credential_id: int | None) -> None:
    """Count one call of a credential, or refuse it (429 ``rate_limited``) when its minute is used up."""
    if credential_id is None:
        return
    limit = _limit_of(db, credential_id)
    if limit is None:
        return
    minute = int(time.time() // 60)
    with _lock:
        window, calls = _windows.get(credential_id, (minute, 0))
        if window != minute:
            calls = 0
        if calls >= limit:
            raise RateLimited(f"调用过于频繁:该凭证每分钟最多调用 {limit} 次", code="rate_limited")
        _windows[credential_id] = (minute, calls + 1)


def set_limit(db: Session, principal: Principal, credential_id: int, per_minute: int | None) -> None:
    require_role(principal)
    accounts.get_credential(db, credential_id)  # 404 for an unknown credential
    row = db.get(RateLimit, credential_id)
    if per_minute is None:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(RateLimit(credential_id=credential_id, per_minute=per_minute, updated_by=principal.name))
    else:
        row.per_minute, row.updated_by, row.updated_at = per_minute, principal.name, utcnow()
    actionlog.record(db, principal, "sharing.rate_limit", target_type="credential", target_id=str(credential_id),
                     after={"per_minute": per_minute})
    db.commit()
    with _lock:
        _limits.pop(credential_id, None)


def reset() -> None:
    """Forget cached limits and counts (tests)."""
    with _lock:
        _limits.clear()
        _windows.clear()
