"""REST API of the masking rules (脱敏规则): anyone signed in reads them (a consumer may see how answers are
masked); bureau admins create, change and delete them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from govdata.db import get_db
from govdata.errors import ValidationFailed
from govdata.exchange import masking
from govdata.exchange.models import RULE_KINDS
from govdata.principal import Principal
from govdata.web.deps import api_principal, person_principal

router = APIRouter(prefix="/api/v1/exchange/masking-rules", tags=["exchange 数据交换"])


@router.get("")
def list_rules(db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return {"items": [masking.rule_dict(r) for r in masking.list_rules(db)], "kinds": RULE_KINDS}


@router.get("/{name}")
def get_rule(name: str, db: Session = Depends(get_db),
             principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return masking.rule_dict(masking.get_rule(db, name))


@router.put("/{name}")
def save_rule(name: str, body: masking.RuleIn, db: Session = Depends(get_db),
              principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Create or change the rule ``name``; fields left out keep their value."""
    data = body.model_dump(exclude_unset=True)
    if data.setdefault("name", name) != name:
        raise ValidationFailed("请求体中的规则标识与地址中的不一致", code="rule_name_mismatch")
    return masking.rule_dict(masking.save_rule(db, principal, data))


@router.delete("/{name}", status_code=204)
def delete_rule(name: str, db: Session = Depends(get_db), principal: Principal = Depends(person_principal)) -> None:
    masking.delete_rule(db, principal, name)
