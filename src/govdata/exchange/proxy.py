"""Forwarding a gateway call to a provider's own service and cutting the answer down to the grant."""

from __future__ import annotations

import json
from typing import Any

import httpx

from govdata.errors import AppError

MAX_BYTES = 32 << 20  # a provider answer larger than this is refused, not read into memory
LIST_KEYS = ("records", "data", "rows", "result")
_client = httpx.Client(follow_redirects=False, trust_env=False,
                       limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))


class ProviderFailed(AppError):
    status = 502
    code = "provider_unavailable"


def fetch(endpoint: Any, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    headers = {endpoint.auth_header: endpoint.secret} if endpoint.auth_header and endpoint.secret else {}
    try:
        with _client.stream("GET", endpoint.url, params={**filters, "limit": str(limit)}, headers=headers,
                            timeout=endpoint.timeout) as response:
            if response.status_code != 200:
                raise ProviderFailed(f"提供部门的接口服务返回错误(HTTP {response.status_code})",
                                     code="provider_error")
            body = _read_capped(response)
    except httpx.TimeoutException as exc:
        raise ProviderFailed("提供部门的接口服务响应超时", code="provider_timeout", status=504) from exc
    except httpx.HTTPError as exc:
        raise ProviderFailed("无法连接提供部门的接口服务", code="provider_unavailable") from exc
    return _records(body)


def _read_capped(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise ProviderFailed("提供部门的接口服务返回的数据过大", code="provider_bad_response")
        chunks.append(chunk)
    return b"".join(chunks)


def _records(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ProviderFailed("提供部门的接口服务返回的不是 JSON", code="provider_bad_response") from exc
    if isinstance(data, dict):
        data = next((data[k] for k in LIST_KEYS if isinstance(data.get(k), list)), None)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ProviderFailed("提供部门的接口服务返回的数据格式不符合约定(应为记录列表)", code="provider_bad_response")
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def restrict(rows: list[dict[str, Any]], items: list[str], scope: dict[str, list[str]],
             filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Only rows that match the query and the grant's row scope, only granted items, at most ``limit``: the
    provider's service is not trusted to have filtered."""
    allowed = {key: set(values) for key, values in scope.items()}
    out = []
    for row in rows:
        if any(_text(row.get(k)) != v for k, v in filters.items()):
            continue
        if any(_text(row.get(k)) not in values for k, values in allowed.items()):
            continue
        out.append({key: row.get(key) for key in items})
        if len(out) >= limit:
            break
    return out
