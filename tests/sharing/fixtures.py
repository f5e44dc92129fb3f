"""Sharing fixtures shared with the exchange tests (registered in tests/conftest.py): GA's ``people`` resource with
a published version, WJ as the consuming department, an unconditional and a negative-list resource, and helpers
to apply for and grant access."""

from __future__ import annotations

from pathlib import Path

import pytest

from govdata.ingest import service as ingest
from govdata.sharing import service as sharing
from govdata.sharing.schemas import Decision, RequestCreate
from tests.factories import make_user, principal_of, publish, resource_spec
from tests.ingest.conftest import PEOPLE_ITEMS, person, write_csv

ROWS = 30


@pytest.fixture
def collected(db, people, ga, tmp_path: Path) -> str:
    """``people`` with a published version of ROWS persons; person 0..9 in 450202, the rest in 450203."""
    rows = [person(n, region="450202" if n < 10 else "450203") for n in range(ROWS)]
    ingest.ingest_file(db, ga, people, write_csv(tmp_path / "人口.csv", rows))
    return people


@pytest.fixture
def wj(db, people):
    return principal_of(db, "wj_admin")


@pytest.fixture
def admin(db, people):
    return principal_of(db, "admin")


def ask(db, who, code: str, items=("id_number", "name", "sex"), **extra):
    data = {"resource": code, "items": list(items), "purpose": "办理出生一件事", "matter": "出生登记",
            "basis": "《柳州市政务数据共享管理办法》第十条", "days": 30, **extra}
    return sharing.create_request(db, who, RequestCreate(**data))


def grant(db, consumer, code: str, **extra):
    """Apply as ``consumer`` and let GA and the bureau approve: returns the granted request."""
    req = ask(db, consumer, code, **extra)
    sharing.decide(db, principal_of(db, "ga_admin"), req.id, Decision(decision="approve"))
    return sharing.decide(db, principal_of(db, "admin"), req.id, Decision(decision="approve"))


@pytest.fixture
def open_resource(db, people) -> str:
    """An unconditionally shared resource of GA."""
    spec = resource_spec(provider="GA", name="户籍迁移信息", share_type="unconditional", share_condition="",
                         items=PEOPLE_ITEMS, share_method="database")
    return publish(db, spec)


@pytest.fixture
def closed_resource(db, people) -> str:
    spec = resource_spec(provider="GA", name="在逃人员信息", share_type="none", share_condition="",
                         share_basis="《中华人民共和国人民警察法》第二十条", items=PEOPLE_ITEMS)
    return publish(db, spec)


@pytest.fixture
def jy(db, people):
    make_user(db, "jy_admin", "CZQ-JY", "dept_admin")
    return principal_of(db, "jy_admin")
