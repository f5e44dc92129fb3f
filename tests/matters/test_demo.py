"""The demo register: loaded once (a second load adds nothing), deterministic, and telling the seed's story —
townships about a third online at the end of 2020 and half at the end of 2021, city and county about 90% online
by the end of 2020, full online service high but not complete at the end of 2022 — with the one-thing packages'
matters marked."""

from __future__ import annotations

from datetime import date

import pytest

from govdata.demo import matters as matters_demo
from govdata.demo import service as demo
from govdata.matters import service as matters
from govdata.orgs import service as orgs
from govdata.principal import CLI


@pytest.fixture
def liuzhou_orgs(db):
    for spec in demo.org_specs():
        orgs.create(db, CLI, spec)
    return db


def levels_at(db, day: date) -> dict[str, dict]:
    return {r["level"]: r for r in matters.rates(db, at=day)["levels"]}


def test_demo_register_loads_once_and_tells_the_seeds_story(liuzhou_orgs):
    db = liuzhou_orgs
    created = matters_demo.load(db)
    assert created == matters.count(db) > 800
    assert matters_demo.load(db) == 0 and matters.count(db) == created  # idempotent

    end_2020 = levels_at(db, date(2020, 12, 31))
    assert 25 <= end_2020["township"]["online_rate"] <= 40
    assert end_2020["township"]["online_target"]["met"] is True
    assert 85 <= end_2020["city"]["online_rate"] <= 95 and 85 <= end_2020["county"]["online_rate"] <= 95
    end_2021 = levels_at(db, date(2021, 12, 31))
    assert 50 <= end_2021["township"]["online_rate"] <= 60
    end_2022 = levels_at(db, date(2022, 12, 31))
    for level, r in end_2022.items():
        assert 60 <= r["full_online_rate"] < 100, level  # high, but stragglers everywhere
        assert r["full_online_target"]["met"] is False
    assert end_2022["city"]["exempt"] > 0
    now = levels_at(db, date(2026, 1, 1))
    assert 85 <= now["township"]["online_rate"] <= 95

    regions = {r["region_name"]: r for r in matters.rates_by_region(db, at=date(2021, 12, 31))}
    assert len(regions) == 10 and regions["城中区"]["online_rate"] > regions["三江侗族自治县"]["online_rate"]
    per_level = {lv: matters.list_matters(db, level=lv, page_size=1)[1] for lv in matters.LEVELS}
    assert per_level["city"] >= 150 and per_level["county"] >= 300 and per_level["township"] >= 300
    assert len({m.org_code for m in matters.list_matters(db, level="city", page_size=500)[0]}) >= 12


def test_demo_packages_and_determinism(liuzhou_orgs):
    db = liuzhou_orgs
    first = [(s.code, s.online_since, s.fully_online_since) for s in matters_demo.build(db)]
    assert first == [(s.code, s.online_since, s.fully_online_since) for s in matters_demo.build(db)]
    assert len({code for code, _, _ in first}) == len(first)  # codes are unique
    matters_demo.load(db)
    expected = {
        "newborn": {"出生医学证明签发", "预防接种证办理", "出生登记", "城乡居民医保参保登记", "社会保障卡申领"},
        "school_enrolment": {"义务教育入学报名资格审核", "预防接种证查验", "学位分配", "学籍注册"},
        "company_startup": {"企业设立登记", "公章刻制备案", "发票申领及税务UKey发放", "员工参保登记",
                            "住房公积金缴存登记", "银行预约开户"},
        "retirement": {"退休审批", "基本养老金核定", "医保退休待遇变更", "住房公积金退休提取"},
    }
    for key, names in expected.items():
        found = matters.find_by_package(db, key)
        assert {m["name"] for m in found} == names and len(found) == len(names)
        assert all(m["online_since"] for m in found)  # the packages' matters are online
    assert {m["org_code"] for m in matters.find_by_package(db, "newborn")} == {
        "450200-WJ", "450200-GA", "450200-YB", "450200-RS"}
