"""网上可办率 and 全程网办率 at a date, per level, against the seed's targets: exact figures from a handful of matters
with known dates, the boundary day, exempt matters outside the full-online denominator, targets met and missed,
the yearly trend, the per-region figures, and the matters of a one-thing package."""

from __future__ import annotations

from datetime import date

import pytest

from govdata.errors import ValidationFailed
from govdata.matters import service as matters
from tests.matters.conftest import add

END_2020, END_2021, END_2022 = date(2020, 12, 31), date(2021, 12, 31), date(2022, 12, 31)


@pytest.fixture
def register(tree):
    db = tree
    # city (GA): online on 2020-03-01 / on the last day of 2020 / the day after / never
    add(db, "GA0001", "GA", online=date(2020, 3, 1), full=date(2021, 6, 1))
    add(db, "GA0002", "GA", online=END_2020)
    add(db, "GA0003", "GA", online=date(2021, 1, 1), full=date(2022, 12, 31))
    add(db, "GA0004", "GA")
    # county (城中区教育局): one exempt (online, never fully), two fully online during 2022
    add(db, "JY0001", "CZQ-JY", online=date(2019, 5, 1), exempt=True)
    add(db, "JY0002", "CZQ-JY", online=date(2019, 5, 1), full=date(2022, 3, 1))
    add(db, "JY0003", "CZQ-JY", online=date(2020, 1, 1), full=date(2022, 6, 30))
    # township (城中街道): one of three online in 2020
    add(db, "T0001", "CZQ-T01", online=date(2020, 6, 1))
    add(db, "T0002", "CZQ-T01")
    add(db, "T0003", "CZQ-T01", online=date(2023, 1, 1), full=date(2023, 1, 1))
    return db


def by_level(result):
    return {r["level"]: r for r in result["levels"]}


def test_rates_at_a_date_are_exact(register):
    at_2020 = by_level(matters.rates(register, at=END_2020))
    city = at_2020["city"]
    assert (city["total"], city["online"], city["fully_online"], city["exempt"]) == (4, 2, 0, 0)
    assert city["online_rate"] == 50.0 and city["full_online_rate"] == 0.0  # online_since on the day counts
    assert at_2020["township"]["online_rate"] == 33.3
    assert at_2020["county"]["online_rate"] == 100.0 and at_2020["county"]["full_online_rate"] == 0.0

    at_2022 = by_level(matters.rates(register, at=END_2022))
    assert at_2022["city"]["online"] == 3 and at_2022["city"]["fully_online"] == 2
    assert at_2022["city"]["full_online_rate"] == 50.0  # 2 of 4 (GA0003 became fully online on the day)
    assert at_2022["township"]["online_rate"] == 33.3 and at_2022["township"]["full_online_rate"] == 0.0
    total = matters.rates(register, at=END_2022)["all"]
    assert (total["total"], total["online"], total["fully_online"], total["exempt"]) == (10, 7, 4, 1)
    assert total["full_online_rate"] == round(100 * 4 / 9, 1)


def test_exempt_matters_leave_the_full_online_denominator(register):
    county = by_level(matters.rates(register, at=END_2022))["county"]
    assert county["exempt"] == 1 and county["fully_online"] == 2
    assert county["full_online_rate"] == 100.0  # 2 / (3 − 1), not 2 / 3
    assert county["online_rate"] == 100.0  # the exempt matter still counts as online
    assert county["full_online_target"]["met"] is True


def test_targets_met_and_missed(register):
    at_2020 = by_level(matters.rates(register, at=END_2020))
    assert at_2020["township"]["online_target"] | {"basis": None} == {
        "level": "township", "measure": "online", "due": "2020-12-31", "percent": 30, "basis": None, "met": True}
    assert at_2020["city"]["online_target"]["percent"] == 90 and at_2020["city"]["online_target"]["met"] is False
    assert at_2020["county"]["online_target"]["met"] is True
    assert at_2020["city"]["full_online_target"] is None  # not due before 2022
    assert at_2020["city"]["next_full_online_target"]["due"] == "2022-12-31"

    at_2021 = by_level(matters.rates(register, at=END_2021))
    assert at_2021["township"]["online_target"]["percent"] == 50
    assert at_2021["township"]["online_target"]["met"] is False  # still 33.3%

    at_2022 = by_level(matters.rates(register, at=END_2022))
    assert at_2022["city"]["full_online_target"]["met"] is False
    assert at_2022["township"]["full_online_target"] == matters.target_at("township", "full", END_2022).as_dict(0.0)

    before = by_level(matters.rates(register, at=date(2020, 12, 30)))
    assert before["township"]["online_target"] is None
    assert before["township"]["next_online_target"]["percent"] == 30


def test_targets_are_the_seeds():
    found = {(t.level, t.measure, t.due.isoformat(), t.percent) for t in matters.TARGETS}
    assert found == {
        ("city", "online", "2020-12-31", 90), ("county", "online", "2020-12-31", 90),
        ("township", "online", "2020-12-31", 30), ("township", "online", "2021-12-31", 50),
        ("city", "full", "2022-12-31", 100), ("county", "full", "2022-12-31", 100),
        ("township", "full", "2022-12-31", 100)}
    assert matters.target_at("township", "online", date(2022, 6, 1)).percent == 50  # a due target keeps standing


def test_filters_by_level_and_region(register):
    county_only = matters.rates(register, at=END_2022, level="county")
    assert [r["level"] for r in county_only["levels"]] == ["county"]
    district = by_level(matters.rates(register, at=END_2022, region="450202"))
    assert district["city"]["total"] == 0 and district["city"]["online_rate"] is None
    assert district["county"]["total"] == 3 and district["township"]["total"] == 3
    assert by_level(matters.rates(register, at=END_2022, region="450200"))["city"]["total"] == 4  # within the city
    with pytest.raises(ValidationFailed) as bad:
        matters.rates(register, at=END_2022, level="province")
    assert bad.value.code == "invalid_level"


def test_rates_of_an_empty_register_have_no_verdict(tree):
    result = matters.rates(tree, at=END_2022)
    for r in result["levels"]:
        assert r["total"] == 0 and r["online_rate"] is None and r["full_online_target"]["met"] is None


def test_trend_per_year_end(register):
    trend = matters.trend(register, years=[2019, 2020, 2021, 2022])
    assert trend["years"] == [2019, 2020, 2021, 2022]
    assert [p["at"] for p in trend["points"]] == ["2019-12-31", "2020-12-31", "2021-12-31", "2022-12-31"]
    township = [by_level(p)["township"]["online_rate"] for p in trend["points"]]
    assert township == [0.0, 33.3, 33.3, 33.3]
    city_full = [by_level(p)["city"]["full_online_rate"] for p in trend["points"]]
    assert city_full == [0.0, 0.0, 25.0, 50.0]
    assert by_level(trend["points"][1])["township"]["online_target"]["met"] is True
    default = matters.trend(register)
    assert default["years"][0] == 2019 and default["years"][-1] == matters.today().year
    assert default["points"][-1]["at"] == matters.today().isoformat()


def test_rates_by_region(register):
    rows = matters.rates_by_region(register, at=END_2022)
    assert [(r["region_code"], r["region_name"], r["total"]) for r in rows] == [("450202", "城中区", 6)]
    assert rows[0]["online_rate"] == round(100 * 4 / 6, 1) and rows[0]["full_online_rate"] == 40.0  # 2 / (6 − 1)


def test_find_by_package(tree):
    add(tree, "WJ0001", "WJ", name="出生医学证明签发", package_key="newborn", trips_required=2, promised_days=1)
    add(tree, "GA0001", "GA", name="出生登记", package_key="newborn", online=date(2020, 1, 1))
    add(tree, "GA0002", "GA", name="企业设立登记", package_key="company_startup")
    found = matters.find_by_package(tree, "newborn")
    assert {m["name"] for m in found} == {"出生医学证明签发", "出生登记"}
    wj = next(m for m in found if m["code"] == "WJ0001")
    assert wj | {"online_since": None} == {"code": "WJ0001", "name": "出生医学证明签发", "org_code": "WJ",
                                          "level": "city", "trips_required": 2, "promised_days": 1,
                                          "online_since": None, "fully_online_since": None}
    assert matters.find_by_package(tree, "retirement") == []
