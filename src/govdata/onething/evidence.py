"""Evidence (电子证明): the plan shown before consent, and the fetch through the exchange gateway after it.

Every fetch is one gateway call by the package's operator department (its "一件事服务" system), under that
department's grant, with the case number as the purpose — so it is checked, masked and audited like any other
call. A proof the gateway refuses (no grant, expired, over quota), cannot answer (provider down) or does not
find is not an error for the applicant: the matters that needed it fall back to the paper material, and the
case says why. Evidence is fetched in file order (a query may use an earlier proof, e.g. the father's ID number
from the birth certificate): one gateway call each, so assembling n proofs costs n indexed lookups and n audit
records.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.errors import AppError
from govdata.exchange import gateway
from govdata.onething import package as pkg
from govdata.onething import rules
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.sharing import grants

SYSTEM_NAME = "一件事服务"
# 已调取 / 未查到 / 未获授权 / 暂不可用 / 缺少查询条件 / 无需调取
FALLBACK = {"not_found": "未查到记录", "no_grant": "未获共享授权", "unavailable": "提供部门暂不可用",
            "skipped": "缺少查询条件"}
GRANT_REFUSALS = ("not_granted", "grant_expired", "grant_revoked", "quota_exceeded", "item_not_granted")


def system_principal(db: Session, operator: str) -> Principal:
    org = orgs.get_by_code(db, operator)
    return Principal(kind="system", name=f"system:{SYSTEM_NAME}", role="system", org_id=org.id, org_code=operator)


def resource_codes(db: Session, spec: pkg.PackageSpec) -> dict[str, str | None]:
    """evidence key → the published resource's code (None when the catalog no longer has it)."""
    codes = projection.codes_by_name(db, {(e.resource.provider, e.resource.name) for e in spec.evidence})
    return {e.key: codes.get((e.resource.provider, e.resource.name)) for e in spec.evidence}


def plan(db: Session, spec: pkg.PackageSpec) -> list[dict[str, Any]]:
    """Exactly which proofs will be fetched from which department, and which will have to come on paper."""
    names = orgs.names_by_code(db)
    operator = orgs.get_by_code(db, spec.operator)
    codes = resource_codes(db, spec)
    users = {e.key: [m.name for m in spec.matters if e.key in m.evidence] for e in spec.evidence}
    out = []
    for e in spec.evidence:
        status, reason = _grant_status(db, operator.id, codes[e.key])
        out.append({"key": e.key, "label": e.label, "provider": e.resource.provider,
                    "provider_name": names.get(e.resource.provider, e.resource.provider), "resource": e.resource.name,
                    "resource_code": codes[e.key], "items": e.show, "paper": e.paper, "conditional": e.when is not None,
                    "for_matters": users[e.key], "status": status, "reason": reason})
    return out


def _grant_status(db: Session, org_id: int, code: str | None) -> tuple[str, str | None]:
    if code is None:
        return "no_grant", "目录中已没有该信息资源"
    try:
        grants.check_call(db, org_id, code)
    except grants.Refused as exc:
        return "no_grant", exc.message
    return "will_fetch", None


def fetch(db: Session, spec: pkg.PackageSpec, number: str, names: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fetch every proof for case ``number``; ``names`` is the case's expression context, filled as proofs
    arrive. Returns key → {status, records, request_id, message, paper}."""
    system = system_principal(db, spec.operator)
    codes = resource_codes(db, spec)
    found: dict[str, dict[str, Any]] = {}
    for e in spec.evidence:
        result = _fetch_one(db, system, e, codes[e.key], number, names)
        found[e.key] = result
        value = result.get("records") if e.many else (result.get("records") or [None])[0]
        names["evidence"][e.key] = value if result["status"] == "fetched" else None
    return found


def _fetch_one(db: Session, system: Principal, e: pkg.Evidence, code: str | None, number: str,
               names: dict[str, Any]) -> dict[str, Any]:
    base = {"label": e.label, "provider": e.resource.provider, "resource": e.resource.name, "paper": e.paper,
            "show": e.show, "many": e.many}
    if e.when is not None and not rules.holds(e.when, names):
        return {**base, "status": "not_needed", "message": "按规则无需调取"}
    params = [(item, rules.evaluate(expr, names)) for item, expr in e.query.items()]
    if code is None or any(v in (None, "") for _, v in params):
        return {**base, "status": "skipped", "message": _fallback_text("skipped", e.paper)}
    try:
        answer = gateway.call(db, system, code, [(k, str(v)) for k, v in params], number)
    except AppError as exc:
        status = "no_grant" if exc.code in GRANT_REFUSALS else "unavailable"
        return {**base, "status": status, "code": exc.code, "detail": exc.message,
                "request_id": (exc.headers or {}).get("X-Audit-Request-Id"),
                "message": _fallback_text(status, e.paper)}
    records = json.loads(answer.body)["records"]
    if not records:
        return {**base, "status": "not_found", "request_id": answer.request_id,
                "message": _fallback_text("not_found", e.paper)}
    return {**base, "status": "fetched", "request_id": answer.request_id, "records": records if e.many else records[:1]}


def _fallback_text(status: str, paper: str | None) -> str:
    reason = FALLBACK[status]
    return f"{reason},请提交纸质材料:{paper}" if paper else f"{reason},由办理部门核实"


def names_from(evidence: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``evidence`` expression name from stored results: a record, a list (many), or None."""
    out: dict[str, Any] = {}
    for key, result in evidence.items():
        if result.get("status") != "fetched":
            out[key] = None
        else:
            out[key] = result["records"] if result.get("many") else result["records"][0]
    return out


def paper_needed(evidence: dict[str, dict[str, Any]], keys: list[str] | None = None) -> list[dict[str, Any]]:
    """The paper materials still needed (for some matters' evidence keys, or all) and why."""
    return [{"evidence": key, "paper": r["paper"], "reason": r["message"]}
            for key, r in evidence.items()
            if r["status"] in FALLBACK and r.get("paper") and (keys is None or key in keys)]


def preview(evidence: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The fetched proofs as the applicant sees them: only the items the package shows."""
    out = []
    for key, r in evidence.items():
        records = [{k: rec.get(k) for k in (r.get("show") or rec)} for rec in r.get("records") or []]
        out.append({"key": key, "label": r["label"], "provider": r["provider"], "resource": r["resource"],
                    "status": r["status"], "message": r.get("message"), "records": records,
                    "request_id": r.get("request_id")})
    return out
