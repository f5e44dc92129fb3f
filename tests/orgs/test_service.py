from __future__ import annotations

import pytest
from sqlalchemy import func, select

from govdata.actionlog.models import ActionLogEntry
from govdata.errors import AppError
from govdata.orgs import service
from govdata.orgs.models import Organization
from govdata.orgs.schemas import OrgCreate, OrgUpdate
from govdata.principal import CLI
from tests.factories import VALID_USCC, liuzhou, make_org, make_user, principal_of


def _counts(db):
    return (db.scalar(select(func.count()).select_from(Organization)),
            db.scalar(select(func.count()).select_from(ActionLogEntry)))


def _refused(db, code: str, fn, *args):
    """The call fails with ``code`` and leaves organisations and the action log exactly as they were."""
    before = _counts(db)
    with pytest.raises(AppError) as info:
        fn(db, CLI, *args)
    db.rollback()
    assert info.value.code == code, info.value.message
    assert _counts(db) == before
    return info.value


def test_multi_level_tree_with_region_and_credit_code(db):
    liuzhou(db)
    make_org(db, "CZQ-T01", parent="CZQ", level="township", region="450202", org_type="government",
             name="城中街道办事处", uscc=VALID_USCC)
    tree = service.tree(db)
    assert [n["code"] for n in tree] == ["LZ"]
    county = next(n for n in tree[0]["children"] if n["code"] == "CZQ")
    assert {c["code"] for c in county["children"]} == {"CZQ-JY", "CZQ-T01"}
    data = service.as_dict(db, service.get_by_code(db, "CZQ-T01"))
    assert data["region_name"] == "城中区"
    assert data["uscc"] == VALID_USCC
    assert data["parent"] == "CZQ"


def test_duplicate_code_is_refused(db):
    make_org(db, "LZ")
    err = _refused(db, "org_code_exists", service.create,
                   OrgCreate(code="LZ", name="另一个", level="city", region_code="450200"))
    assert err.status == 409


def test_unknown_parent_is_refused(db):
    _refused(db, "unknown_parent", service.create,
             OrgCreate(code="A1", name="甲", level="city", region_code="450200", parent="NOPE"))


@pytest.mark.parametrize("region", ["999999", "450221", "000000"])
def test_invalid_or_abolished_region_code_is_refused(db, region):
    # 450221 柳江县 was abolished in 2016 (now 柳江区 450206)
    _refused(db, "invalid_region_code", service.create,
             OrgCreate(code="A1", name="甲", level="city", region_code=region))


def test_region_must_lie_within_the_parent(db):
    make_org(db, "CZQ", level="county", region="450202", org_type="government")
    _refused(db, "region_outside_parent", service.create,
             OrgCreate(code="A1", name="甲", level="township", region_code="450203", parent="CZQ"))


@pytest.mark.parametrize("uscc", ["11450200MB15632087", "123", "11450200MB1563208I"])
def test_bad_credit_code_is_refused(db, uscc):
    _refused(db, "invalid_uscc", service.create,
             OrgCreate(code="A1", name="甲", level="city", region_code="450200", uscc=uscc))


def test_credit_code_is_unique(db):
    make_org(db, "A1", uscc=VALID_USCC)
    _refused(db, "uscc_exists", service.create,
             OrgCreate(code="A2", name="乙", level="city", region_code="450200", uscc=VALID_USCC))


def test_child_cannot_sit_above_its_parent(db):
    make_org(db, "CZQ", level="county", region="450202", org_type="government")
    _refused(db, "level_above_parent", service.create,
             OrgCreate(code="A1", name="甲", level="city", region_code="450202", parent="CZQ"))


def test_moving_an_org_under_its_own_descendant_is_a_cycle(db):
    liuzhou(db)
    _refused(db, "org_cycle", service.update, "CZQ", OrgUpdate(parent="CZQ-JY"))
    _refused(db, "org_cycle", service.update, "CZQ", OrgUpdate(parent="CZQ"))
    assert service.as_dict(db, service.get_by_code(db, "CZQ"))["parent"] == "LZ"


def test_update_logs_only_what_changed(db):
    liuzhou(db)
    service.update(db, CLI, "GA", OrgUpdate(name="柳州市公安局(改)", sort_order=3))
    entry = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "org.update")).one()
    assert entry.before == {"code": "GA", "name": "柳州市公安局", "sort_order": 0}
    assert entry.after == {"code": "GA", "name": "柳州市公安局(改)", "sort_order": 3}


def test_moving_a_county_to_another_city_region_is_checked_for_its_children(db):
    liuzhou(db)
    # CZQ-JY lies in 450202; CZQ cannot become 鱼峰区 while its child stays in 城中区
    _refused(db, "region_outside_parent", service.update, "CZQ", OrgUpdate(region_code="450203"))


def test_delete_refuses_orgs_with_children_or_people(db):
    liuzhou(db)
    _refused(db, "org_has_children", service.delete, "CZQ")
    _refused(db, "org_in_use", service.delete, "GA")  # ga_admin works there
    service.delete(db, CLI, "CZQ-JY")
    assert service.find_by_code(db, "CZQ-JY") is None
    entry = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "org.delete")).one()
    assert entry.before["name"] == "城中区教育局"


def test_only_platform_admins_change_the_tree(db):
    liuzhou(db)
    dept_admin = principal_of(db, "ga_admin")
    with pytest.raises(AppError) as info:
        service.create(db, dept_admin, OrgCreate(code="A1", name="甲", level="city", region_code="450200"))
    assert info.value.code == "forbidden"
    make_user(db, "boss", "DSJ", "bureau_admin")
    service.create(db, principal_of(db, "boss"), OrgCreate(code="A1", name="甲", level="city", region_code="450200"))


def test_hostile_names_are_stored_verbatim(db):
    name = "<script>alert(1)</script>'; DROP TABLE organizations; --"
    make_org(db, "H1", name=name)
    assert service.get_by_code(db, "H1").name == name
