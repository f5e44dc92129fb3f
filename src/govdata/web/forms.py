"""Helpers for server-rendered forms: turn validation failures into messages shown beside the form."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from govdata.errors import ValidationFailed
from govdata.i18n import N_

M = TypeVar("M", bound=BaseModel)

_PROBLEMS = {"missing": "必填", "string_pattern_mismatch": "格式不符合要求", "string_too_short": "不能为空",
             "string_too_long": "过长", "int_parsing": "应为整数"}


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form fields into ``model``; blank optional fields count as absent."""
    cleaned = {k: v for k, v in data.items() if not (isinstance(v, str) and v.strip() == "")}
    try:
        return model.model_validate(cleaned)
    except PydanticValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}:{_PROBLEMS.get(e['type'], e['msg'])}" for e in exc.errors()]
        raise ValidationFailed("表单填写有误 —— " + ";".join(parts), code="validation_error") from exc


NOTICES = {
    "org_created": N_("机构已创建"), "org_updated": N_("机构已保存"), "org_deleted": N_("机构已删除"),
    "user_created": N_("人员已创建"), "user_updated": N_("人员已保存"), "user_deleted": N_("人员已删除"),
    "password_reset": N_("密码已重置"), "credential_revoked": N_("凭证已吊销"),
}
