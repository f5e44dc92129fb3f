"""Tables of the exchange gateway's building blocks: masking rules (脱敏规则).

A masking rule says which information items it applies to (by item key pattern, data element code or a
substring of the item's Chinese name) and how a value is masked (``kind`` with ``keep_start``/``keep_end``).
Only items of sensitivity L3/L4 are masked; an L3/L4 item no rule matches is masked completely. The rules are
data: the bureau edits them and the gateway's answers change without a code change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

# kind → Chinese label. keep: keep_start/keep_end characters stay, the rest is masked; name: like keep, but a
# compound surname (欧阳, 司马 …) stays whole; email: the local part is masked that way, the domain stays.
RULE_KINDS = {"keep": "保留首尾字符", "name": "保留姓氏", "email": "保留邮箱首字符和域名"}


class MaskingRule(Base):
    __tablename__ = "masking_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # id_number
    label: Mapped[str] = mapped_column(String(100))  # 公民身份号码
    kind: Mapped[str] = mapped_column(String(16), default="keep")
    match_keys: Mapped[list[str]] = mapped_column(JSON, default=list)  # item keys or fnmatch patterns
    match_elements: Mapped[list[str]] = mapped_column(JSON, default=list)  # data element codes
    match_names: Mapped[list[str]] = mapped_column(JSON, default=list)  # substrings of the item's Chinese name
    keep_start: Mapped[int] = mapped_column(Integer, default=0)
    keep_end: Mapped[int] = mapped_column(Integer, default=0)
    mask_char: Mapped[str] = mapped_column(String(4), default="*")
    fixed_mask: Mapped[bool] = mapped_column(Boolean, default=False)  # mask_length chars, not one per char
    mask_length: Mapped[int] = mapped_column(Integer, default=4)
    priority: Mapped[int] = mapped_column(Integer, default=100)  # lower is tried first
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The rules shipped with the platform (migration 0007 and ``masking.seed_defaults``). Data elements: DE0001
# 姓名, DE0002 公民身份号码, DE0007 手机号码, DE0008 地址, DE0014 法定代表人, DE0017 电子邮箱, DE0031 联系电话.
DEFAULT_RULES: list[dict[str, Any]] = [
    {"name": "id_number", "label": "公民身份号码", "kind": "keep", "keep_start": 6, "keep_end": 4,
     "match_keys": ["*id_number*", "*id_no", "*idcard*", "*id_card*"], "match_elements": ["DE0002"],
     "match_names": ["身份证", "公民身份号码"], "priority": 10},
    {"name": "bank_card", "label": "银行卡号", "kind": "keep", "keep_start": 6, "keep_end": 4,
     "match_keys": ["*bank_card*", "*bank_account*", "*card_no*"], "match_elements": [],
     "match_names": ["银行卡", "银行账号", "银行账户"], "priority": 20},
    {"name": "email", "label": "电子邮箱", "kind": "email", "keep_start": 1, "keep_end": 0, "fixed_mask": True,
     "mask_length": 3, "match_keys": ["*email*", "*e_mail*"], "match_elements": ["DE0017"],
     "match_names": ["邮箱", "电子邮件"], "priority": 30},
    {"name": "phone", "label": "电话号码", "kind": "keep", "keep_start": 3, "keep_end": 4,
     "match_keys": ["*phone*", "*mobile*", "tel", "*_tel", "tel_*"], "match_elements": ["DE0007", "DE0031"],
     "match_names": ["电话", "手机", "联系方式"], "priority": 40},
    {"name": "person_name", "label": "姓名", "kind": "name", "keep_start": 1, "keep_end": 0,
     "match_keys": ["name", "full_name", "*person_name*"], "match_elements": ["DE0001", "DE0014"],
     "match_names": ["姓名", "法定代表人", "联系人"], "priority": 50},
    {"name": "address", "label": "地址", "kind": "keep", "keep_start": 6, "keep_end": 0, "fixed_mask": True,
     "mask_length": 4, "match_keys": ["*address*", "*addr"], "match_elements": ["DE0008"],
     "match_names": ["地址", "住址", "住所"], "priority": 60},
]


def default_rule_rows(now: datetime | None = None) -> list[dict[str, Any]]:
    """``DEFAULT_RULES`` as complete rows for a bulk insert."""
    now = now or utcnow()
    base = {"kind": "keep", "keep_start": 0, "keep_end": 0, "mask_char": "*", "fixed_mask": False,
            "mask_length": 4, "priority": 100, "enabled": True, "updated_by": "system", "updated_at": now}
    return [{**base, **rule} for rule in DEFAULT_RULES]


class ProviderEndpoint(Base):
    """A provider department's own service for a resource shared by interface (接口); see exchange.endpoints."""

    __tablename__ = "exchange_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    auth_header: Mapped[str] = mapped_column(String(64), default="")  # e.g. Authorization, X-Api-Key
    secret: Mapped[str] = mapped_column(Text, default="")  # encrypted with the platform key (govdata.vault)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
