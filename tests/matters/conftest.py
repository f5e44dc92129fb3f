"""The matters tests' organisation tree: the small Liuzhou tree of tests/factories.py plus a street office of
城中区 (a township-level body) and the people who act on the register."""

from __future__ import annotations

from datetime import date

import pytest

from govdata.matters import service as matters
from govdata.matters.schemas import MatterCreate
from govdata.principal import CLI
from tests.factories import liuzhou, make_org, make_user


@pytest.fixture
def tree(db):
    liuzhou(db)  # LZ, DSJ (admin, auditor), GA (ga_admin), WJ (wj_admin, wj_staff), CZQ, CZQ-JY
    make_org(db, "CZQ-T01", parent="CZQ", level="township", region="450202", org_type="government",
             name="城中街道办事处")
    make_user(db, "jy_admin", "CZQ-JY", "dept_admin")
    return db


def add(db, code: str, org: str, *, online: date | None = None, full: date | None = None, exempt: bool = False,
        name: str | None = None, category: str = "public_service", **extra):
    """Register a matter as the CLI operator."""
    return matters.create(db, CLI, MatterCreate(
        code=code, name=name or f"事项{code}", org_code=org, category=category, online_since=online,
        fully_online_since=full, exempt=exempt, **extra))
