"""Providers' own services (接口共享): "物理分散、逻辑集中" — the data stays at the department, the gateway
authorises, forwards, filters, masks and audits. The provider's data admin registers the service's address and
the credential the gateway presents to it (stored encrypted, never shown again).

The contract a provider service implements: ``GET {url}?{item_key}={value}&limit=n`` answers JSON, either a list
of records or an object holding the list under "records", "data", "rows" or "result"; keys are item keys.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata import vault
from govdata.actionlog import service as actionlog
from govdata.catalog.projection import published
from govdata.db import utcnow
from govdata.errors import Forbidden, NotFound, ValidationFailed
from govdata.exchange import cache
from govdata.exchange.models import ProviderEndpoint
from govdata.orgs import service as orgs
from govdata.principal import Principal


class EndpointIn(BaseModel):
    url: str = Field(min_length=8, max_length=500)
    auth_header: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9-]*$")
    secret: str | None = Field(default=None, max_length=2000, description="空:保留原值")
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("服务地址须为 http:// 或 https:// 开头的完整地址", code="invalid_url",
                               details={"field": "url"})
    if parts.username or parts.password:
        raise ValidationFailed("服务地址中不能包含用户名或密码,请使用认证请求头", code="invalid_url",
                               details={"field": "url"})
    return url.strip()


def _manageable(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    doc = published(db, code)
    provider = orgs.get_by_code(db, doc["provider"])
    if not (principal.is_platform_admin or (principal.org_id == provider.id and principal.role == "dept_admin")):
        raise Forbidden("只有提供部门的数据管理员可以登记该资源的接口服务", code="forbidden")
    return doc


def register(db: Session, principal: Principal, code: str, data: EndpointIn) -> ProviderEndpoint:
    doc = _manageable(db, principal, code)
    if doc["share_method"] != "api":
        raise ValidationFailed("只有共享方式为“接口”的信息资源可以登记接口服务", code="share_method_not_api")
    url = _check_url(data.url)
    row = db.scalar(select(ProviderEndpoint).where(ProviderEndpoint.resource_code == code))
    if row is None:
        row = ProviderEndpoint(resource_code=code, created_by=principal.name, secret="")
        db.add(row)
    row.url, row.auth_header, row.timeout_seconds = url, data.auth_header, data.timeout_seconds
    if data.secret is not None:
        row.secret = vault.encrypt(data.secret) if data.secret else ""
    row.updated_by, row.updated_at = principal.name, utcnow()
    actionlog.record(db, principal, "exchange.endpoint_register", target_type="resource", target_id=code,
                     after={"url": row.url, "auth_header": row.auth_header, "secret": "***"})
    db.commit()
    cache.forget(code)
    return row


def get(db: Session, principal: Principal, code: str) -> ProviderEndpoint:
    _manageable(db, principal, code)
    row = db.scalar(select(ProviderEndpoint).where(ProviderEndpoint.resource_code == code))
    if row is None:
        raise NotFound(f"信息资源 {code} 未登记接口服务", code="endpoint_not_found")
    return row


def delete(db: Session, principal: Principal, code: str) -> None:
    row = get(db, principal, code)
    db.delete(row)
    actionlog.record(db, principal, "exchange.endpoint_delete", target_type="resource", target_id=code)
    db.commit()
    cache.forget(code)


def endpoint_dict(row: ProviderEndpoint) -> dict[str, Any]:
    return {"resource": row.resource_code, "url": row.url, "auth_header": row.auth_header,
            "has_secret": bool(row.secret), "timeout_seconds": row.timeout_seconds,
            "updated_by": row.updated_by, "updated_at": row.updated_at.isoformat()}


def snapshot(db: Session, code: str) -> SimpleNamespace | None:
    """What the gateway needs to call the service (the secret decrypted), or None for a hosted resource."""
    row = db.scalar(select(ProviderEndpoint).where(ProviderEndpoint.resource_code == code))
    if row is None:
        return None
    return SimpleNamespace(url=row.url, auth_header=row.auth_header, timeout=row.timeout_seconds,
                           secret=vault.decrypt(row.secret) if row.secret else "")
