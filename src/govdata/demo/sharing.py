"""Demo sharing: requests in every state, grants, a consumer system and gateway calls, so the sharing pages, the
audit trail and the evaluation are alive on first start. Everything goes through the services, as people and
systems would do it; run again, it adds nothing."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.orm import Session

from govdata.accounts import service as accounts
from govdata.accounts.schemas import CredentialCreate
from govdata.audit import service as audit
from govdata.catalog import projection
from govdata.demo import data
from govdata.errors import AppError
from govdata.exchange import gateway
from govdata.ingest import service as ingest
from govdata.orgs import service as orgs
from govdata.principal import CLI, Principal
from govdata.sharing import service as sharing
from govdata.sharing.schemas import Decision, RequestCreate

SYSTEM_NAME = "出生一件事业务系统"
CALLS = 120


def officer(db: Session, org_code: str, role: str = "dept_admin") -> Principal:
    """The demo account of that department and role, or a stand-in named the same way (rs_admin …)."""
    org = orgs.get_by_code(db, org_code)
    name = next((user for user, _, code, r in data.ACCOUNTS if code == org_code and r == role),
                f"{org_code.rsplit('-', 1)[-1].lower()}_admin")
    return Principal(kind="user", name=name, role=role, org_id=org.id, org_code=org_code)


def _code(db: Session, provider: str, name: str) -> str | None:
    entry = next((e for e in projection.published_entries(db, provider=provider) if e.name == name), None)
    return entry.code if entry else None


# (consumer, provider, resource, items, row scope, purpose/matter, decisions: list of (who, decision, comment))
REQUESTS: list[tuple[str, str, str, list[str], dict[str, list[str]], str, list[tuple[str, str, str]]]] = [
    ("450200-WJ", "450200-GA", "户籍人口登记信息", ["id_number", "name", "sex", "birth_date", "household_region"], {},
     "出生登记", [("provider", "approve", "同意,限出生一件事使用"), ("bureau", "approve", "校核通过")]),
    ("450200-WJ", "450200-SJ", "营业执照信息", ["uscc", "company_name", "legal_representative", "address"], {},
     "医疗机构执业登记", []),
    ("450202-JY", "450200-GA", "户籍人口登记信息", ["id_number", "name", "household_region"],
     {"household_region": ["450202"]}, "义务教育入学资格审核", []),
    ("450200-JY", "450200-WJ", "预防接种信息", ["child_id_number", "child_name", "vaccine_name", "vaccination_date"],
     {}, "入学接种证查验", [("provider", "request_changes", "请补充入学查验的政策依据文号")]),
    ("450200-RS", "450200-MZ", "低保救助对象信息", ["household_no", "head_name", "head_id_number", "monthly_amount"],
     {}, "社保补贴发放", [("provider", "reject", "低保对象信息仅限民政救助业务使用")]),
]


def load(db: Session) -> dict[str, int]:
    """Create the demo requests once (when no sharing request exists yet) and call the gateway."""
    if sharing.list_requests(db, CLI)[1]:
        return {"requests": 0, "calls": 0}
    made = 0
    for consumer, provider, name, items, scope, matter, decisions in REQUESTS:
        code = _code(db, provider, name)
        if code is None:
            continue
        req = sharing.create_request(db, officer(db, consumer), RequestCreate(
            resource=code, items=items, row_scope=scope, purpose=f"办理{matter}时核验申请人信息", matter=matter,
            basis="《柳州市政务数据资源共享管理办法》", days=365, daily_quota=5000))
        for who, decision, comment in decisions:
            decider = officer(db, provider) if who == "provider" else officer(db, "450200-DSJ", "bureau_admin")
            sharing.decide(db, decider, req.id, Decision(decision=decision, comment=comment))
        made += 1
    calls = _calls(db)
    return {"requests": made, "calls": calls}


def _calls(db: Session) -> int:
    """The WJ birth-registration system looks people up in GA's population register."""
    code = _code(db, "450200-GA", "户籍人口登记信息")
    version = ingest.latest_published(db, code) if code else None
    if version is None:
        return 0
    cred, _ = accounts.create_credential(db, CLI, CredentialCreate(org="450200-WJ", name=SYSTEM_NAME))
    system = Principal(kind="system", name=f"system:{SYSTEM_NAME}", role="system", org_id=cred.org_id,
                       org_code="450200-WJ", credential_id=cred.id)
    ids = ingest.read_rows(version, ["id_number"])["id_number"].head(CALLS).to_list()
    done = 0
    for n, id_number in enumerate(ids):
        purpose = None if n % 40 == 39 else f"出生登记 办件编号 CS2026{n:05d}"  # now and then one forgets
        done += _call(db, system, code, [("id_number", id_number)], purpose)
    other = officer(db, "450200-JY")  # no grant: refused and audited
    done += _call(db, other, code, [("id_number", ids[0])], "学籍核验")
    audit.stop_writer()
    return done


def _call(db: Session, who: Principal, code: str, params: list[tuple[str, Any]], purpose: str | None) -> int:
    with contextlib.suppress(AppError):  # a refusal is part of the demo: it is in the audit trail
        gateway.call(db, who, code, [(k, str(v)) for k, v in params], purpose)
    return 1
