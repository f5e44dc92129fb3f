from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from govdata.accounts import service
from govdata.accounts.schemas import CredentialCreate, PasswordReset, TokenRequest, UserCreate, UserUpdate
from govdata.config import get_settings
from govdata.db import get_db
from govdata.principal import Principal
from govdata.web.deps import Paging, api_principal, attempt_principal, bearer_token, person_principal

router = APIRouter(prefix="/api/v1", tags=["accounts 人员与凭证"])


@router.post("/auth/token")
def issue_token(data: TokenRequest, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    _, token = service.login(db, data.username, data.password, attempt_principal(request, data.username),
                             kind="api")
    return {"access_token": token, "token_type": "bearer",
            "expires_in": int(get_settings().session_hours * 3600)}


@router.post("/auth/logout", status_code=204)
def revoke_own_token(request: Request, db: Session = Depends(get_db),
                     principal: Principal = Depends(person_principal)) -> None:
    service.logout(db, principal, bearer_token(request) or "")


@router.get("/me")
def me(db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return {"name": principal.name, "kind": principal.kind, "role": principal.role, "org": principal.org_code}


@router.get("/users")
def list_users(org: str | None = None, role: str | None = None, q: str | None = Query(None, max_length=100),
               paging: Paging = Depends(), db: Session = Depends(get_db),
               principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    total, rows = service.list_users(db, principal, org=org, role=role, q=q, page=paging.page,
                                     page_size=paging.page_size)
    return {"total": total, "items": service.user_dicts(db, rows)}


@router.post("/users", status_code=201)
def create_user(data: UserCreate, db: Session = Depends(get_db),
                principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.user_dict(db, service.create_user(db, principal, data))


@router.get("/users/{username}")
def get_user(username: str, db: Session = Depends(get_db),
             principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    user = service.get_user(db, username)
    if not principal.has_role("auditor") and user.id != principal.user_id:
        service.ensure_can_manage(principal, user.org_id)
    return service.user_dict(db, user)


@router.patch("/users/{username}")
def update_user(username: str, data: UserUpdate, db: Session = Depends(get_db),
                principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.user_dict(db, service.update_user(db, principal, username, data))


@router.post("/users/{username}/password", status_code=204)
def reset_password(username: str, data: PasswordReset, db: Session = Depends(get_db),
                   principal: Principal = Depends(person_principal)) -> None:
    service.reset_password(db, principal, username, data.password, data.current_password)


@router.delete("/users/{username}", status_code=204)
def delete_user(username: str, db: Session = Depends(get_db),
                principal: Principal = Depends(person_principal)) -> None:
    service.delete_user(db, principal, username)


@router.get("/credentials")
def list_credentials(org: str | None = None, db: Session = Depends(get_db),
                     principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    rows = service.list_credentials(db, principal, org)
    return {"total": len(rows), "items": [service.credential_dict(db, c) for c in rows]}


@router.post("/credentials", status_code=201)
def create_credential(data: CredentialCreate, db: Session = Depends(get_db),
                      principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    cred, token = service.create_credential(db, principal, data)
    return {**service.credential_dict(db, cred), "token": token}


@router.post("/credentials/{cred_id}/revoke")
def revoke_credential(cred_id: int, db: Session = Depends(get_db),
                      principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.credential_dict(db, service.revoke_credential(db, principal, cred_id))
