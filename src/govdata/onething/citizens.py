"""Citizens' sign-in for one-thing services (掌心办).

A deployment plugs its identity provider in (real-name verification through the province's unified identity
platform, OIDC) and issues the same kind of session. The demo's stand-in, ``POST /api/v1/auth/citizen`` with an
ID number and a name, answers only on an instance loaded with ``govdata demo load``: the pair must match a person
of the demo's population register (户籍) or residence permits (居住证), read from their published versions.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from stdnum.cn import ric

from govdata import security
from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.db import utcnow
from govdata.errors import Forbidden, Unauthenticated, ValidationFailed
from govdata.ingest import service as ingest
from govdata.onething.models import CitizenSession
from govdata.platform import service as platform
from govdata.principal import Principal

DEMO_FLAG = "demo_loaded"  # set by govdata.demo.service.load
SESSION_HOURS = 2
# (provider, resource, id item, name item): where the demo looks a person up
REGISTERS = (("450200-GA", "户籍人口登记信息", "id_number", "name"), ("450200-GA", "居住证信息", "id_number", "name"))


def demo_enabled(db: Session) -> bool:
    return platform.get_setting(db, DEMO_FLAG) is not None


def _known(db: Session, id_number: str, name: str) -> bool:
    entries = {(e.provider, e.name): e.code for e in projection.published_entries(db, provider="450200-GA")}
    for provider, resource, id_item, name_item in REGISTERS:
        code = entries.get((provider, resource))
        version = ingest.latest_published(db, code) if code else None
        if version is None:
            continue
        frame = ingest.read_rows(version, [id_item, name_item])
        hit = frame.filter((pl.col(id_item) == id_number) & (pl.col(name_item) == name))
        if hit.height:
            return True
    return False


def sign_in(db: Session, id_number: str, name: str, attempt: Principal) -> str:
    """A bearer token for the person, after the demo's identity check."""
    if not demo_enabled(db):
        raise Forbidden("本平台未启用演示身份核验,请通过统一身份认证平台登录", code="citizen_auth_unavailable")
    id_number, name = (id_number or "").strip().upper(), (name or "").strip()
    if not ric.is_valid(id_number) or not 1 <= len(name) <= 50:
        raise ValidationFailed("请填写正确的公民身份号码和姓名", code="invalid_identity")
    if not _known(db, id_number, name):
        actionlog.record_alone(db, attempt, "auth.citizen.failed", target_type="citizen", target_id=id_number[:6],
                               summary="身份核验未通过", outcome="failure")
        raise Unauthenticated("身份核验未通过:公民身份号码与姓名不匹配", code="identity_not_verified")
    token = security.new_token(security.CITIZEN_TOKEN_PREFIX)
    now = utcnow()
    db.add(CitizenSession(token_hash=security.token_hash(token), id_number=id_number, name=name, created_at=now,
                          expires_at=now + timedelta(hours=SESSION_HOURS)))
    who = Principal(kind="citizen", name=name, role="citizen", subject=id_number, ip=attempt.ip)
    actionlog.record(db, who, "auth.citizen", target_type="citizen", target_id=id_number[:6] + "********" +
                     id_number[-4:], summary="申请人身份核验(演示)")
    db.commit()
    return token


def resolve(db: Session, token: str) -> Principal | None:
    row = db.scalar(select(CitizenSession).where(CitizenSession.token_hash == security.token_hash(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    return Principal(kind="citizen", name=row.name, role="citizen", subject=row.id_number)


def sign_out(db: Session, token: str) -> None:
    db.execute(delete(CitizenSession).where(CitizenSession.token_hash == security.token_hash(token)))
    db.commit()
