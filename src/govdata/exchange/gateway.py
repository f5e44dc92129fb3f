"""The exchange gateway (交换网关): one controlled door to other departments' data.

A call ``GET /api/v1/exchange/{code}?{item}={value}&limit=n`` with ``X-Purpose`` runs, in order: the resource
is published → purpose present → rate limit of the credential → the caller's department holds a live grant
within its daily quota → the filters name granted items → the rows are read (hosted: the latest published version
through the serving store; proxied: the provider's own service) → only granted items, within the grant's row
scope → L3/L4 items masked unless the grant lifts it → an audit record is made durable → the answer is sent.
Refusals are audited too. Cost per call: a few indexed reads plus an O(log n) lookup; nothing grows with the
resource's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sqlalchemy.orm import Session

from govdata.audit import service as audit
from govdata.config import get_settings
from govdata.errors import AppError, Forbidden, NotFound, ValidationFailed
from govdata.exchange import cache, masking, proxy, serving
from govdata.principal import Principal
from govdata.sharing import grants, limits, stats  # noqa: F401 (stats counts calls as they are audited)

DEFAULT_LIMIT = 10
MAX_PURPOSE = 500


@dataclass
class Answer:
    request_id: str
    body: bytes
    rows: int


@dataclass
class _Call:
    principal: Principal
    code: str
    purpose: str | None
    filters: dict[str, str]
    limit: int
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    provider: str | None = None
    items: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


def header_text(value: str | None) -> str | None:
    """A header as the client meant it: raw UTF-8 (which Starlette decodes as Latin-1) or percent-encoded."""
    if value is None:
        return None
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    if "%" in value:
        with contextlib.suppress(UnicodeDecodeError):
            value = unquote(value, errors="strict")
    return value.strip() or None


def parse_query(params: list[tuple[str, str]]) -> tuple[dict[str, str], int]:
    filters: dict[str, str] = {}
    limit = DEFAULT_LIMIT
    for key, value in params:
        if key == "limit":
            if not value.isdigit() or not 1 <= int(value) <= get_settings().exchange_max_limit:
                raise ValidationFailed(f"limit 须为 1 到 {get_settings().exchange_max_limit} 的整数",
                                       code="invalid_limit", details={"field": "limit"})
            limit = int(value)
        elif key in filters:
            raise ValidationFailed(f"查询条件 {key} 重复", code="duplicate_filter", details={"field": key})
        else:
            filters[key] = value
    return filters, limit


def call(db: Session, principal: Principal, code: str, params: list[tuple[str, str]],
         purpose: str | None) -> Answer:
    """Answer one gateway call, or raise the refusal after it has been audited."""
    filters, limit = {}, DEFAULT_LIMIT
    run = _Call(principal, code, header_text(purpose), filters, limit)
    try:
        run.filters, run.limit = parse_query(params)
        answer = _answer(db, run)
    except AppError as exc:
        db.rollback()
        _audit(run, exc.code, rows=0, response_hash=None)
        exc.headers = {**(exc.headers or {}), "X-Audit-Request-Id": run.request_id}
        raise
    return answer


def _answer(db: Session, run: _Call) -> Answer:
    principal = run.principal
    doc = cache.published_doc(db, run.code)
    run.provider = doc["provider"]
    if not run.purpose:
        raise Forbidden("每次调用必须在 X-Purpose 请求头中说明用途或办件编号", code="purpose_required")
    if len(run.purpose) > MAX_PURPOSE:
        raise ValidationFailed(f"用途说明不能超过 {MAX_PURPOSE} 字", code="purpose_too_long")
    limits.take(db, principal.credential_id)
    if principal.org_id is None:
        raise Forbidden("调用方不属于任何部门", code="not_granted")
    grant = grants.check_call(db, principal.org_id, run.code)
    _check_filters(doc, grant, run.filters)
    run.items = grant.items
    records = _fetch(db, run, doc, grant)
    records = masking.apply(records, masking.plan(doc["items"], set(grant.unmasked_items), masking.rules(db)))
    payload = json.dumps(records, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    digest = hashlib.sha256(payload).hexdigest()
    db.rollback()  # give the connection back before waiting: the audit writer may need it from the same pool
    _audit(run, "ok", rows=len(records), response_hash=digest, grant_id=grant.id)
    body = b'{"request_id":"' + run.request_id.encode() + b'","records":' + payload + b"}"
    return Answer(run.request_id, body, len(records))


def _check_filters(doc: dict[str, Any], grant: grants.CallGrant, filters: dict[str, str]) -> None:
    known = {item["key"] for item in doc["items"]}
    unknown = sorted(set(filters) - known)
    if unknown:
        raise ValidationFailed(f"信息资源没有这些信息项:{'、'.join(unknown)}", code="unknown_item",
                               details={"items": unknown})
    hidden = sorted(set(filters) - set(grant.items))
    if hidden:
        raise Forbidden(f"不能按未授权的信息项查询:{'、'.join(hidden)}", code="item_not_granted",
                        details={"items": hidden})


def _fetch(db: Session, run: _Call, doc: dict[str, Any], grant: grants.CallGrant) -> list[dict[str, Any]]:
    endpoint = cache.endpoint(db, run.code)
    if endpoint is not None:
        rows = proxy.fetch(endpoint, run.filters, run.limit)
        return proxy.restrict(rows, grant.items, grant.row_scope, run.filters, run.limit)
    version = cache.latest_version(db, run.code)
    if version is None:
        raise NotFound(f"信息资源 {run.code} 尚无已发布的数据", code="no_published_version")
    return serving.lookup(version, doc["items"], run.filters, grant.row_scope or None, grant.items, run.limit)


def _audit(run: _Call, outcome: str, *, rows: int, response_hash: str | None, grant_id: int | None = None) -> None:
    principal = run.principal
    person = principal.name if principal.kind == "user" else None
    system = principal.name.removeprefix("system:") if principal.kind == "system" else None
    extra: dict[str, Any] = {"ms": round((time.perf_counter() - run.started) * 1000, 2), "day": grants.today()}
    if grant_id is not None:
        extra["grant_id"] = grant_id
    audit.record({
        "request_id": run.request_id, "kind": "exchange.call", "outcome": outcome,
        "consumer_org": principal.org_code, "consumer_system": system, "consumer_person": person,
        "provider_org": run.provider, "resource": run.code[:40], "items": run.items if outcome == "ok" else [],
        "query": {"filters": run.filters, "limit": run.limit}, "purpose": run.purpose, "rows": rows,
        "response_hash": response_hash, "extra": extra,
    })
