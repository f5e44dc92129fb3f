"""Every sharing and exchange endpoint × every kind of caller: no data leaves without a grant, and nobody acts for
another department.

The routes are read from the application, so an endpoint added later without a rule here fails
``test_every_sharing_and_exchange_route_has_a_rule``. Each rule names who may act; everything else follows from
a few principles: anonymous callers get 401, system credentials 403 on endpoints meant for people, departments
that are not a party to a request or grant get 404 (they must not learn it exists), other refusals are 403.

Callers: WJ is the consumer holding a grant of GA's person resource, CZQ-JY a consumer whose request for it is
still pending (no grant), MZ an unrelated department, DSJ the bureau (its admin and its auditor).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from govdata.accounts import service as accounts
from govdata.accounts.schemas import CredentialCreate
from govdata.app import create_app
from govdata.exchange import endpoints, masking
from govdata.exchange.endpoints import EndpointIn
from govdata.principal import CLI, anonymous
from govdata.sharing import service as sharing
from govdata.sharing.models import OPEN_STATUSES, SharingRequest
from govdata.sharing.schemas import Decision
from tests.factories import PASSWORD, make_org, make_user, principal_of, publish, resource_spec
from tests.ingest.conftest import PEOPLE_ITEMS, person
from tests.sharing.fixtures import ROWS, ask, grant

PREFIXES = ("/api/v1/sharing", "/api/v1/exchange")
GRANTED_ITEMS = ["id_number", "name", "sex", "region"]  # WJ's grant: no phone, nothing unmasked
SECRET = "s3cr3t-provider-credential-9f2c"
SYSTEMS = frozenset({"consumer_system", "nogrant_system"})
OUTSIDERS = frozenset({"nogrant_admin", "other_admin", "nogrant_system"})  # not a party to WJ ↔ GA
PEOPLE = frozenset({"bureau", "auditor", "provider_admin", "provider_staff", "consumer_admin", "nogrant_admin",
                    "other_admin"})
EVERYONE = PEOPLE | SYSTEMS
CALLERS = ["anonymous", *sorted(EVERYONE)]
ORG_OF = {"bureau": "DSJ", "auditor": "DSJ", "provider_admin": "GA", "provider_staff": "GA",
          "consumer_admin": "WJ", "consumer_system": "WJ", "nogrant_admin": "CZQ-JY", "nogrant_system": "CZQ-JY",
          "other_admin": "MZ"}
SEE_ALL = frozenset({"bureau", "auditor"})


@dataclass(frozen=True)
class Rule:
    """Who may act (``allowed``, answered ``ok``); everyone else is refused as the principles say."""

    allowed: frozenset[str]
    ok: int = 200
    person_only: bool = True
    scoped: bool = False  # the target belongs to WJ ↔ GA: outsiders get 404
    denied: Mapping[str, int] = field(default_factory=dict)  # refusals other than 403

    def expected(self, caller: str) -> int:
        if caller == "anonymous":
            return 401
        if caller in SYSTEMS and self.person_only:
            return 403
        if caller in self.allowed:
            return self.ok
        if self.scoped and caller in OUTSIDERS:
            return 404
        return self.denied.get(caller, 403)


@dataclass
class Case:
    """How to call one route: ``target()`` gives the path parameters of a fresh target (an allowed caller
    changes it, so each gets its own; refused callers share one), ``check`` looks at a successful answer."""

    rule: Rule
    target: Callable[[], dict[str, Any]]
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    check: Callable[[str, Any], None] | None = None


# ---- the world: organisations, people, credentials, resources, requests, grants ---------------------------------

@dataclass
class World:
    db: Any
    headers: dict[str, dict[str, str]]
    data: str  # GA's collected person resource: WJ granted, CZQ-JY pending
    workflow: str  # GA's resource for requests that change state
    apply: str  # GA's resource every department applies for once
    wj_request: int
    wj_grant: int
    wj_credential: int


@pytest.fixture
def world(request: pytest.FixtureRequest, db) -> World:
    data = request.getfixturevalue("collected")
    make_user(db, "ga_staff", "GA", "dept_staff")
    make_org(db, "MZ", parent="LZ", name="柳州市民政局")
    make_user(db, "mz_admin", "MZ", "dept_admin")
    granted = grant(db, request.getfixturevalue("wj"), data, items=GRANTED_ITEMS)
    ask(db, request.getfixturevalue("jy"), data)  # pending: CZQ-JY has no grant
    workflow = publish(db, resource_spec(provider="GA", name="户籍迁移信息", items=PEOPLE_ITEMS))
    apply = publish(db, resource_spec(provider="GA", name="户籍注销信息", items=PEOPLE_ITEMS))
    wj_cred, wj_token = accounts.create_credential(db, CLI, CredentialCreate(org="WJ", name="出生一件事系统"))
    _, jy_token = accounts.create_credential(db, CLI, CredentialCreate(org="CZQ-JY", name="学籍系统"))
    users = {"bureau": "admin", "auditor": "auditor", "provider_admin": "ga_admin", "provider_staff": "ga_staff",
             "consumer_admin": "wj_admin", "nogrant_admin": "jy_admin", "other_admin": "mz_admin"}
    tokens = {caller: accounts.login(db, name, PASSWORD, anonymous(name), kind="api")[1]
              for caller, name in users.items()}
    tokens |= {"consumer_system": wj_token, "nogrant_system": jy_token}
    purpose = {"X-Purpose": quote("办理出生登记 案件 2026-001")}
    headers = {caller: {"Authorization": f"Bearer {token}", **purpose} for caller, token in tokens.items()}
    headers["anonymous"] = purpose
    return World(db, headers, data, workflow, apply, granted.id, granted.grant_id, wj_cred.id)


def _withdraw_open(w: World) -> None:
    consumer = principal_of(w.db, "wj_admin")
    open_ids = w.db.scalars(select(SharingRequest.id).where(SharingRequest.consumer_org_id == consumer.org_id,
                                                            SharingRequest.resource_code == w.workflow,
                                                            SharingRequest.status.in_(OPEN_STATUSES))).all()
    for req_id in open_ids:
        sharing.withdraw(w.db, consumer, req_id)


def pending(w: World) -> int:
    _withdraw_open(w)
    return ask(w.db, principal_of(w.db, "wj_admin"), w.workflow).id


def at_bureau(w: World) -> int:
    req_id = pending(w)
    sharing.decide(w.db, principal_of(w.db, "ga_admin"), req_id, Decision(decision="approve"))
    return req_id


def sent_back(w: World) -> int:
    req_id = pending(w)
    sharing.decide(w.db, principal_of(w.db, "ga_admin"), req_id,
                   Decision(decision="request_changes", comment="请补充法律依据"))
    return req_id


def fresh_grant(w: World) -> int:
    _withdraw_open(w)
    return grant(w.db, principal_of(w.db, "wj_admin"), w.workflow).grant_id


def registered(w: World) -> dict[str, Any]:
    endpoints.register(w.db, CLI, w.workflow, EndpointIn(url="https://ga.example.cn/api/people",
                                                         auth_header="X-Api-Key", secret=SECRET))
    return {"code": w.workflow}


def matrix_rule(w: World) -> dict[str, Any]:
    masking.save_rule(w.db, principal_of(w.db, "admin"), {"name": "matrix_rule", "label": "矩阵测试",
                                                          "match_keys": ["matrix_*"]})
    return {"name": "matrix_rule"}


# ---- what a successful answer may show ----------------------------------------------------------------------

def only_own_rows(caller: str, body: Any) -> None:
    """Listings show the caller's own department's requests or grants, unless it is the bureau or an auditor."""
    parties = [(item["consumer"], item["provider"]) for item in body["items"]]
    if caller in SEE_ALL:
        assert "WJ" in {consumer for consumer, _ in parties}, (caller, parties)
        return
    assert all(ORG_OF[caller] in pair for pair in parties), (caller, parties)
    if ORG_OF[caller] in ("WJ", "GA"):
        assert parties, caller


def granted_and_masked(caller: str, body: Any) -> None:
    [record] = body["records"]
    assert sorted(record) == sorted(GRANTED_ITEMS), caller
    assert "*" in record["id_number"] and record["name"].endswith("*"), record


def cases(w: World) -> dict[tuple[str, str], list[Case]]:
    s, x = "/api/v1/sharing", "/api/v1/exchange"
    fixed = lambda **params: lambda: params  # noqa: E731
    party = {"bureau", "auditor", "provider_admin", "provider_staff", "consumer_admin", "consumer_system"}
    applicants = frozenset({"bureau", "consumer_admin", "nogrant_admin", "other_admin"})
    request_body = {"resource": w.apply, "items": ["id_number", "name"], "purpose": "办理最低生活保障审核",
                    "matter": "低保审核", "basis": "《社会救助暂行办法》第十一条", "days": 30}
    wanted = person(3)["id_number"]
    return {
        ("POST", f"{s}/requests"): [Case(Rule(applicants, ok=201, denied={"provider_admin": 409,
                                                                          "provider_staff": 409}),
                                         fixed(), body=request_body)],
        ("GET", f"{s}/requests"): [Case(Rule(EVERYONE, person_only=False), fixed(), check=only_own_rows)],
        ("GET", f"{s}/requests/{{request_id}}"): [
            Case(Rule(frozenset(party), person_only=False, scoped=True), fixed(request_id=w.wj_request))],
        ("POST", f"{s}/requests/{{request_id}}/decide"): [
            Case(Rule(frozenset({"provider_admin"}), scoped=True), lambda: {"request_id": pending(w)},
                 body={"decision": "approve"}),
            Case(Rule(frozenset({"bureau"}), scoped=True), lambda: {"request_id": at_bureau(w)},
                 body={"decision": "approve"})],
        ("PUT", f"{s}/requests/{{request_id}}"): [
            Case(Rule(frozenset({"consumer_admin"}), scoped=True), lambda: {"request_id": sent_back(w)},
                 body={"basis": "《柳州市政务数据共享管理办法》第十二条"})],
        ("POST", f"{s}/requests/{{request_id}}/withdraw"): [
            Case(Rule(frozenset({"consumer_admin"}), scoped=True), lambda: {"request_id": pending(w)},
                 body={"reason": "不再需要"})],
        ("GET", f"{s}/grants"): [Case(Rule(EVERYONE, person_only=False), fixed(), check=only_own_rows)],
        ("GET", f"{s}/grants/{{grant_id}}"): [
            Case(Rule(frozenset(party), person_only=False, scoped=True), fixed(grant_id=w.wj_grant))],
        ("POST", f"{s}/grants/{{grant_id}}/revoke"): [
            Case(Rule(frozenset({"provider_admin", "bureau"}), scoped=True), lambda: {"grant_id": fresh_grant(w)},
                 body={"reason": "项目结束"})],
        ("POST", f"{s}/grants/{{grant_id}}/renew"): [
            Case(Rule(frozenset({"consumer_admin"}), ok=201, scoped=True), lambda: {"grant_id": fresh_grant(w)},
                 body={"days": 60})],
        ("PUT", f"{s}/rate-limits/{{credential_id}}"): [
            Case(Rule(frozenset({"bureau"})), fixed(credential_id=w.wj_credential), body={"per_minute": None})],
        ("GET", f"{s}/evaluation"): [Case(Rule(PEOPLE), fixed())],
        ("GET", f"{s}/evaluation/months"): [Case(Rule(PEOPLE), fixed())],
        ("GET", f"{x}/endpoints/{{code:path}}"): [
            Case(Rule(frozenset({"provider_admin", "bureau"})), lambda: registered(w))],
        ("PUT", f"{x}/endpoints/{{code:path}}"): [
            Case(Rule(frozenset({"provider_admin", "bureau"})), fixed(code=w.workflow),
                 body={"url": "https://ga.example.cn/api/people", "auth_header": "X-Api-Key", "secret": SECRET})],
        ("DELETE", f"{x}/endpoints/{{code:path}}"): [
            Case(Rule(frozenset({"provider_admin", "bureau"}), ok=204), lambda: registered(w))],
        ("GET", f"{x}/masking-rules"): [Case(Rule(EVERYONE, person_only=False), fixed())],
        ("GET", f"{x}/masking-rules/{{name}}"): [
            Case(Rule(EVERYONE, person_only=False), lambda: matrix_rule(w))],
        ("PUT", f"{x}/masking-rules/{{name}}"): [
            Case(Rule(frozenset({"bureau"})), fixed(name="matrix_rule"),
                 body={"label": "矩阵测试", "match_keys": ["matrix_*"]})],
        ("DELETE", f"{x}/masking-rules/{{name}}"): [
            Case(Rule(frozenset({"bureau"}), ok=204), lambda: matrix_rule(w))],
        ("GET", f"{x}/{{code:path}}"): [
            Case(Rule(frozenset({"consumer_admin", "consumer_system"}), person_only=False), fixed(code=w.data),
                 params={"id_number": wanted}, check=granted_and_masked)],
    }


# ---- the matrix ---------------------------------------------------------------------------------------------------

def routes() -> list[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(create_app().routes):
        if (route.path or "").startswith(PREFIXES):
            found |= {(method, route.path) for method in route.methods or ()}
    return sorted(found)


def fill(path: str, params: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(params[m.group(1)]), path)


def secrets_of() -> list[str]:
    """Values that must never leave unmasked: every person's full ID number, name and phone, and the provider
    service's credential."""
    rows = [person(n) for n in range(ROWS)]
    return [SECRET] + [row[key] for row in rows for key in ("id_number", "name", "phone")]


def test_every_sharing_and_exchange_route_has_a_rule():
    w = World(None, {}, "A", "B", "C", 0, 0, 0)
    missing = [route for route in routes() if route not in cases(w)]
    assert not missing, f"routes without a rule in the access matrix: {missing}"


def test_access_matrix(client, world):
    table = cases(world)
    wrong, bodies = [], []
    for route in routes():
        for case in table[route]:
            wrong += run_case(client, world, route, case, bodies)
    assert not wrong, "unexpected answers:\n" + "\n".join(wrong)
    leaked = [(where, value) for where, text in bodies for value in secrets_of() if value in text]
    assert not leaked, f"unmasked or ungranted values in answers: {leaked[:10]}"


def run_case(client, w: World, route: tuple[str, str], case: Case, bodies: list) -> list[str]:
    """Refused callers first, all on one target; then each allowed caller on a fresh target of its own."""
    method, path = route
    shared = case.target()
    order = sorted(CALLERS, key=lambda c: case.rule.expected(c) == case.rule.ok)
    wrong = []
    for caller in order:
        expected = case.rule.expected(caller)
        params = case.target() if expected == case.rule.ok else shared
        response = client.request(method, fill(path, params), headers=w.headers[caller], params=case.params,
                                   json=case.body)
        bodies.append((f"{method} {path} as {caller}", response.text))
        if response.status_code != expected:
            wrong.append(f"{method} {path} as {caller}: {response.status_code} (expected {expected}) "
                         f"{response.text[:160]}")
        elif case.check is not None and expected == 200:
            case.check(caller, response.json())
    return wrong
