"""Demo one-thing services: the shipped packages, the grants their operator (柳州市行政审批局, the service centre)
holds for the proofs, and cases in every state run through the services as applicants and officers would — so
the queues, the case pages and the metrics are alive on first start. Run again, it adds nothing.

One source is deliberately left without a grant (住建局's lease filings: the request waits for the provider), so
the demo shows a proof falling back to the paper material.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.demo.sharing import officer
from govdata.errors import AppError
from govdata.onething import package as pkg
from govdata.onething import packages, service, tasks
from govdata.principal import CLI, Principal
from govdata.sharing import service as sharing
from govdata.sharing.schemas import Decision, RequestCreate

WITHOUT_GRANT = {("450200-ZJ", "房屋租赁登记备案信息")}
BASIS = "《国务院关于进一步优化政务服务提升行政效能推动“高效办成一件事”的指导意见》(国发〔2024〕3号)"
# package → (cases, of which completed): the rest stay in departments' queues, one waits for the applicant
CASES = {"newborn": (14, 9), "school_enrolment": (12, 7), "company_startup": (8, 5), "retirement": (6, 3)}
DEFAULTS = {"business_scope": "一般项目:软件开发;信息技术咨询服务;信息系统集成服务。", "registered_capital": "100",
            "employees": "8"}


def needed_grants(db: Session) -> dict[tuple[str, str], tuple[set[str], list[str]]]:
    """(provider, resource) → (items, matters) every loaded package needs from it."""
    out: dict[tuple[str, str], tuple[set[str], list[str]]] = {}
    for _, package in packages.list_current(db):
        spec = package.spec
        for e in spec.evidence:
            items, matters = out.setdefault((e.resource.provider, e.resource.name), (set(), []))
            items.update(spec.items_needed(e.key))
            matters += [f"{spec.name}·{m.name}" for m in spec.matters if e.key in m.evidence]
    return out


def grant_operator(db: Session, operator: str = "450200-SP", *, skip: set[tuple[str, str]] = WITHOUT_GRANT) -> int:
    """Apply, as the operator, for every resource the packages read; providers and the bureau approve (except
    ``skip``, whose request stays with the provider). Returns the number of requests made."""
    codes = {(e.provider, e.name): e.code for e in projection.published_entries(db)}
    rows, _ = sharing.list_requests(db, officer(db, operator), side="consumer", page=1, page_size=500)
    held = {r.resource_code for r in rows if r.status not in ("rejected", "withdrawn")}
    made = 0
    for (provider, name), (items, matters) in sorted(needed_grants(db).items()):
        code = codes.get((provider, name))
        if code is None or code in held:
            continue
        matter = "、".join(dict.fromkeys(matters))[:190] or "一件事联办"
        req = sharing.create_request(db, officer(db, operator), RequestCreate(
            resource=code, items=sorted(items), unmasked_items=sorted(items), matter=matter, basis=BASIS, days=365,
            purpose=f"一件事联办时调取申请人证明:{matter}", daily_quota=None))
        made += 1
        if (provider, name) in skip or req.status == "granted":
            continue
        approve = Decision(decision="approve", comment="同意,限一件事联办使用")
        sharing.decide(db, officer(db, provider), req.id, approve)
        sharing.decide(db, officer(db, "450200-DSJ", "bureau_admin"), req.id, approve)
    return made


def load(db: Session, applicants: Any = None) -> dict[str, int]:
    """Packages, grants and demo cases (once). ``applicants(db, key, limit)`` gives sample applicants."""
    loaded = sum(created for _, created in packages.load_shipped(db, CLI))
    grants = grant_operator(db)
    cases = 0
    if applicants is not None and not service.any_case(db):
        rng = random.Random(20261123)
        for key, (count, done) in CASES.items():
            cases += _run(db, key, applicants(db, key, count), done, rng)
    return {"packages": loaded, "grants": grants, "cases": cases}


def citizen(person: dict[str, Any]) -> Principal:
    return Principal(kind="citizen", name=person["name"], role="citizen", subject=person["id_number"])


def inputs_for(spec: pkg.PackageSpec, given: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """What an applicant would type: the sample's own inputs, then plausible values by field type."""
    out = {}
    for f in spec.inputs:
        if f.key in given:
            out[f.key] = given[f.key]
        elif f.key in DEFAULTS:
            out[f.key] = DEFAULTS[f.key]
        elif f.type == "phone":
            out[f.key] = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        elif f.type == "choice":
            out[f.key] = rng.choice(f.options)
    return out


def fill_missing(gaps: list[dict[str, Any]]) -> dict[str, str]:
    return {g["field"]: (g["options"][-1] if g["options"] else "无") for g in gaps}


def _run(db: Session, key: str, people: list[dict[str, Any]], done: int, rng: random.Random) -> int:
    spec = packages.current(db, key)[1].spec
    count = 0
    for n, person in enumerate(people):
        who = citizen(person)
        try:
            case = service.start(db, who, key, {"id_number": person["id_number"], "name": person["name"],
                                                "inputs": inputs_for(spec, person.get("inputs") or {}, rng)})
            service.consent(db, who, case.id, agree=True)
            if n == len(people) - 1:
                continue  # one applicant has looked at the evidence and not submitted yet
            service.submit(db, who, case.id, fields=fill_missing(service.missing(case, spec)))
        except AppError:
            db.rollback()
            continue
        count += 1
        _work(db, case.id, finish=n < done, ask=n == done)
        _backdate(db, case.id, rng)
    return count


def _work(db: Session, case_id: int, *, finish: bool, ask: bool) -> None:
    """Officers accept every open matter (all of them when ``finish``, the first round otherwise); ``ask``
    requests more information on the first open matter instead."""
    for _ in range(10):
        open_tasks = [t for t in tasks.of_case(db, case_id) if t.status == "open"]
        if not open_tasks:
            return
        for task in open_tasks:
            staff = officer(db, task.org_code, "dept_staff")
            if ask:
                tasks.decide(db, staff, task.id, "request_info", "请补充监护人与儿童关系证明(出生医学证明或户口簿)")
                return
            tasks.decide(db, staff, task.id, "accept", "材料齐全,准予办理",
                         {k: v or "演示结果" for k, v in (task.proposals or {}).items()} | _blank_outputs(db, task))
        if not finish:
            return


def _blank_outputs(db: Session, task: Any) -> dict[str, str]:
    """Outputs with no proposal (a card number, an appointment time) as an officer would type them."""
    case = service.get_case_row(db, task.case_id)
    spec = packages.version(db, case.package_key, case.package_version).spec
    outputs = spec.matter(task.matter).outputs
    return {o.key: f"{o.key.upper()[:3]}{task.case_id:06d}{task.id:04d}" for o in outputs
            if o.key not in (task.proposals or {}) and o.type == "text"} | {
        o.key: "3200" for o in outputs if o.key not in (task.proposals or {}) and o.type == "number"}


def _backdate(db: Session, case_id: int, rng: random.Random) -> None:
    """Spread the case over the past weeks as it would have happened: submission, then each matter handled
    within hours or days of the ones it needed."""
    start = datetime.now().astimezone() - timedelta(days=rng.uniform(1, 40))
    service.replay_times(db, case_id, start, lambda: timedelta(hours=rng.uniform(1.5, 52)))
