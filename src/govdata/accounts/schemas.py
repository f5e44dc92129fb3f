from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    full_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=128)
    org: str = Field(description="所属机构编码")
    role: str = Field(description="bureau_admin | dept_admin | dept_staff | auditor")
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)

    @field_validator("username", "full_name", "org", "email", "phone", mode="before")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) else value


class UserUpdate(BaseModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=100)
    org: str | None = None
    role: str | None = None
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    is_active: bool | None = None


class PasswordReset(BaseModel):
    password: str = Field(min_length=1, max_length=128)
    current_password: str | None = Field(default=None, max_length=128, description="修改自己的密码时必填")


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=128)


class CredentialCreate(BaseModel):
    org: str
    name: str = Field(min_length=1, max_length=100, description="调用方系统名称")
    expires_days: int | None = Field(default=None, ge=1, le=3650)
