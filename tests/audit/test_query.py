"""Who sees which audit records: auditors and bureau administrators everything, a department (its people and its
systems) the records where it is the consumer or the provider; anything else does not exist for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from govdata.audit import service
from govdata.errors import AppError
from govdata.principal import Principal
from tests.audit.conftest import fields

DAY = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
RECORDS = [  # request id, consumer, provider, kind, outcome, resource, days after DAY
    ("r1", "GA", "WJ", "exchange.call", "ok", "WJ/0001", 0),
    ("r2", "WJ", "GA", "exchange.call", "not_granted", "GA/0001", 1),
    ("r3", "CZQ-JY", "GA", "sharing.decision", "approve", "GA/0002", 2),
    ("r4", "CZQ-JY", "CZQ", "exchange.call", "ok", "CZQ/0001", 3),
]


def person(role: str, org: str | None) -> Principal:
    return Principal(kind="user", name=f"{role}@{org}", role=role, org_code=org)


@pytest.fixture
def trail(db):
    for i, (rid, consumer, provider, kind, outcome, resource, days) in enumerate(RECORDS, start=1):
        service.append(db, **fields(i, request_id=rid, consumer_org=consumer, provider_org=provider, kind=kind,
                                    outcome=outcome, resource=resource, at=DAY + timedelta(days=days)))
        db.commit()


def listed(db, principal: Principal, **filters) -> list[str]:
    rows, total = service.list_records(db, principal, **filters)
    assert total == len(rows)
    return [r.request_id for r in rows]


@pytest.mark.parametrize(("principal", "expected"), [
    (person("auditor", "DSJ"), ["r4", "r3", "r2", "r1"]),
    (person("bureau_admin", "DSJ"), ["r4", "r3", "r2", "r1"]),
    (person("dept_admin", "GA"), ["r3", "r2", "r1"]),
    (person("dept_staff", "WJ"), ["r2", "r1"]),
    (Principal(kind="system", name="系统", role="system", org_code="CZQ"), ["r4"]),
    (person("dept_staff", "LZ"), []),
    (person("dept_staff", None), []),
])
def test_each_principal_lists_what_it_may_see_newest_first(db, trail, principal, expected):
    assert listed(db, principal) == expected


def test_a_record_one_may_not_see_is_not_found(db, trail):
    wj = person("dept_staff", "WJ")
    assert service.get_record(db, wj, "r2").consumer_org == "WJ"
    for rid in ("r3", "no-such"):
        with pytest.raises(AppError) as exc:
            service.get_record(db, wj, rid)
        assert (exc.value.status, exc.value.code) == (404, "audit_record_not_found")
        with pytest.raises(AppError) as exc:
            service.visible_proof(db, wj, rid)
        assert exc.value.code == "audit_record_not_found"
    assert service.visible_proof(db, wj, "r1")["record"]["request_id"] == "r1"


def test_filters(db, trail):
    auditor = person("auditor", "DSJ")
    assert listed(db, auditor, resource="GA/0001") == ["r2"]
    assert listed(db, auditor, consumer_org="CZQ-JY") == ["r4", "r3"]
    assert listed(db, auditor, provider_org="GA") == ["r3", "r2"]
    assert listed(db, auditor, org="WJ") == ["r2", "r1"]
    assert listed(db, auditor, kind="sharing.decision") == ["r3"]
    assert listed(db, auditor, outcome="ok") == ["r4", "r1"]
    assert listed(db, auditor, outcome="refused") == ["r3", "r2"]
    assert listed(db, auditor, since=DAY + timedelta(days=1), until=DAY + timedelta(days=3)) == ["r3", "r2"]
    assert listed(db, person("dept_staff", "WJ"), provider_org="GA") == ["r2"]  # filters never widen visibility


def test_paging(db, trail):
    auditor = person("auditor", "DSJ")
    rows, total = service.list_records(db, auditor, page=2, page_size=3)
    assert total == 4 and [r.request_id for r in rows] == ["r1"]


def test_record_dict_is_json_ready(db, trail):
    d = service.record_dict(service.get_record(db, person("auditor", "DSJ"), "r1"))
    assert d["provider_org"] == "WJ" and d["at"] == DAY.isoformat() and len(d["hash"]) == 64
    assert d["prev_hash"] == "00" * 32 and d["items"] == ["id_number", "name"]
