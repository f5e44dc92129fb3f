"""Chinese labels (gettext message ids) the catalog pages show, and the page renderer that hands them to
every catalog template."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from govdata.i18n import N_
from govdata.principal import Principal
from govdata.standards import enums
from govdata.web.templating import render

NOTICES = {
    "resource_created": N_("信息资源已登记为草稿,确认无误后请提交审核"),
    "resource_updated": N_("信息资源已保存为草稿,需重新提交审核"),
    "resource_unchanged": N_("内容没有变化,未生成新版本"),
    "resource_submitted": N_("已提交审核"),
    "resource_approved": N_("已审核通过并发布"),
    "resource_rejected": N_("已退回"),
    "resource_deleted": N_("草稿已删除"),
    "demand_created": N_("开放需求已登记"),
    "demand_replied": N_("答复已保存"),
}

STATUS_LABELS = {"draft": N_("草稿"), "submitted": N_("待审核"), "published": N_("已发布"), "rejected": N_("已退回")}
EVENT_LABELS = {"create": N_("登记"), "update": N_("修改"), "submit": N_("提交审核"), "approve": N_("审核通过"),
                "reject": N_("退回")}
SORTS = {"": N_("相关度"), "newest": N_("最新"), "name": N_("名称")}

FIELD_LABELS = {
    "code": N_("资源代码"), "name": N_("资源名称"), "provider": N_("提供方"), "provider_name": N_("提供方名称"),
    "summary": N_("摘要"), "classification": N_("资源分类"), "classification_code": N_("分类代码"),
    "format": N_("资源格式"), "share_type": N_("共享类型"), "share_condition": N_("共享条件"),
    "share_method": N_("共享方式"), "share_basis": N_("不予共享依据"), "open": N_("是否开放"),
    "open_condition": N_("开放条件"), "update_cycle": N_("更新周期"), "publish_date": N_("发布日期"),
    "related_codes": N_("关联资源代码"), "grade": N_("数据分级"), "sensitivity": N_("敏感级别"),
    "responsible_person": N_("责任人"), "contact": N_("联系方式"), "rules": N_("校验规则"), "items": N_("信息项"),
    "secret": N_("涉密"),
}
ITEM_LABELS = {
    "key": N_("英文标识"), "name": N_("名称"), "data_type": N_("数据类型"), "length": N_("长度"),
    "required": N_("必填"), "primary_key": N_("主键"), "data_element": N_("数据元"), "sensitivity": N_("敏感级别"),
    "identifies": N_("标识个人或实体"),
}
# Enumerated fields of a resource and of an item: their values are shown through these Chinese labels.
ENUM_LABELS = {"format": enums.FORMATS, "share_type": enums.SHARE_TYPES, "share_method": enums.SHARE_METHODS,
               "update_cycle": enums.UPDATE_CYCLES, "grade": enums.GRADES, "sensitivity": enums.SENSITIVITIES,
               "data_type": enums.DATA_TYPES}

FACETS = (("provider", N_("提供部门")), ("classification", N_("资源分类")), ("share_type", N_("共享类型")),
          ("format", N_("资源格式")), ("open", N_("是否开放")), ("update_cycle", N_("更新周期")))
OPEN_LABELS = {"true": N_("开放"), "false": N_("不开放")}

# The four lists' titles and column headers (catalog/lists.py) and the demand states, marked for translation.
LIST_TEXT = (
    N_("共享清单"), N_("开放清单"), N_("开放需求清单"), N_("责任清单"), N_("负面清单"),
    N_("资源代码"), N_("资源名称"), N_("提供方代码"), N_("提供方"), N_("共享类型"), N_("共享条件"), N_("共享方式"),
    N_("更新周期"), N_("信息项"), N_("开放条件"), N_("资源格式"), N_("编号"), N_("需求名称"), N_("需求描述"),
    N_("提出人"), N_("责任部门"), N_("办理状态"), N_("答复意见"), N_("对应资源代码"), N_("提出日期"),
    N_("答复期限"), N_("责任人"), N_("联系方式"), N_("更新责任"), N_("数据分级"), N_("发布日期"), N_("不予共享依据"),
    N_("待答复"), N_("已受理"), N_("不予开放"), N_("已开放"),
)
LIST_INTROS = {
    "share": N_("可在部门间共享(无条件共享、有条件共享)的信息资源及其共享方式"),
    "open": N_("向社会开放的信息资源"),
    "open-demand": N_("社会公众提出的数据开放需求及责任部门的答复"),
    "responsibility": N_("每个信息资源的责任人与更新责任"),
    "negative": N_("不予共享的信息资源及其法律法规或政策依据"),
}
# Cells of these columns hold an enumeration's Chinese label (or a demand state) and are translated.
TRANSLATED_COLUMNS = {"share_type", "share_method", "update_cycle", "format", "grade", "status"}
DEMAND_STATES = {"accepted": N_("已受理"), "rejected": N_("不予开放"), "opened": N_("已开放")}


LABELS = {"field_labels": FIELD_LABELS, "item_labels": ITEM_LABELS, "enum_labels": ENUM_LABELS,
          "status_labels": STATUS_LABELS, "event_labels": EVENT_LABELS, "enums": enums,
          "translated_facets": {"share_type", "format", "open", "update_cycle"}}


def render_page(request: Request, name: str, context: dict[str, Any], *, status: int = 200,
            principal: Principal | None = None) -> Response:
    return render(request, name, {**LABELS, **context}, status=status, principal=principal)
