"""Request bodies of the one-thing API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class CitizenSignIn(BaseModel):
    id_number: str = Field(min_length=15, max_length=18, description="公民身份号码")
    name: str = Field(min_length=1, max_length=50, description="姓名")


class CaseCreate(BaseModel):
    package: str = Field(min_length=2, max_length=40, description="套餐 key,如 newborn")
    applicant: dict[str, Any] = Field(description="{id_number, name, ...填报项} 或 {id_number, name, inputs: {...}}")


class Consent(BaseModel):
    agree: bool = Field(default=True, description="同意按证明清单调取;false 表示不同意(办件撤回,不调取任何证明)")


class Submit(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict, description="补填的表单项,键为 事项key.字段key")
    inputs: dict[str, Any] = Field(default_factory=dict, description="套餐填报项")


class Supplement(BaseModel):
    task_id: int
    note: str = Field(min_length=1, max_length=2000)


class TaskDecision(BaseModel):
    decision: Literal["accept", "reject", "request_info"]
    comment: str = Field(default="", max_length=2000)
    outputs: dict[str, Any] = Field(default_factory=dict, description="办理结果项(通过时)")


class PackageUpload(BaseModel):
    content: str = Field(min_length=10, max_length=500_000, description="套餐文件(YAML)")
    flow: str | None = Field(default=None, max_length=2_000_000, description="BPMN 流程文件(套餐文件 flow 指定时)")
