from __future__ import annotations

import pytest
from sqlalchemy import func, select

from govdata.actionlog.models import ActionLogEntry
from govdata.catalog import projection, service
from govdata.catalog.models import CatalogEntry, Resource
from govdata.catalog.schemas import ReviewIn
from govdata.errors import AppError
from govdata.principal import CLI
from tests.factories import liuzhou, principal_of, publish, resource_spec, with_standards


@pytest.fixture
def catalog_db(db):
    liuzhou(db)
    with_standards(db)
    return db


def _refused(db, code: str, fn, *args):
    before = (db.scalar(select(func.count()).select_from(Resource)),
              db.scalar(select(func.count()).select_from(ActionLogEntry)))
    with pytest.raises(AppError) as info:
        fn(db, *args)
    db.rollback()
    assert info.value.code == code, info.value.message
    assert (db.scalar(select(func.count()).select_from(Resource)),
            db.scalar(select(func.count()).select_from(ActionLogEntry))) == before
    return info.value


def test_codes_are_classification_slash_sequence(catalog_db):
    db = catalog_db
    first = service.create(db, principal_of(db, "wj_admin"), resource_spec())
    second = service.create(db, principal_of(db, "wj_admin"), resource_spec(name="死亡医学证明信息"))
    people = service.create(db, principal_of(db, "ga_admin"),
                            resource_spec(provider="GA", name="户籍人口信息", classification="101"))
    dept = service.create(db, principal_of(db, "ga_admin"),
                          resource_spec(provider="GA", name="警情信息", classification="部门"))
    assert (first.code, second.code, people.code) == ("105/000001", "105/000002", "101/000001")
    assert dept.code == "301/000001"
    assert service.resource_dict(db, dept)["classification"] == "部门/GA"


def test_items_take_sensitivity_and_identity_from_their_data_element(catalog_db):
    db = catalog_db
    resource = service.create(db, CLI, resource_spec())
    items = {i["key"]: i for i in service.resource_dict(db, resource)["items"]}
    assert items["mother_id_number"]["sensitivity"] == "L3" and items["mother_id_number"]["identifies"]
    assert items["baby_name"]["sensitivity"] == "L3"
    assert items["birth_date"]["sensitivity"] in ("L1", "L2")


def test_lifecycle_draft_submit_approve_publishes(catalog_db):
    db = catalog_db
    wj = principal_of(db, "wj_staff")
    resource = service.create(db, wj, resource_spec())
    assert resource.status == "draft" and projection.find_published(db, resource.code) is None
    service.submit(db, wj, resource.code)
    service.review(db, CLI, resource.code, ReviewIn(decision="approve", comment="同意"))
    published = projection.published(db, resource.code)
    assert published["status"] == "published" and published["name"] == "出生医学证明信息"
    assert published["publish_date"] is not None


def test_editing_a_published_resource_keeps_the_published_entry_until_approved(catalog_db):
    db = catalog_db
    code = publish(db, resource_spec(), "wj_admin")
    spec = resource_spec(summary="修订后的摘要")
    service.update(db, principal_of(db, "wj_admin"), code, spec)
    working = service.get_resource(db, code)
    assert (working.status, working.version, working.published_version) == ("draft", 2, 1)
    assert projection.published(db, code)["summary"] == "新生儿出生医学证明签发记录"
    service.submit(db, principal_of(db, "wj_admin"), code)
    service.review(db, CLI, code, ReviewIn(decision="approve"))
    assert projection.published(db, code)["summary"] == "修订后的摘要"
    assert db.scalar(select(func.count()).select_from(CatalogEntry)) == 1


def test_rejection_needs_a_reason_and_returns_the_resource(catalog_db):
    db = catalog_db
    resource = service.create(db, CLI, resource_spec())
    service.submit(db, CLI, resource.code)
    with pytest.raises(AppError) as info:
        service.review(db, CLI, resource.code, ReviewIn(decision="reject"))
    assert info.value.code == "comment_required"
    db.rollback()
    service.review(db, CLI, resource.code, ReviewIn(decision="reject", comment="共享条件不明确"))
    rejected = service.get_resource(db, resource.code)
    assert (rejected.status, rejected.review_comment) == ("rejected", "共享条件不明确")
    service.submit(db, CLI, resource.code)  # resubmission is allowed


def test_only_bureau_admins_review_and_departments_edit_only_their_own(catalog_db):
    db = catalog_db
    resource = service.create(db, principal_of(db, "wj_admin"), resource_spec())
    service.submit(db, principal_of(db, "wj_admin"), resource.code)
    for who in ("wj_admin", "ga_admin", "auditor"):
        _refused(db, "forbidden", service.review, principal_of(db, who), resource.code, ReviewIn(decision="approve"))
    _refused(db, "other_department", service.update, principal_of(db, "ga_admin"), resource.code, resource_spec())
    _refused(db, "other_department", service.create, principal_of(db, "ga_admin"), resource_spec(name="别人的"))
    _refused(db, "forbidden", service.create, principal_of(db, "auditor"), resource_spec(name="审计员的"))


@pytest.mark.parametrize(("overrides", "code"), [
    ({"secret": True}, "secret_resource"),
    ({"share_type": "none", "share_basis": ""}, "share_basis_required"),
    ({"share_type": "conditional", "share_condition": ""}, "share_condition_required"),
    ({"share_type": "none", "share_basis": "《个人信息保护法》", "open": True}, "open_not_allowed"),
    ({"format": "papyrus"}, "invalid_format"),
    ({"update_cycle": "hourly"}, "invalid_update_cycle"),
    ({"classification": "不存在/分类"}, "invalid_classification"),
    ({"provider": "NOPE"}, "unknown_provider"),
    ({"items": []}, "items_required"),
    ({"items": [{"key": "Bad Key", "name": "x"}]}, "invalid_item_key"),
    ({"items": [{"key": "a", "name": "x"}, {"key": "a", "name": "y"}]}, "duplicate_item_key"),
    ({"items": [{"key": "a", "name": "x", "data_element": "DE9999"}]}, "unknown_data_element"),
    ({"items": [{"key": "a", "name": "x", "data_type": "N", "data_element": "DE0002"}]}, "item_type_mismatch"),
    ({"items": [{"key": "a", "name": "x", "data_type": "Q"}]}, "invalid_data_type"),
    ({"related_codes": ["999/000001"]}, "unknown_related_resource"),
])
def test_bad_registrations_are_refused_with_nothing_written(catalog_db, overrides, code):
    _refused(catalog_db, code, service.create, CLI, resource_spec(**overrides))


def test_duplicate_name_in_one_department_but_not_across(catalog_db):
    db = catalog_db
    service.create(db, CLI, resource_spec())
    _refused(db, "duplicate_name", service.create, CLI, resource_spec())
    service.create(db, CLI, resource_spec(provider="GA"))


def test_chinese_labels_are_accepted_for_enumerations(catalog_db):
    resource = service.create(catalog_db, CLI, resource_spec(share_type="不予共享", share_basis="《统计法》第二十五条",
                                                             format="数据库", update_cycle="每月", share_method="接口"))
    assert (resource.share_type, resource.format, resource.update_cycle, resource.share_method) == (
        "none", "database", "monthly", "api")


def test_every_change_is_a_revision_and_logged(catalog_db):
    db = catalog_db
    resource = service.create(db, CLI, resource_spec())
    service.update(db, CLI, resource.code, resource_spec(summary="第二版"))
    service.update(db, CLI, resource.code, resource_spec(summary="第二版"))  # no change: no revision
    versions = [(r.version, r.event) for r in service.revisions(db, resource.code)]
    assert versions == [(1, "create"), (2, "update")]
    update_entry = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "resource.update")).one()
    assert update_entry.before == {"summary": "新生儿出生医学证明签发记录"}
    assert update_entry.after == {"summary": "第二版"}


def test_published_resources_cannot_be_deleted_but_drafts_can(catalog_db):
    db = catalog_db
    code = publish(db, resource_spec())
    _refused(db, "cannot_delete_published", service.delete_resource, CLI, code)
    draft = service.create(db, CLI, resource_spec(name="草稿资源"))
    service.delete_resource(db, CLI, draft.code)
    with pytest.raises(AppError):
        service.get_resource(db, draft.code)


def test_provider_with_resources_cannot_be_deleted(catalog_db):
    from govdata.orgs import service as orgs

    db = catalog_db
    service.create(db, CLI, resource_spec(provider="CZQ-JY", name="学籍信息"))
    with pytest.raises(AppError) as info:
        orgs.delete(db, CLI, "CZQ-JY")
    assert info.value.code == "org_in_use"
