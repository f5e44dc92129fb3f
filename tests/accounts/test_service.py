from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from govdata.accounts import service
from govdata.accounts.models import ApiCredential, User, UserSession
from govdata.accounts.schemas import CredentialCreate, UserCreate, UserUpdate
from govdata.actionlog.models import ActionLogEntry
from govdata.db import utcnow
from govdata.errors import AppError
from govdata.principal import CLI, anonymous
from tests.factories import PASSWORD, liuzhou, make_user, principal_of


def _code(fn, *args) -> str:
    with pytest.raises(AppError) as info:
        fn(*args)
    return info.value.code


def test_passwords_are_stored_as_argon2id(db):
    liuzhou(db)
    user = service.get_user(db, "admin")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize("weak", ["short1A", "alllowercase", "ALLUPPER123", "12345678901"])
def test_weak_passwords_are_refused(db, weak):
    liuzhou(db)
    spec = UserCreate(username="newbie", full_name="新人", password=weak, org="GA", role="dept_staff")
    assert _code(service.create_user, db, CLI, spec) == "weak_password"
    assert service.find_user(db, "newbie") is None


def test_duplicate_username_and_unknown_org_and_role(db):
    liuzhou(db)
    dup = UserCreate(username="admin", full_name="x", password=PASSWORD, org="GA", role="dept_staff")
    assert _code(service.create_user, db, CLI, dup) == "username_exists"
    nowhere = UserCreate(username="user1", full_name="x", password=PASSWORD, org="NOPE", role="dept_staff")
    assert _code(service.create_user, db, CLI, nowhere) == "org_not_found"
    bad_role = UserCreate(username="user1", full_name="x", password=PASSWORD, org="GA", role="king")
    assert _code(service.create_user, db, CLI, bad_role) == "invalid_role"


def test_dept_admin_manages_only_their_own_department(db):
    liuzhou(db)
    ga = principal_of(db, "ga_admin")
    own = UserCreate(username="ga_clerk", full_name="公安办事员", password=PASSWORD, org="GA", role="dept_staff")
    service.create_user(db, ga, own)
    other = UserCreate(username="wj_clerk", full_name="卫健办事员", password=PASSWORD, org="WJ", role="dept_staff")
    assert _code(service.create_user, db, ga, other) == "other_department"
    assert _code(service.update_user, db, ga, "wj_staff", UserUpdate(full_name="改名")) == "other_department"
    assert _code(service.reset_password, db, ga, "wj_staff", "New-Passw0rd!") == "other_department"
    assert _code(service.delete_user, db, ga, "wj_staff") == "other_department"
    # nor move their own people into another department
    assert _code(service.update_user, db, ga, "ga_clerk", UserUpdate(org="WJ")) == "other_department"
    assert service.get_user(db, "wj_staff").full_name == "用户wj_staff"


def test_dept_admin_cannot_hand_out_platform_roles(db):
    liuzhou(db)
    ga = principal_of(db, "ga_admin")
    for role in ("bureau_admin", "auditor"):
        spec = UserCreate(username=f"x_{role}", full_name="x", password=PASSWORD, org="GA", role=role)
        assert _code(service.create_user, db, ga, spec) == "role_not_assignable"
    make_user(db, "ga_clerk", "GA", "dept_staff")
    assert _code(service.update_user, db, ga, "ga_clerk", UserUpdate(role="bureau_admin")) == "role_not_assignable"


def test_staff_and_auditors_cannot_manage_people(db):
    liuzhou(db)
    for who in ("wj_staff", "auditor"):
        spec = UserCreate(username="xuser1", full_name="x", password=PASSWORD, org="WJ", role="dept_staff")
        assert _code(service.create_user, db, principal_of(db, who), spec) == "forbidden"


def test_nobody_changes_their_own_role_or_deletes_themselves(db):
    liuzhou(db)
    admin = principal_of(db, "admin")
    assert _code(service.update_user, db, admin, "admin", UserUpdate(role="dept_staff")) == "cannot_change_own_role"
    assert _code(service.delete_user, db, admin, "admin") == "cannot_delete_self"
    assert _code(service.update_user, db, admin, "admin", UserUpdate(is_active=False)) == "cannot_disable_self"


def test_user_change_is_logged_with_before_and_after(db):
    liuzhou(db)
    service.update_user(db, principal_of(db, "admin"), "wj_staff", UserUpdate(role="dept_admin", phone="13812345678"))
    entry = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "user.update")).one()
    assert entry.actor_name == "admin"
    assert entry.before == {"role": "dept_staff", "role_label": "部门工作人员", "phone": None}
    assert entry.after == {"role": "dept_admin", "role_label": "部门数据管理员", "phone": "13812345678"}


def test_bad_contact_details_are_refused(db):
    liuzhou(db)
    admin = principal_of(db, "admin")
    assert _code(service.update_user, db, admin, "wj_staff", UserUpdate(phone="12345")) == "invalid_phone"
    assert _code(service.update_user, db, admin, "wj_staff", UserUpdate(email="not-an-email")) == "invalid_email"


def _attempt():
    return anonymous("x", ip="10.0.0.9")


def test_login_locks_after_repeated_failures_and_unlocks_later(db):
    liuzhou(db)
    for _ in range(4):
        assert _code(service.authenticate, db, "wj_staff", "wrong", _attempt()) == "invalid_credentials"
    assert _code(service.authenticate, db, "wj_staff", "wrong", _attempt()) == "invalid_credentials"
    # the fifth failure locked the account: even the right password is refused now
    assert _code(service.authenticate, db, "wj_staff", PASSWORD, _attempt()) == "account_locked"
    db.execute(update(User).where(User.username == "wj_staff").values(locked_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert service.authenticate(db, "wj_staff", PASSWORD, _attempt()).username == "wj_staff"
    failures = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "auth.login_failed")).all()
    assert len(failures) == 6
    assert {f.ip for f in failures} == {"10.0.0.9"}


def test_unknown_user_and_disabled_user_get_the_same_answer(db):
    liuzhou(db)
    service.update_user(db, CLI, "wj_staff", UserUpdate(is_active=False))
    assert _code(service.authenticate, db, "ghost", PASSWORD, _attempt()) == "invalid_credentials"
    assert _code(service.authenticate, db, "wj_staff", PASSWORD, _attempt()) == "invalid_credentials"


def test_sessions_expire_and_end_on_password_reset(db):
    liuzhou(db)
    _, token = service.login(db, "wj_staff", PASSWORD, _attempt(), kind="api")
    assert service.resolve_token(db, token, kind="api").name == "wj_staff"
    assert service.resolve_token(db, token, kind="web") is None  # an API token is not a web session
    db.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert service.resolve_token(db, token, kind="api") is None
    _, token = service.login(db, "wj_staff", PASSWORD, _attempt(), kind="api")
    service.reset_password(db, CLI, "wj_staff", "Another-Passw0rd")
    assert service.resolve_token(db, token, kind="api") is None


def test_idle_web_sessions_end(db):
    liuzhou(db)
    _, token = service.login(db, "wj_staff", PASSWORD, _attempt(), kind="web")
    assert service.resolve_token(db, token, kind="web") is not None
    db.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
    db.commit()
    assert service.resolve_token(db, token, kind="web") is None


def test_credentials_are_hashed_shown_once_and_revocable(db):
    liuzhou(db)
    ga = principal_of(db, "ga_admin")
    cred, token = service.create_credential(db, ga, CredentialCreate(org="GA", name="户籍系统"))
    stored = db.get(ApiCredential, cred.id)
    assert token not in (stored.token_hash, stored.token_prefix)
    assert token.startswith(stored.token_prefix)
    system = service.resolve_token(db, token, kind="api")
    assert (system.kind, system.org_code, system.role) == ("system", "GA", "system")
    assert service.credential_dict(db, stored)["status"] == "active"
    service.revoke_credential(db, ga, cred.id)
    assert service.resolve_token(db, token, kind="api") is None
    assert _code(service.revoke_credential, db, ga, cred.id) == "credential_already_revoked"
    actions = [e.action for e in db.scalars(select(ActionLogEntry).where(ActionLogEntry.target_type == "credential"))]
    assert actions == ["credential.create", "credential.revoke"]


def test_credentials_expire(db):
    liuzhou(db)
    cred, token = service.create_credential(db, CLI, CredentialCreate(org="GA", name="x", expires_days=1))
    db.execute(update(ApiCredential).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert service.resolve_token(db, token, kind="api") is None
    assert service.credential_dict(db, db.get(ApiCredential, cred.id))["status"] == "expired"


def test_dept_admin_issues_credentials_only_for_their_department(db):
    liuzhou(db)
    ga = principal_of(db, "ga_admin")
    assert _code(service.create_credential, db, ga, CredentialCreate(org="WJ", name="x")) == "other_department"
    cred, _ = service.create_credential(db, CLI, CredentialCreate(org="WJ", name="医院系统"))
    assert _code(service.revoke_credential, db, ga, cred.id) == "other_department"
    assert service.list_credentials(db, ga) == []
    assert _code(service.list_credentials, db, principal_of(db, "wj_staff")) == "forbidden"
