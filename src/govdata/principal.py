"""Who is acting (主体): a person, a system credential, the CLI operator, or an anonymous login attempt.

Every service that changes something takes a Principal: it decides what is allowed and is written to
the action log. Roles: bureau_admin (大数据局管理员), dept_admin (部门数据管理员), dept_staff (部门工作人员),
auditor (审计员, read-only on audit trails); "system" for a credential, "operator" for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from govdata.errors import Forbidden
from govdata.i18n import N_

ROLE_LABELS = {
    "bureau_admin": N_("大数据局管理员"),
    "dept_admin": N_("部门数据管理员"),
    "dept_staff": N_("部门工作人员"),
    "auditor": N_("审计员"),
}


@dataclass(frozen=True)
class Principal:
    kind: str  # user | system | cli | anonymous | citizen
    name: str
    role: str
    org_id: int | None = None
    org_code: str | None = None
    user_id: int | None = None
    credential_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    subject: str | None = None  # a citizen's ID number (kind "citizen", one-thing services)

    @property
    def is_platform_admin(self) -> bool:
        return self.role in ("bureau_admin", "operator")

    def has_role(self, *roles: str) -> bool:
        return self.is_platform_admin or self.role in roles

    def with_request(self, ip: str | None, user_agent: str | None, request_id: str | None) -> Principal:
        return replace(self, ip=ip, user_agent=user_agent, request_id=request_id)


CLI = Principal(kind="cli", name="cli", role="operator")


def anonymous(name: str = "-", ip: str | None = None, user_agent: str | None = None,
              request_id: str | None = None) -> Principal:
    return Principal(kind="anonymous", name=name, role="anonymous", ip=ip, user_agent=user_agent,
                     request_id=request_id)


def require_role(principal: Principal, *roles: str) -> None:
    """bureau_admin and the CLI operator pass every check; others need one of ``roles``."""
    if not principal.has_role(*roles):
        raise Forbidden("当前账号无权执行此操作", code="forbidden")
