"""开发者: public accounts of the open-data portal, their sessions, API keys and the API's rate limits.

A developer registers with an e-mail address or a mobile number (at least one, each unique), a display name and a
password under the staff accounts' rule (security.check_password_strength). The platform runs on a closed network
without mail or SMS, so an account is usable at once: nothing is sent to verify the address or number.

Sign-in locks an account for ``lockout_minutes`` after ``login_max_failures`` consecutive wrong passwords, like
staff accounts; a locked account, an unknown one, a stopped one and a wrong password get the same answer, so the
sign-in form does not tell who has an account. Registering says only that the address or number is taken, without
repeating it, and every attempt counts towards the per-address throttle. A session is a random token in the
``gd_dev`` cookie; only its keyed hash is stored.

``throttled(bucket, client)`` guards what the public files (register, sign in, demands, showcases, reports,
ratings): a client address gets ``THROTTLES[bucket]`` actions per window, in memory per process.

API keys (``gdo_…``) are shown once; only their hash is kept. ``take()`` is the API's door: a key's calls are
counted per minute and per day, anonymous calls per client address and minute. Counting happens in memory per
process (fixed windows, like sharing.limits): with N processes a key may get up to N × its limits. The key's total
``calls`` and ``last_used_at`` are written at most every ``FLUSH_SECONDS``, never once per call.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata import security
from govdata.actionlog import service as actionlog
from govdata.config import get_settings, local_tz
from govdata.db import new_session, utcnow
from govdata.errors import AppError, Conflict, NotFound, Unauthenticated, ValidationFailed
from govdata.opendata.models import ApiKey, Developer, DeveloperSession
from govdata.opendata.schemas import DeveloperIn, KeyLimits
from govdata.principal import Principal, require_role

logger = logging.getLogger("govdata.opendata.developers")

KEY_PREFIX = "gdo_"  # a developer's API key (open data)
SESSION_PREFIX = "gdd_"  # a developer's portal session
COOKIE = "gd_dev"
COOKIE_PATH = "/open"
MAX_KEYS = 10  # active keys per developer
CACHE_SECONDS = 5.0  # a key's limits and revocation apply within this time in every process
FLUSH_SECONDS = 5.0

# bucket → (actions, seconds, what counts): how often one client address may act on the portal. "success" counts
# what was done, "failure" what was refused (sign-in), "always" every attempt (registering: a refusal says that an
# address or number is taken, so trying many is what must be slow)
THROTTLES: dict[str, tuple[int, int, str]] = {
    "register": (10, 3600, "always"), "login": (20, 900, "failure"), "demand": (5, 3600, "success"),
    "showcase": (5, 3600, "success"), "report": (20, 3600, "success"), "rating": (30, 3600, "success"),
}
BAD_LOGIN = "账号或密码错误,或账号已停用;连续多次失败后账号将暂时锁定"

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class RateLimited(AppError):
    """Too many calls: 429 with ``Retry-After`` (seconds)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


# ---- accounts -----------------------------------------------------------------------------------

def normalise_login(value: str | None) -> tuple[str | None, str | None]:
    """(e-mail, mobile) of what a person typed: e-mail lower-cased, a mobile number without spaces or dashes."""
    text = (value or "").strip()
    if not text:
        return None, None
    if "@" in text:
        return text.lower(), None
    return None, re.sub(r"[\s-]", "", text).removeprefix("+86")


def principal_of(developer: Developer, attempt: Principal | None = None) -> Principal:
    """The developer as the action log names them (``developer:<id>``)."""
    return Principal(kind="developer", name=f"developer:{developer.id}", role="developer",
                     ip=attempt.ip if attempt else None, user_agent=attempt.user_agent if attempt else None,
                     request_id=attempt.request_id if attempt else None)


def register(db: Session, data: DeveloperIn, attempt: Principal) -> Developer:
    """A new developer account, usable at once (no verification message exists on a closed network)."""
    email = data.email.strip().lower() if data.email else None
    phone = re.sub(r"[\s-]", "", data.phone).removeprefix("+86") if data.phone else None
    if not email and not phone:
        raise ValidationFailed("请填写电子邮箱或手机号码(至少一项)", code="contact_required")
    if email and not _EMAIL.match(email):
        raise ValidationFailed(f"电子邮箱格式无效:{email}", code="invalid_email")
    if phone and not _MOBILE.match(phone):
        raise ValidationFailed(f"手机号码格式无效:{data.phone}(应为 11 位中国大陆手机号码)", code="invalid_phone")
    security.check_password_strength(data.password)
    _check_unique(db, email, phone)
    developer = Developer(email=email, phone=phone, display_name=data.display_name,
                          organisation=data.organisation or "", password_hash=security.hash_password(data.password))
    db.add(developer)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise _taken() from None
    actionlog.record(db, principal_of(developer, attempt), "opendata.developer.register", target_type="developer",
                     target_id=str(developer.id), summary=f"注册开发者账号 {developer.display_name}")
    db.commit()
    return developer


def _taken() -> Conflict:
    """One answer whichever of the two is taken, without repeating it (the page is not a lookup service)."""
    return Conflict("该电子邮箱或手机号码已注册;如是本人注册,请直接登录", code="account_exists")


def _check_unique(db: Session, email: str | None, phone: str | None) -> None:
    taken = [column == value for column, value in ((Developer.email, email), (Developer.phone, phone)) if value]
    if any(db.scalar(select(Developer.id).where(condition)) is not None for condition in taken):
        raise _taken()


def find(db: Session, login: str) -> Developer | None:
    email, phone = normalise_login(login)
    if email:
        return db.scalar(select(Developer).where(Developer.email == email))
    if phone:
        return db.scalar(select(Developer).where(Developer.phone == phone))
    return None


def authenticate(db: Session, login: str, password: str, attempt: Principal) -> Developer:
    """Check a password; failures count towards a lock-out. Unknown, stopped and locked accounts and a wrong
    password get one answer (401 ``invalid_credentials``, ``BAD_LOGIN``): the caller cannot tell them apart."""
    settings = get_settings()
    developer = find(db, login)
    now = utcnow()
    if developer is not None and developer.locked_until and developer.locked_until > now:
        security.verify_password(None, password)  # as slow as a real check
        raise Unauthenticated(BAD_LOGIN, code="invalid_credentials")
    ok = security.verify_password(developer.password_hash if developer else None, password)
    if not ok or developer is None or not developer.is_active:
        if developer is not None:
            developer.failed_logins += 1
            if developer.failed_logins >= settings.login_max_failures:
                developer.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                developer.failed_logins = 0
            db.commit()
        raise Unauthenticated(BAD_LOGIN, code="invalid_credentials")
    if security.needs_rehash(developer.password_hash):
        developer.password_hash = security.hash_password(password)
    developer.failed_logins, developer.locked_until, developer.last_login_at = 0, None, now
    return developer


def sign_in(db: Session, login: str, password: str, attempt: Principal) -> tuple[Developer, str]:
    """Authenticate and open a portal session; returns the session token (for the ``gd_dev`` cookie)."""
    developer = authenticate(db, login, password, attempt)
    token = security.new_token(SESSION_PREFIX)
    now = utcnow()
    db.add(DeveloperSession(token_hash=security.token_hash(token), developer_id=developer.id, created_at=now,
                            expires_at=now + timedelta(hours=get_settings().session_hours)))
    actionlog.record(db, principal_of(developer, attempt), "opendata.developer.login", target_type="developer",
                     target_id=str(developer.id), summary="开发者登录")
    db.commit()
    return developer, token


def resolve(db: Session, token: str | None) -> Developer | None:
    """The signed-in developer of a session token, or None (unknown, expired, or the account stopped)."""
    if not token or not token.startswith(SESSION_PREFIX) or len(token) > 100:
        return None
    row = db.execute(select(DeveloperSession.expires_at, Developer)
                     .join(Developer, Developer.id == DeveloperSession.developer_id)
                     .where(DeveloperSession.token_hash == security.token_hash(token))).first()
    if row is None or row[0] <= utcnow() or not row[1].is_active:
        return None
    return row[1]


def sign_out(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(DeveloperSession).where(DeveloperSession.token_hash == security.token_hash(token)))
        db.execute(delete(DeveloperSession).where(DeveloperSession.expires_at <= utcnow()))
        db.commit()


# ---- API keys -----------------------------------------------------------------------------------

def key_hash(key: str) -> str:
    """Keys are random: a keyed SHA-256 (HMAC with the platform's secret key) is what is stored and looked up."""
    return security.token_hash(key)


def create_key(db: Session, developer: Developer, name: str, attempt: Principal) -> tuple[ApiKey, str]:
    """A new key with the platform's default limits; the full key is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("请填写密钥名称(最多 100 字)", code="key_name_required")
    active = db.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.developer_id == developer.id,
                                                                        ApiKey.revoked_at.is_(None))) or 0
    if active >= MAX_KEYS:
        raise Conflict(f"每个开发者最多持有 {MAX_KEYS} 个有效密钥,请先吊销不用的密钥", code="too_many_keys")
    settings = get_settings()
    full = security.new_token(KEY_PREFIX)
    key = ApiKey(developer_id=developer.id, name=name, prefix=full[:10], key_hash=key_hash(full),
                 per_minute=settings.open_key_per_minute, per_day=settings.open_key_per_day)
    db.add(key)
    db.flush()
    actionlog.record(db, principal_of(developer, attempt), "opendata.key.create", target_type="api_key",
                     target_id=str(key.id), summary=f"创建接口密钥 {name}({key.prefix}…)")
    db.commit()
    return key, full


def keys_of(db: Session, developer: Developer) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).where(ApiKey.developer_id == developer.id)
                           .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def revoke_key(db: Session, developer: Developer, key_id: int, attempt: Principal) -> ApiKey:
    """A developer revokes one of their own keys (another's is not found); refused at once in this process."""
    key = db.get(ApiKey, key_id)
    if key is None or key.developer_id != developer.id:
        raise NotFound(f"接口密钥不存在:{key_id}", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        actionlog.record(db, principal_of(developer, attempt), "opendata.key.revoke", target_type="api_key",
                         target_id=str(key.id), summary=f"吊销接口密钥 {key.name}({key.prefix}…)")
        db.commit()
    _forget(key.key_hash)
    return key


def set_limits(db: Session, principal: Principal, key_id: int, limits: KeyLimits) -> ApiKey:
    """The bureau changes a key's limits (applies within ``CACHE_SECONDS`` in every process)."""
    require_role(principal)
    key = db.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"接口密钥不存在:{key_id}", code="key_not_found")
    before = {"per_minute": key.per_minute, "per_day": key.per_day}
    key.per_minute, key.per_day = limits.per_minute, limits.per_day
    actionlog.record(db, principal, "opendata.key.limits", target_type="api_key", target_id=str(key.id),
                     summary=f"调整接口密钥 {key.prefix}… 的调用限额", before=before,
                     after={"per_minute": key.per_minute, "per_day": key.per_day})
    db.commit()
    _forget(key.key_hash)
    return key


def key_dict(key: ApiKey) -> dict[str, object]:
    """A key as its owner and the bureau see it: never the key itself."""
    return {"id": key.id, "developer_id": key.developer_id, "name": key.name, "prefix": key.prefix,
            "per_minute": key.per_minute, "per_day": key.per_day, "calls": key.calls,
            "created_at": key.created_at.isoformat(), "revoked": key.revoked_at is not None,
            "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}


def developer_dict(developer: Developer) -> dict[str, object]:
    return {"id": developer.id, "email": developer.email, "phone": developer.phone,
            "display_name": developer.display_name, "organisation": developer.organisation,
            "created_at": developer.created_at.isoformat()}


# ---- rate limits (the API's door) -----------------------------------------------------------------

@dataclass(frozen=True)
class _KeyInfo:
    id: int
    per_minute: int
    per_day: int
    revoked: bool


_lock = threading.Lock()
_flushing = threading.Lock()
_keys: dict[str, tuple[float, _KeyInfo | None]] = {}  # key hash → (read at, info; None = unknown)
_minutes: dict[str, tuple[int, int]] = {}  # "k<id>" or "a<client>" → (minute, calls)
_days: dict[int, tuple[str, int]] = {}  # key id → (local day, calls)
_pending: Counter[int] = Counter()  # key id → calls not yet written
_last_used: dict[int, datetime] = {}
_last_flush = time.monotonic()
_throttles: dict[tuple[str, str], list[float]] = {}  # (bucket, client) → times of recent actions


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key of a request: ``Authorization: <key>``, ``Authorization: Bearer <key>`` or ``X-CKAN-API-Key``."""
    value = (headers.get("authorization") or "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    value = value or (headers.get("x-ckan-api-key") or "").strip()
    return value[:200] or None


def _lookup(db: Session, hashed: str) -> _KeyInfo | None:
    now = time.monotonic()
    cached = _keys.get(hashed)
    if cached and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    row = db.execute(select(ApiKey.id, ApiKey.per_minute, ApiKey.per_day, ApiKey.revoked_at)
                     .where(ApiKey.key_hash == hashed)).first()
    info = _KeyInfo(row[0], row[1], row[2], row[3] is not None) if row else None
    with _lock:
        if len(_keys) > 50_000:  # many made-up keys: start afresh rather than grow without bound
            _keys.clear()
        _keys[hashed] = (now, info)
    return info


def key_owner(db: Session, api_key: str | None) -> int | None:
    """The developer id of a valid (not revoked) key, else None."""
    if not api_key:
        return None
    info = _lookup(db, key_hash(api_key))
    if info is None or info.revoked:
        return None
    return db.scalar(select(ApiKey.developer_id).where(ApiKey.id == info.id))


def _forget(hashed: str) -> None:
    with _lock:
        _keys.pop(hashed, None)


def _seconds_to_midnight() -> int:
    now = utcnow().astimezone(local_tz())
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=local_tz())
    return int((tomorrow - now).total_seconds()) + 1


def _count_minute(slot: str, limit: int, message: str) -> None:
    """Count a call in the slot's current minute, or refuse it when the minute is used up (caller holds _lock)."""
    now = time.time()
    minute = int(now // 60)
    window, calls = _minutes.get(slot, (minute, 0))
    if window != minute:
        calls = 0
    if calls >= limit:
        raise RateLimited(message, retry_after=60 - int(now % 60))
    if len(_minutes) > 100_000:
        _minutes.clear()
    _minutes[slot] = (minute, calls + 1)


def take(db: Session, api_key: str | None, client: str) -> None:
    """Count one API call, or refuse it: an unknown or revoked key → 401 ``invalid_api_key``; over a limit →
    429 ``rate_limited`` with ``retry_after``. Without a key the client address has ``open_anonymous_per_minute``
    calls a minute (0 = unlimited)."""
    if api_key is None:
        limit = get_settings().open_anonymous_per_minute
        if limit > 0:
            with _lock:
                _count_minute("a" + (client or "-"), limit,
                              f"调用过于频繁:匿名访问每分钟最多 {limit} 次,注册开发者并使用接口密钥可获得更高限额")
        return
    info = _lookup(db, key_hash(api_key))
    if info is None or info.revoked:
        raise Unauthenticated("接口密钥无效或已吊销", code="invalid_api_key")
    today = utcnow().astimezone(local_tz()).date().isoformat()
    with _lock:
        day, used = _days.get(info.id, (today, 0))
        if day != today:
            used = 0
        if used >= info.per_day:
            raise RateLimited(f"调用过于频繁:该密钥每天最多调用 {info.per_day} 次", retry_after=_seconds_to_midnight())
        _count_minute(f"k{info.id}", info.per_minute, f"调用过于频繁:该密钥每分钟最多调用 {info.per_minute} 次")
        _days[info.id] = (today, used + 1)
        _pending[info.id] += 1
        _last_used[info.id] = utcnow()
    if time.monotonic() - _last_flush >= FLUSH_SECONDS:
        flush_quietly()


def flush_quietly() -> None:
    try:
        flush()
    except Exception:  # counting must never fail a caller's request; kept for the next attempt
        logger.exception("writing API key counts failed")


def flush(db: Session | None = None) -> int:
    """Write the keys' gathered call counts and last use (own session unless ``db`` is given); returns the
    number of keys written. One flush at a time."""
    global _last_flush
    if not _flushing.acquire(blocking=db is not None):
        return 0
    try:
        with _lock:
            batch, used = dict(_pending), dict(_last_used)
            _pending.clear()
            _last_used.clear()
            _last_flush = time.monotonic()
        if not batch:
            return 0
        try:
            _write(db, batch, used)
        except Exception:
            with _lock:
                _pending.update(batch)
                for key_id, at in used.items():
                    _last_used.setdefault(key_id, at)
            raise
        return len(batch)
    finally:
        _flushing.release()


def _write(db: Session | None, batch: dict[int, int], used: dict[int, datetime]) -> None:
    stmt = (update(ApiKey).where(ApiKey.id == bindparam("kid"))
            .values(calls=ApiKey.calls + bindparam("n"), last_used_at=bindparam("at")))
    rows = [{"kid": key_id, "n": n, "at": used.get(key_id) or utcnow()} for key_id, n in batch.items()]
    session = db or new_session()
    try:
        session.connection().execute(stmt.execution_options(synchronize_session=False), rows)
        session.commit()
    finally:
        if db is None:
            session.close()


@contextmanager
def throttled(bucket: str, client: str | None) -> Iterator[None]:
    """Guard one public action of a kind (``THROTTLES``): refuse (429) a client address that used up its actions,
    then run the body and count it as the bucket says (on success, on an ``AppError`` refusal, or either)::

        with developers.throttled("demand", ip):
            demands.file_public(...)
    """
    limit, seconds, counts = THROTTLES[bucket]
    throttle(bucket, client, limit, seconds)
    try:
        yield
    except AppError:
        if counts != "success":
            note(bucket, client)
        raise
    if counts != "failure":
        note(bucket, client)


def throttle(bucket: str, client: str | None, limit: int, seconds: int) -> None:
    """Refuse (429) a client address that already did ``limit`` actions of a kind in the last ``seconds``;
    ``note()`` counts one. In memory, per process: against spam from one address, not a quota."""
    now = time.monotonic()
    slot = (bucket, client or "-")
    with _lock:
        recent = [t for t in _throttles.get(slot, []) if now - t < seconds]
        _throttles[slot] = recent
        if len(recent) >= limit:
            wait = int(seconds - (now - recent[0])) + 1
            raise RateLimited(f"提交过于频繁,请 {wait // 60 + 1} 分钟后再试", retry_after=wait)


def note(bucket: str, client: str | None) -> None:
    """Count one successful action of a kind for ``throttle``."""
    with _lock:
        if len(_throttles) > 100_000:
            _throttles.clear()
        _throttles.setdefault((bucket, client or "-"), []).append(time.monotonic())


def reset() -> None:
    """Forget cached keys, counts and throttles (tests)."""
    global _last_flush
    with _lock:
        _keys.clear()
        _minutes.clear()
        _days.clear()
        _pending.clear()
        _last_used.clear()
        _throttles.clear()
        _last_flush = time.monotonic()


def all_keys(db: Session, principal: Principal, *, developer_id: int | None = None,
             limit: int = 500) -> list[tuple[ApiKey, Developer]]:
    """The bureau's view of the keys (newest first) with their developers, to change a key's limits."""
    require_role(principal)
    stmt = select(ApiKey, Developer).join(Developer, Developer.id == ApiKey.developer_id)
    if developer_id is not None:
        stmt = stmt.where(ApiKey.developer_id == developer_id)
    return [(k, d) for k, d in db.execute(stmt.order_by(ApiKey.id.desc()).limit(limit)).all()]
