"""Helpers that build test data through the services, as a user of the platform would."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.accounts import service as accounts
from govdata.accounts.schemas import UserCreate
from govdata.orgs import service as orgs
from govdata.orgs.schemas import OrgCreate
from govdata.principal import CLI, Principal

PASSWORD = "Test-Passw0rd!"
# Real, check-digit-valid credit codes of the 11 (机关) kind for Liuzhou.
VALID_USCC = "11450200MB15632086"


def make_org(db: Session, code: str, *, parent: str | None = None, level: str = "city",
             region: str = "450200", org_type: str = "department", name: str | None = None, uscc: str | None = None):
    return orgs.create(db, CLI, OrgCreate(code=code, name=name or f"机构{code}", level=level, type=org_type,
                                          region_code=region, parent=parent, uscc=uscc))


def make_user(db: Session, username: str, org: str, role: str, password: str = PASSWORD):
    return accounts.create_user(db, CLI, UserCreate(username=username, full_name=f"用户{username}", password=password,
                                                    org=org, role=role))


def principal_of(db: Session, username: str) -> Principal:
    return accounts.principal_for_user(db, accounts.get_user(db, username))


def liuzhou(db: Session) -> None:
    """A small tree: the city government, the bureau, two city departments, a district and its department."""
    make_org(db, "LZ", name="柳州市人民政府", org_type="government")
    make_org(db, "DSJ", parent="LZ", name="柳州市大数据发展局")
    make_org(db, "GA", parent="LZ", name="柳州市公安局")
    make_org(db, "WJ", parent="LZ", name="柳州市卫生健康委员会")
    make_org(db, "CZQ", parent="LZ", level="county", region="450202", org_type="government", name="城中区人民政府")
    make_org(db, "CZQ-JY", parent="CZQ", level="county", region="450202", name="城中区教育局")
    make_user(db, "admin", "DSJ", "bureau_admin")
    make_user(db, "auditor", "DSJ", "auditor")
    make_user(db, "ga_admin", "GA", "dept_admin")
    make_user(db, "wj_admin", "WJ", "dept_admin")
    make_user(db, "wj_staff", "WJ", "dept_staff")


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def resource_spec(provider: str = "WJ", name: str = "出生医学证明信息", **overrides):
    """A valid resource registration, as a department would fill it in."""
    from govdata.catalog.schemas import ResourceIn

    data = {
        "name": name, "provider": provider, "summary": "新生儿出生医学证明签发记录", "classification": "基础/电子证照",
        "format": "database", "share_type": "conditional", "share_condition": "仅用于办理出生一件事",
        "share_method": "api", "update_cycle": "daily", "grade": "general", "sensitivity": "L3",
        "responsible_person": "张三", "contact": "0772-2800000",
        "items": [
            {"key": "certificate_no", "name": "证明编号", "data_type": "C", "length": 20, "required": True,
             "primary_key": True, "data_element": "DE0019"},
            {"key": "baby_name", "name": "新生儿姓名", "data_type": "C", "length": 50, "data_element": "DE0001"},
            {"key": "mother_id_number", "name": "母亲身份证号", "data_type": "C", "length": 18,
             "data_element": "DE0002"},
            {"key": "birth_date", "name": "出生日期", "data_type": "D", "data_element": "DE0004"},
        ],
    }
    data.update(overrides)
    return ResourceIn.model_validate(data)


def with_standards(db: Session) -> None:
    from govdata.standards import service as standards

    standards.load_shipped(db)


def publish(db: Session, spec, submitter: str | None = None):
    """Register, submit and approve a resource; returns its code."""
    from govdata.catalog import service as catalog
    from govdata.catalog.schemas import ReviewIn

    who = principal_of(db, submitter) if submitter else CLI
    resource = catalog.create(db, who, spec)
    catalog.submit(db, who, resource.code)
    catalog.review(db, CLI, resource.code, ReviewIn(decision="approve"))
    return resource.code
