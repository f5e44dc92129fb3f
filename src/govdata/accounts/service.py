"""People and roles, login with lock-out, sessions and tokens, system credentials.

Who may manage whom: a bureau admin manages everyone; a department admin manages only the people of
their own organisation, and may give only the roles dept_admin and dept_staff. Nobody changes their
own role or deletes themselves.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from govdata import security
from govdata.accounts.models import ROLES, ApiCredential, User, UserSession
from govdata.accounts.schemas import CredentialCreate, UserCreate, UserUpdate
from govdata.actionlog import service as actionlog
from govdata.config import get_settings
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from govdata.orgs import service as orgs
from govdata.orgs.models import Organization
from govdata.principal import ROLE_LABELS, Principal, require_role

_PHONE = re.compile(r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEPT_ASSIGNABLE_ROLES = ("dept_admin", "dept_staff")


# ---- people -------------------------------------------------------------------------------------

def find_user(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))


def get_user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户不存在:{username}", code="user_not_found")
    return user


def user_dict(db: Session, user: User, org_code: str | None = None) -> dict[str, Any]:
    return {
        "username": user.username, "full_name": user.full_name,
        "org": org_code or orgs.code_of(db, user.org_id),
        "role": user.role, "role_label": ROLE_LABELS.get(user.role, user.role), "email": user.email,
        "phone": user.phone, "is_active": user.is_active,
        "locked": bool(user.locked_until and user.locked_until > utcnow()),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "created_at": user.created_at.isoformat(),
    }


def user_dicts(db: Session, users: list[User]) -> list[dict[str, Any]]:
    codes = orgs.codes_by_id(db, {u.org_id for u in users})
    return [user_dict(db, u, codes.get(u.org_id)) for u in users]


def _check_contact(email: str | None, phone: str | None) -> None:
    if email and not _EMAIL.match(email):
        raise ValidationFailed(f"电子邮箱格式无效:{email}", code="invalid_email")
    if phone and not _PHONE.match(phone):
        raise ValidationFailed(f"电话号码格式无效:{phone}", code="invalid_phone")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(f"角色无效:{role}(应为 {'、'.join(ROLES)})", code="invalid_role")


def ensure_can_manage(principal: Principal, org_id: int, role: str | None = None) -> None:
    """A dept_admin acts only inside their own organisation and never hands out platform roles."""
    if principal.is_platform_admin:
        return
    require_role(principal, "dept_admin")
    if principal.org_id != org_id:
        raise Forbidden("部门管理员只能管理本部门的人员", code="other_department")
    if role is not None and role not in DEPT_ASSIGNABLE_ROLES:
        raise Forbidden("部门管理员只能授予部门数据管理员或部门工作人员角色", code="role_not_assignable")


def create_user(db: Session, principal: Principal, data: UserCreate) -> User:
    org = orgs.find_by_code(db, data.org)
    if org is None:
        raise ValidationFailed(f"所属机构不存在:{data.org}", code="org_not_found")
    _check_role(data.role)
    ensure_can_manage(principal, org.id, data.role)
    if db.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(f"用户名已存在:{data.username}", code="username_exists")
    _check_contact(data.email, data.phone)
    security.check_password_strength(data.password)
    user = User(username=data.username, full_name=data.full_name, org_id=org.id, role=data.role,
                email=data.email or None, phone=data.phone or None,
                password_hash=security.hash_password(data.password))
    db.add(user)
    db.flush()
    actionlog.record(db, principal, "user.create", target_type="user", target_id=user.username,
                     summary=f"新建用户 {user.full_name}({ROLE_LABELS[user.role]})", after=user_dict(db, user))
    db.commit()
    return user


def update_user(db: Session, principal: Principal, username: str, data: UserUpdate) -> User:
    user = get_user(db, username)
    ensure_can_manage(principal, user.org_id)
    changes = data.model_dump(exclude_unset=True)
    before = user_dict(db, user)
    new_org = orgs.get_by_code(db, changes["org"]) if changes.get("org") else None
    if new_org is not None:
        ensure_can_manage(principal, new_org.id)
    if changes.get("role"):
        _check_role(changes["role"])
        ensure_can_manage(principal, new_org.id if new_org else user.org_id, changes["role"])
        if user.id == principal.user_id and changes["role"] != user.role:
            raise Forbidden("不能修改自己的角色", code="cannot_change_own_role")
    if changes.get("is_active") is False and user.id == principal.user_id:
        raise Forbidden("不能停用自己的账号", code="cannot_disable_self")
    _check_contact(changes.get("email"), changes.get("phone"))
    for field in ("full_name", "role", "email", "phone", "is_active"):
        if field in changes and changes[field] is not None:
            setattr(user, field, changes[field] or None if field in ("email", "phone") else changes[field])
    if new_org is not None:
        user.org_id = new_org.id
    if changes.get("is_active") is False:
        _end_sessions(db, user.id)
    if changes.get("is_active"):
        user.failed_logins, user.locked_until = 0, None
    db.flush()
    after = user_dict(db, user)
    changed = [k for k in after if after[k] != before[k]]
    actionlog.record(db, principal, "user.update", target_type="user", target_id=user.username,
                     summary=f"修改用户 {user.full_name}", before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
    db.commit()
    return user


def reset_password(db: Session, principal: Principal, username: str, password: str,
                   current_password: str | None = None) -> None:
    """An administrator sets another person's password; a person changing their own must give the current
    one, so a stolen session alone cannot take over the account."""
    user = get_user(db, username)
    if user.id != principal.user_id:
        ensure_can_manage(principal, user.org_id)
    elif not security.verify_password(user.password_hash, current_password or ""):
        raise Forbidden("当前密码不正确", code="wrong_current_password")
    security.check_password_strength(password)
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins, user.locked_until = 0, None
    _end_sessions(db, user.id)
    actionlog.record(db, principal, "user.password_reset", target_type="user", target_id=user.username,
                     summary=f"重置用户 {user.full_name} 的密码")
    db.commit()


def delete_user(db: Session, principal: Principal, username: str) -> None:
    user = get_user(db, username)
    ensure_can_manage(principal, user.org_id)
    if user.id == principal.user_id:
        raise Forbidden("不能删除自己的账号", code="cannot_delete_self")
    before = user_dict(db, user)
    _end_sessions(db, user.id)
    db.delete(user)
    actionlog.record(db, principal, "user.delete", target_type="user", target_id=username,
                     summary=f"删除用户 {before['full_name']}", before=before)
    db.commit()


def list_users(db: Session, principal: Principal, *, org: str | None = None, role: str | None = None,
               q: str | None = None, page: int = 1, page_size: int = 50) -> tuple[int, list[User]]:
    """Bureau admins and auditors see everyone; others see their own organisation's people."""
    stmt = select(User)
    if not principal.has_role("auditor"):
        stmt = stmt.where(User.org_id == principal.org_id)
    if org:
        stmt = stmt.where(User.org_id == orgs.get_by_code(db, org).id)
    if role:
        stmt = stmt.where(User.role == role)
    if q:
        stmt = stmt.where(or_(User.username.contains(q, autoescape=True),
                              User.full_name.contains(q, autoescape=True)))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(User.username).offset((page - 1) * page_size).limit(page_size)).all()
    return total, list(rows)


def count_by_role(db: Session) -> dict[str, int]:
    return {r: n for r, n in db.execute(select(User.role, func.count()).group_by(User.role)).all()}


# ---- login, sessions, tokens --------------------------------------------------------------------

def authenticate(db: Session, username: str, password: str, attempt: Principal) -> User:
    """Check a password. Failures count towards a lock-out and are logged; the message never says
    whether the user exists."""
    settings = get_settings()
    user = db.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        security.verify_password(None, password)
        actionlog.record_alone(db, attempt, "auth.login_failed", target_type="user", target_id=username,
                               summary="账号已锁定", outcome="failure")
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise Forbidden(f"登录失败次数过多,账号已锁定,请 {minutes} 分钟后再试", code="account_locked")
    ok = security.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        _count_failure(db, user, settings.login_max_failures, settings.lockout_minutes)
        reason = "账号已停用" if (ok and user is not None) else "用户名或密码错误"
        actionlog.record_alone(db, attempt, "auth.login_failed", target_type="user", target_id=username,
                               summary=reason, outcome="failure")
        raise Unauthenticated("用户名或密码错误,或账号已停用", code="invalid_credentials")
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return user


def _count_failure(db: Session, user: User | None, max_failures: int, lockout_minutes: float) -> None:
    if user is None:
        return
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until = utcnow() + timedelta(minutes=lockout_minutes)
        user.failed_logins = 0
    db.commit()


def login(db: Session, username: str, password: str, attempt: Principal, kind: str) -> tuple[User, str]:
    """Authenticate and open a session (kind "web") or an API token (kind "api"); returns the token."""
    user = authenticate(db, username, password, attempt)
    prefix = security.SESSION_TOKEN_PREFIX if kind == "web" else security.PERSON_TOKEN_PREFIX
    token = security.new_token(prefix)
    now = utcnow()
    db.add(UserSession(user_id=user.id, kind=kind, token_hash=security.token_hash(token), created_at=now,
                       last_seen_at=now, expires_at=now + timedelta(hours=get_settings().session_hours),
                       ip=attempt.ip))
    who = principal_for_user(db, user).with_request(attempt.ip, attempt.user_agent, attempt.request_id)
    actionlog.record(db, who, "auth.login", target_type="user", target_id=user.username,
                     summary="网页登录" if kind == "web" else "获取 API 令牌")
    db.commit()
    return user, token


def logout(db: Session, principal: Principal, token: str) -> None:
    db.execute(delete(UserSession).where(UserSession.token_hash == security.token_hash(token)))
    actionlog.record(db, principal, "auth.logout", target_type="user", target_id=principal.name)
    db.commit()


def _end_sessions(db: Session, user_id: int) -> None:
    db.execute(delete(UserSession).where(UserSession.user_id == user_id))


def principal_for_user(db: Session, user: User) -> Principal:
    return Principal(kind="user", name=user.username, role=user.role, org_id=user.org_id,
                     org_code=orgs.code_of(db, user.org_id), user_id=user.id)


def resolve_token(db: Session, token: str, *, kind: str) -> Principal | None:
    """The principal behind a bearer token or session cookie, or None when unknown, expired or revoked.
    One indexed lookup joining session, person and organisation: this runs on every request."""
    if token.startswith(security.SYSTEM_TOKEN_PREFIX) and kind == "api":
        return _resolve_credential(db, token)
    row = db.execute(
        select(UserSession.id, UserSession.kind, UserSession.expires_at, UserSession.last_seen_at, User,
               Organization.code)
        .join(User, User.id == UserSession.user_id).join(Organization, Organization.id == User.org_id)
        .where(UserSession.token_hash == security.token_hash(token))
    ).first()
    now = utcnow()
    if row is None or row.kind != kind or row.expires_at <= now or not row.User.is_active:
        return None
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if kind == "web" and row.last_seen_at + idle <= now:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):  # at most one write a minute per session
        db.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        db.commit()
    user = row.User
    return Principal(kind="user", name=user.username, role=user.role, org_id=user.org_id, org_code=row.code,
                     user_id=user.id)


def purge_expired_sessions(db: Session) -> int:
    result = db.execute(delete(UserSession).where(UserSession.expires_at <= utcnow()))
    db.commit()
    return result.rowcount or 0


# ---- system credentials -------------------------------------------------------------------------

def credential_dict(db: Session, cred: ApiCredential) -> dict[str, Any]:
    now = utcnow()
    status = "revoked" if cred.revoked_at else ("expired" if cred.expires_at and cred.expires_at <= now
                                                 else "active")
    return {
        "id": cred.id, "org": orgs.code_of(db, cred.org_id), "name": cred.name,
        "token_prefix": cred.token_prefix, "status": status, "created_by": cred.created_by,
        "created_at": cred.created_at.isoformat(),
        "expires_at": cred.expires_at.isoformat() if cred.expires_at else None,
        "revoked_at": cred.revoked_at.isoformat() if cred.revoked_at else None,
        "last_used_at": cred.last_used_at.isoformat() if cred.last_used_at else None,
    }


def create_credential(db: Session, principal: Principal, data: CredentialCreate) -> tuple[ApiCredential, str]:
    org = orgs.get_by_code(db, data.org)
    ensure_can_manage(principal, org.id)
    token = security.new_token(security.SYSTEM_TOKEN_PREFIX)
    expires = utcnow() + timedelta(days=data.expires_days) if data.expires_days else None
    cred = ApiCredential(org_id=org.id, name=data.name.strip(), token_prefix=token[:12],
                         token_hash=security.token_hash(token), created_by=principal.name, expires_at=expires)
    db.add(cred)
    db.flush()
    actionlog.record(db, principal, "credential.create", target_type="credential", target_id=str(cred.id),
                     summary=f"为 {org.name} 的系统「{cred.name}」签发凭证", after=credential_dict(db, cred))
    db.commit()
    return cred, token


def get_credential(db: Session, cred_id: int) -> ApiCredential:
    cred = db.get(ApiCredential, cred_id)
    if cred is None:
        raise NotFound(f"凭证不存在:{cred_id}", code="credential_not_found")
    return cred


def revoke_credential(db: Session, principal: Principal, cred_id: int) -> ApiCredential:
    cred = get_credential(db, cred_id)
    ensure_can_manage(principal, cred.org_id)
    if cred.revoked_at is not None:
        raise Conflict("该凭证已被吊销", code="credential_already_revoked")
    before = credential_dict(db, cred)
    cred.revoked_at, cred.revoked_by = utcnow(), principal.name
    forget_credentials()
    actionlog.record(db, principal, "credential.revoke", target_type="credential", target_id=str(cred.id),
                     summary=f"吊销系统「{cred.name}」的凭证", before={"status": before["status"]},
                     after={"status": "revoked"})
    db.commit()
    return cred


def list_credentials(db: Session, principal: Principal, org: str | None = None) -> list[ApiCredential]:
    stmt = select(ApiCredential)
    if not principal.has_role("auditor"):
        require_role(principal, "dept_admin")
        stmt = stmt.where(ApiCredential.org_id == principal.org_id)
    if org:
        stmt = stmt.where(ApiCredential.org_id == orgs.get_by_code(db, org).id)
    return list(db.scalars(stmt.order_by(ApiCredential.id.desc())))


# Built once: every gateway call resolves its credential, and building the statement costs more than running it.
_CREDENTIAL = (select(ApiCredential.id, ApiCredential.name, ApiCredential.org_id, ApiCredential.revoked_at,
                      ApiCredential.expires_at, ApiCredential.last_used_at, Organization.code)
               .join(Organization, Organization.id == ApiCredential.org_id)
               .where(ApiCredential.token_hash == bindparam("token_hash")))
# A valid credential is remembered for a few seconds per process (systems call in bursts). Revoking it here forgets
# it at once; a revocation made by another process (the CLI, another server) applies within this time.
CREDENTIAL_CACHE_SECONDS = 5.0
_credential_cache: dict[str, tuple[float, Principal]] = {}


def _resolve_credential(db: Session, token: str) -> Principal | None:
    digest = security.token_hash(token)
    cached = _credential_cache.get(digest)
    if cached and time.monotonic() - cached[0] < CREDENTIAL_CACHE_SECONDS:
        return cached[1]
    row = db.connection().execute(_CREDENTIAL, {"token_hash": digest}).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        _credential_cache.pop(digest, None)
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        db.execute(update(ApiCredential).where(ApiCredential.id == row.id).values(last_used_at=now))
        db.commit()
    principal = Principal(kind="system", name=f"system:{row.name}", role="system", org_id=row.org_id,
                          org_code=row.code, credential_id=row.id)
    if len(_credential_cache) > 10_000:
        _credential_cache.clear()
    _credential_cache[digest] = (time.monotonic(), principal)
    return principal


def forget_credentials() -> None:
    _credential_cache.clear()


def _org_guard(db: Session, org: Organization) -> str | None:
    people = db.scalar(select(func.count()).where(User.org_id == org.id)) or 0
    if people:
        return f"机构 {org.name} 还有 {people} 名人员,不能删除"
    creds = db.scalar(select(func.count()).where(ApiCredential.org_id == org.id)) or 0
    if creds:
        return f"机构 {org.name} 还有 {creds} 个系统凭证,不能删除"
    return None


orgs.register_delete_guard(_org_guard)


def last_activity(db: Session, since: datetime) -> int:
    """Distinct people who logged in since a moment (for the dashboard)."""
    return db.scalar(select(func.count()).where(User.last_login_at >= since)) or 0
