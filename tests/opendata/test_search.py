"""The portal's search: Chinese substrings, filters with facets that ignore their own filter, sorting, paging,
hostile input; and the usage counters behind "most used"."""

from __future__ import annotations

import pytest

from govdata.errors import ValidationFailed
from govdata.opendata import search, service, usage
from govdata.opendata.search import Filters


def names(result: search.Result) -> list[str]:
    return [d.name for d in result.datasets]


@pytest.mark.parametrize("q", ["医疗机构", "机构名录", "床位", "卫生健康", "医疗 名录"])
def test_chinese_words_and_substrings_find_the_dataset(db, portal, q):
    assert names(search.search(db, q=q)) == ["医疗机构名录"]


def test_every_word_must_match(db, portal):
    assert search.search(db, q="医疗 企业").total == 0
    assert names(search.search(db, q="企业 市场监管")) == ["企业登记信息"]


def test_withdrawn_private_and_unversioned_never_match(db, portal):
    assert search.search(db, q="旧企业名录").total == 0
    assert search.search(db, q="住院病人").total == 0
    assert search.search(db, q="疫苗接种点").total == 0
    assert search.search(db).total == 3


def test_filters_and_facets(db, portal):
    result = search.search(db, filters=Filters(provider="WJ"))
    assert names(result) == ["医疗机构名录"]
    providers = {value: n for value, _, n in result.facets["provider"]}
    assert providers == {"WJ": 1, "SCJ": 1, "GA": 1}  # the provider facet ignores its own filter
    assert {value: n for value, _, n in result.facets["theme"]} == {"201": 1}
    labels = {value: label for value, label, _ in result.facets["provider"]}
    assert labels["WJ"] == "柳州市卫生健康委员会"
    assert search.search(db, filters=Filters(theme="101")).total == 1
    assert search.search(db, filters=Filters(update_cycle="daily")).total == 0
    assert search.search(db, filters=Filters(has_api=True)).total == 3


def test_name_sort_follows_pinyin(db, portal):
    # 户 hu < 企 qi < 医 yi
    assert names(search.search(db, sort="name")) == ["户籍人口统计", "企业登记信息", "医疗机构名录"]


def test_most_used_sort_and_home_reflect_usage(db, portal):
    usage.count(portal.companies, "downloads", 5)
    usage.count(portal.hospitals, "views", 2)
    usage.flush(db)  # (a count may have been written already: the first one after 5 s flushes)
    db.expire_all()
    assert names(search.search(db, sort="downloads"))[0] == "企业登记信息"
    assert names(search.search(db, sort="views"))[0] == "医疗机构名录"
    home = service.home(db)
    assert home["downloads"] == 5 and home["views"] == 2 and home["datasets"] == 3
    assert home["most_used"][0].code == portal.companies
    ranked = service.rankings(db, "downloads", days=30)
    assert [(r["dataset"].code, r["value"]) for r in ranked] == [(portal.companies, 5)]


def test_paging(db, portal):
    first = search.search(db, sort="name", page=1, page_size=2)
    second = search.search(db, sort="name", page=2, page_size=2)
    assert first.total == second.total == 3
    assert len(first.datasets) == 2 and names(second) == ["医疗机构名录"]
    assert search.search(db, page=99).datasets == []


@pytest.mark.parametrize(("q", "expected"), [
    ("%", 3), ("_", 3), ("\\", 3), ("*:*", 3),  # no searchable word: everything, like an empty query
    ("' OR 1=1 --", 0), ("<script>", 0), ("医疗%' --", 1), ('"医疗"', 1), ("100%", 0),
])
def test_hostile_queries_are_plain_text(db, portal, q, expected):
    assert search.search(db, q=q).total == expected


def test_unknown_sort_is_refused(db, portal):
    with pytest.raises(ValidationFailed) as exc:
        search.search(db, sort="name; DROP TABLE open_datasets")
    assert exc.value.code == "invalid_sort"


def test_rating_sort_puts_unrated_last(db, portal):
    from govdata.opendata import feedback

    feedback.rate(db, portal.people, 3, developer_id=None, ip="10.0.0.9")
    assert names(search.search(db, sort="rating"))[0] == "户籍人口统计"


def test_removed_columns_do_not_make_a_dataset_findable(db, portal):
    # the people dataset was opened with 姓名 and 手机号码 removed: searching them must not find it
    assert search.search(db, q="手机号码").total == 0
    assert names(search.search(db, q="户籍人口")) == ["户籍人口统计"]
