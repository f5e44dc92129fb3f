"""REST API of the exchange gateway and of providers' service registrations.

The gateway route ends in a resource code containing "/", so it is registered after every other
``/api/v1/exchange/...`` route (masking rules, endpoints), and these routers come first in the application, so
the gateway's path is found after a handful of routes, not after all of them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from govdata.db import get_db, new_session
from govdata.exchange import endpoints, gateway
from govdata.exchange.endpoints import EndpointIn
from govdata.principal import Principal
from govdata.web.deps import api_principal, person_principal

endpoints_router = APIRouter(prefix="/api/v1/exchange/endpoints", tags=["exchange 交换网关"])
router = APIRouter(prefix="/api/v1/exchange", tags=["exchange 交换网关"])


@endpoints_router.get("/{code:path}")
def get_endpoint(code: str, db: Session = Depends(get_db),
                 principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return endpoints.endpoint_dict(endpoints.get(db, principal, code))


@endpoints_router.put("/{code:path}")
def register_endpoint(code: str, data: EndpointIn, db: Session = Depends(get_db),
                      principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Register (or change) the provider's own service for a resource shared by interface (接口)."""
    return endpoints.endpoint_dict(endpoints.register(db, principal, code, data))


@endpoints_router.delete("/{code:path}", status_code=204)
def delete_endpoint(code: str, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> Response:
    endpoints.delete(db, principal, code)
    return Response(status_code=204)


@router.get("/{code:path}")
def exchange(code: str, request: Request) -> Response:
    """Exact-match lookup of granted items: ``?{item_key}={value}&limit=n``, header ``X-Purpose`` (UTF-8 or
    percent-encoded; a case number is a purpose). The answer is sent only after its audit record is durable;
    ``records`` is hashed byte for byte as ``response_hash`` in that record."""
    # No dependencies: the session and the caller are resolved here, in the one worker thread this call takes
    # (each dependency would be another hop through the thread pool, on the platform's busiest route).
    with new_session() as db:
        principal = api_principal(request, db)
        purpose = request.headers.get("x-purpose") or request.headers.get("x-case-number")
        answer = gateway.call(db, principal, code, list(request.query_params.multi_items()), purpose)
    return Response(answer.body, media_type="application/json",
                    headers={"X-Audit-Request-Id": answer.request_id, "Cache-Control": "no-store"})
