"""Fixtures shared with other domains' tests (registered in tests/conftest.py): a published person resource of
the public security bureau (GA) and its data admin."""

from __future__ import annotations

import pytest

from tests.factories import liuzhou, principal_of, publish, resource_spec, with_standards
from tests.ingest.conftest import PEOPLE_ITEMS


@pytest.fixture
def people(db) -> str:
    """The code of a published 人口信息 resource provided by GA."""
    liuzhou(db)
    with_standards(db)
    spec = resource_spec(provider="GA", name="人口基本信息", items=PEOPLE_ITEMS, update_cycle="monthly",
                         summary="户籍人口基本信息")
    return publish(db, spec)


@pytest.fixture
def ga(db, people):
    return principal_of(db, "ga_admin")
