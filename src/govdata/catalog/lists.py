"""The four lists of the seed (共享清单、开放清单与开放需求清单、责任清单、负面清单), derived live from the
published catalog every time they are read, so they are never out of date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.catalog.models import OpenDemand
from govdata.errors import NotFound
from govdata.standards import enums

Row = dict[str, Any]


@dataclass(frozen=True)
class ListKind:
    title: str
    columns: tuple[tuple[str, str], ...]  # (key, Chinese header)
    rows: Callable[[Session, str | None], list[Row]]


def _base(doc: dict[str, Any]) -> Row:
    return {"code": doc["code"], "name": doc["name"], "provider": doc["provider"],
            "provider_name": doc["provider_name"]}


def _share_rows(db: Session, org: str | None) -> list[Row]:
    return [{**_base(d), "share_type": enums.SHARE_TYPES[d["share_type"]], "share_condition": d["share_condition"],
             "share_method": enums.SHARE_METHODS[d["share_method"]],
             "update_cycle": enums.UPDATE_CYCLES[d["update_cycle"]],
             "items": "、".join(i["name"] for i in d["items"])}
            for d in _docs(db, org, share_types=("unconditional", "conditional"))]


def _open_rows(db: Session, org: str | None) -> list[Row]:
    return [{**_base(d), "open_condition": d["open_condition"] or "无条件开放", "format": enums.FORMATS[d["format"]],
             "update_cycle": enums.UPDATE_CYCLES[d["update_cycle"]]}
            for d in _docs(db, org, open_only=True)]


def _responsibility_rows(db: Session, org: str | None) -> list[Row]:
    return [{**_base(d), "responsible_person": d["responsible_person"], "contact": d["contact"],
             "update_duty": f"{enums.UPDATE_CYCLES[d['update_cycle']]}更新",
             "grade": enums.GRADES[d["grade"]], "publish_date": d["publish_date"]}
            for d in _docs(db, org)]


def _negative_rows(db: Session, org: str | None) -> list[Row]:
    return [{**_base(d), "share_basis": d["share_basis"]} for d in _docs(db, org, share_types=("none",))]


DEMAND_STATUS = {"pending": "待答复", "accepted": "已受理", "rejected": "不予开放", "opened": "已开放"}


def _demand_rows(db: Session, org: str | None) -> list[Row]:
    stmt = select(OpenDemand).order_by(OpenDemand.created_at.desc())
    if org:
        stmt = stmt.where(OpenDemand.target_org == org)
    return [{"id": d.id, "title": d.title, "description": d.description, "requester": d.requester,
             "target_org": d.target_org or "", "status": DEMAND_STATUS.get(d.status, d.status), "reply": d.reply,
             "resource_code": d.resource_code or "", "created_at": d.created_at.date().isoformat(),
             "due_date": d.due_date.isoformat() if d.due_date else ""} for d in db.scalars(stmt)]


def _docs(db: Session, org: str | None, **kwargs: Any) -> list[dict[str, Any]]:
    return [e.document for e in projection.published_entries(db, provider=org, **kwargs)]


_BASE_COLUMNS = (("code", "资源代码"), ("name", "资源名称"), ("provider", "提供方代码"), ("provider_name", "提供方"))

LISTS: dict[str, ListKind] = {
    "share": ListKind("共享清单", (*_BASE_COLUMNS, ("share_type", "共享类型"), ("share_condition", "共享条件"),
                                   ("share_method", "共享方式"), ("update_cycle", "更新周期"), ("items", "信息项")),
                      _share_rows),
    "open": ListKind("开放清单", (*_BASE_COLUMNS, ("open_condition", "开放条件"), ("format", "资源格式"),
                                  ("update_cycle", "更新周期")), _open_rows),
    "open-demand": ListKind("开放需求清单", (("id", "编号"), ("title", "需求名称"), ("description", "需求描述"),
                                            ("requester", "提出人"), ("target_org", "责任部门"), ("status", "办理状态"),
                                            ("reply", "答复意见"), ("resource_code", "对应资源代码"),
                                            ("created_at", "提出日期"), ("due_date", "答复期限")), _demand_rows),
    "responsibility": ListKind("责任清单", (*_BASE_COLUMNS, ("responsible_person", "责任人"), ("contact", "联系方式"),
                                            ("update_duty", "更新责任"), ("grade", "数据分级"),
                                            ("publish_date", "发布日期")), _responsibility_rows),
    "negative": ListKind("负面清单", (*_BASE_COLUMNS, ("share_basis", "不予共享依据")), _negative_rows),
}


def get_kind(kind: str) -> ListKind:
    if kind not in LISTS:
        raise NotFound(f"清单不存在:{kind}(应为 {'、'.join(LISTS)})", code="list_not_found")
    return LISTS[kind]


def build(db: Session, kind: str, org: str | None = None) -> dict[str, Any]:
    spec = get_kind(kind)
    rows = spec.rows(db, org)
    return {"kind": kind, "title": spec.title, "total": len(rows),
            "columns": [{"key": k, "title": t} for k, t in spec.columns], "items": rows}


def as_table(listing: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    keys = [c["key"] for c in listing["columns"]]
    return [c["title"] for c in listing["columns"]], [[row.get(k) for k in keys] for row in listing["items"]]
