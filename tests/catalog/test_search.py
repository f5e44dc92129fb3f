"""Catalog search: Chinese full text over names, summaries and item names, facets, ranking — on SQLite FTS5
and (with GOVDATA_TEST_POSTGRES) PostgreSQL. Entries are published through the catalog service, so the
index is written where the platform writes it (``projection.publish``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

from govdata.catalog import search, search_backends, service
from govdata.catalog.models import CatalogEntry, Resource
from govdata.catalog.schemas import ReviewIn
from govdata.principal import CLI
from tests.factories import make_org, publish, resource_spec


@pytest.fixture
def sdb(db):
    make_org(db, "LZ", name="柳州市人民政府", org_type="government")
    make_org(db, "WJ", parent="LZ", name="柳州市卫生健康委员会")
    make_org(db, "GA", parent="LZ", name="柳州市公安局")
    make_org(db, "MZ", parent="LZ", name="柳州市民政局")
    return db


def add(db, name: str, *, provider: str = "WJ", summary: str = "", items: tuple[str, ...] = ("记录编号",),
        classification: str = "基础/电子证照", share_type: str = "conditional", format: str = "database",
        open: bool = False, update_cycle: str = "daily") -> CatalogEntry:
    spec = resource_spec(
        provider=provider, name=name, summary=summary, classification=classification, share_type=share_type,
        share_condition="依申请共享" if share_type == "conditional" else "",
        share_basis="依法不予共享" if share_type == "none" else "", format=format, open=open,
        update_cycle=update_cycle,
        items=[{"key": f"item_{n}", "name": item, "data_type": "C", "length": 50} for n, item in enumerate(items)])
    code = publish(db, spec)
    return db.scalar(select(CatalogEntry).where(CatalogEntry.code == code))


def names(result: search.SearchResult) -> list[str]:
    return [e.name for e in result.entries]


def facet(result: search.SearchResult, key: str) -> dict[str, int]:
    return dict(result.facets[key])


# ---- finding -----------------------------------------------------------------------------------

def test_a_word_finds_longer_names_and_name_matches_rank_first(sdb):
    add(sdb, "户籍人口信息", provider="GA", classification="基础/人口", items=("姓名", "出生日期", "户籍地址"))
    add(sdb, "出生医学证明信息", summary="新生儿出生医学证明签发记录", items=("证明编号", "新生儿姓名"))
    add(sdb, "不动产登记信息", provider="MZ", items=("不动产单元号",))
    result = search.search(sdb, q="出生")
    assert names(result) == ["出生医学证明信息", "户籍人口信息"]
    assert result.total == 2


def test_item_names_summaries_providers_and_classifications_are_searchable(sdb):
    add(sdb, "出生医学证明信息", summary="由助产机构签发", items=("证明编号", "新生儿姓名"))
    add(sdb, "户籍人口信息", provider="GA", classification="基础/人口", items=("公民身份号码",))
    assert names(search.search(sdb, q="新生儿")) == ["出生医学证明信息"]  # an item name
    assert names(search.search(sdb, q="助产机构")) == ["出生医学证明信息"]  # the summary
    assert names(search.search(sdb, q="公民身份号码")) == ["户籍人口信息"]
    assert names(search.search(sdb, q="公安局")) == ["户籍人口信息"]  # the provider's name
    assert names(search.search(sdb, q="电子证照")) == ["出生医学证明信息"]  # the classification path
    assert search.search(sdb, q="死亡").total == 0


@pytest.mark.parametrize("typed", ["出生医学证", "医学证明", "证明信息", "卫生健康出生", "医学证明信息", "ＡＰＩ接口",
                                   "api"])
def test_what_people_type_is_found_whatever_jieba_made_of_the_name(sdb, typed):
    """Partial words (typing in progress), words run together without spaces, full-width letters."""
    add(sdb, "出生医学证明信息", summary="提供API接口查询")
    add(sdb, "不动产登记信息", provider="MZ")
    assert names(search.search(sdb, q=typed)) == ["出生医学证明信息"]


def test_every_word_must_match(sdb):
    add(sdb, "出生医学证明信息")
    add(sdb, "出生登记信息", provider="GA", classification="基础/人口")
    assert names(search.search(sdb, q="出生 公安")) == ["出生登记信息"]
    assert search.search(sdb, q="出生 死亡").total == 0
    assert search.search(sdb, q="出生和死亡").total == 0  # 和 is dropped, 死亡 still must match


def test_a_word_is_not_found_across_a_field_boundary(sdb):
    add(sdb, "住房公积", summary="金额统计", items=("金融机构",))
    assert search.search(sdb, q="公积金").total == 0  # 公积 ends the name, 金 begins the summary and an item
    assert search.search(sdb, q="公积 金额").total == 1


def test_the_whole_phrase_ranks_above_its_words_scattered(sdb):
    add(sdb, "医学影像证明存档", items=("出生日期",))
    add(sdb, "出生医学证明信息")
    assert names(search.search(sdb, q="出生医学证明")) == ["出生医学证明信息", "医学影像证明存档"]


# ---- filters, facets, paging, sorting ----------------------------------------------------------

@pytest.fixture
def catalog(sdb):
    add(sdb, "出生医学证明信息", items=("出生日期",), share_type="conditional", format="database", open=False)
    add(sdb, "医疗机构执业许可信息", classification="主题/医疗健康", share_type="unconditional", format="service",
        open=True, update_cycle="monthly")
    add(sdb, "户籍人口出生登记信息", provider="GA", classification="基础/人口", share_type="conditional",
        format="database", update_cycle="monthly")
    add(sdb, "婚姻登记信息", provider="MZ", classification="主题/民政服务", share_type="unconditional",
        format="spreadsheet", open=True, items=("男方出生日期", "女方出生日期"))
    add(sdb, "涉密会议记录", provider="GA", classification="部门", share_type="none", format="electronic_file")
    return sdb


def test_filters_narrow_the_results(catalog):
    db = catalog
    assert names(search.search(db, q="信息", provider="GA")) == ["户籍人口出生登记信息"]
    assert {e.share_type for e in search.search(db, q=None, share_type="unconditional").entries} == {"unconditional"}
    assert sorted(names(search.search(db, q="信息", format="database"))) == ["出生医学证明信息", "户籍人口出生登记信息"]
    assert sorted(names(search.search(db, q=None, open=True))) == ["医疗机构执业许可信息", "婚姻登记信息"]
    assert search.search(db, q=None, open=False).total == 3
    assert search.search(db, q="出生", update_cycle="monthly").total == 1
    assert search.search(db, q=None, update_cycle="monthly").total == 2


def test_classification_matches_the_code_and_its_descendants(catalog):
    db = catalog
    assert sorted(names(search.search(db, q=None, classification="1"))) == ["出生医学证明信息", "户籍人口出生登记信息"]
    assert names(search.search(db, q=None, classification="105")) == ["出生医学证明信息"]
    assert sorted(names(search.search(db, q=None, classification="2"))) == ["医疗机构执业许可信息", "婚姻登记信息"]
    assert names(search.search(db, q=None, classification="3")) == ["涉密会议记录"]
    assert search.search(db, q=None, classification="9").total == 0
    assert search.search(db, q=None, classification="1%").total == 0  # not a LIKE pattern


def test_facets_count_the_whole_match_set(catalog):
    result = search.search(catalog, q=None, page_size=1)
    assert result.total == 5 and len(result.entries) == 1
    assert result.facets["provider"] == [("GA", 2), ("WJ", 2), ("MZ", 1)]  # by count, then value
    assert facet(result, "classification") == {"105": 1, "201": 1, "101": 1, "206": 1, "301": 1}
    assert facet(result, "share_type") == {"conditional": 2, "unconditional": 2, "none": 1}
    assert facet(result, "format") == {"database": 2, "service": 1, "spreadsheet": 1, "electronic_file": 1}
    assert facet(result, "open") == {"false": 3, "true": 2}
    # a word in 4 of the 5 entries (on SQLite, counted from the one entry that lacks it)
    result = search.search(catalog, q="出生")
    assert result.total == 3
    assert facet(result, "provider") == {"WJ": 1, "GA": 1, "MZ": 1}
    assert facet(result, "open") == {"false": 2, "true": 1}
    result = search.search(catalog, q="信息")
    assert result.total == 4 and facet(result, "provider") == {"WJ": 2, "GA": 1, "MZ": 1}
    everything = search.search(catalog, q="柳州")  # every provider is 柳州市…
    assert everything.total == 5 and everything.facets == search.search(catalog, q=None).facets
    result = search.search(catalog, q="登记")  # a word in 2 of the 5, counted directly
    assert result.total == 2 and facet(result, "provider") == {"GA": 1, "MZ": 1}
    assert facet(result, "share_type") == {"conditional": 1, "unconditional": 1}
    result = search.search(catalog, q="出生", update_cycle="monthly")
    assert result.total == 1 and facet(result, "provider") == {"GA": 1}


def test_each_facet_ignores_its_own_filter_and_respects_the_others(catalog):
    result = search.search(catalog, q="信息", provider="WJ")
    assert result.total == 2
    assert facet(result, "provider") == {"WJ": 2, "GA": 1, "MZ": 1}  # the other providers stay choosable
    assert facet(result, "share_type") == {"conditional": 1, "unconditional": 1}  # only WJ's
    assert facet(result, "open") == {"false": 1, "true": 1}
    result = search.search(catalog, q="信息", provider="WJ", open=True)
    assert names(result) == ["医疗机构执业许可信息"]
    assert facet(result, "provider") == {"WJ": 1, "MZ": 1}  # open ones, any provider
    assert facet(result, "open") == {"false": 1, "true": 1}  # WJ's, open or not
    assert facet(result, "format") == {"service": 1}


def test_paging_covers_every_match_once(sdb):
    for n in range(7):
        add(sdb, f"出生登记信息{n}", items=("出生日期",))
    add(sdb, "婚姻登记信息", provider="MZ")
    seen = []
    for page in (1, 2, 3):
        result = search.search(sdb, q="出生", page=page, page_size=3)
        assert result.total == 7
        seen += names(result)
    assert sorted(seen) == [f"出生登记信息{n}" for n in range(7)]
    assert [len(search.search(sdb, q="出生", page=p, page_size=3).entries) for p in (1, 2, 3, 4)] == [3, 3, 1, 0]


def test_without_a_query_newest_first_or_by_name(sdb):
    for name in ("乙类资源信息", "甲类资源信息", "丙类资源信息"):
        add(sdb, name)
    assert names(search.search(sdb, q=None)) == ["丙类资源信息", "甲类资源信息", "乙类资源信息"]
    assert names(search.search(sdb, q="  ", sort="relevance")) == ["丙类资源信息", "甲类资源信息", "乙类资源信息"]
    assert names(search.search(sdb, q="资源", sort="newest")) == ["丙类资源信息", "甲类资源信息", "乙类资源信息"]
    by_name = sorted(["乙类资源信息", "甲类资源信息", "丙类资源信息"])  # code-point order, the same on both
    assert names(search.search(sdb, q=None, sort="name")) == by_name
    assert names(search.search(sdb, q="资源", sort="name")) == by_name
    with pytest.raises(ValueError):
        search.search(sdb, q=None, sort="popular")


def test_large_match_sets_put_name_matches_first_newest_first(sdb, monkeypatch):
    """Past RANK_LIMIT matches bm25 is not computed (SQLite); names matching still come first."""
    add(sdb, "出生医学证明信息")
    add(sdb, "户籍人口信息", provider="GA", items=("出生日期",))
    add(sdb, "出生登记信息", provider="GA")
    monkeypatch.setattr(search_backends, "RANK_LIMIT", 1)
    assert names(search.search(sdb, q="出生")) == ["出生登记信息", "出生医学证明信息", "户籍人口信息"]
    assert names(search.search(sdb, q="出生", page=2, page_size=2)) == ["户籍人口信息"]
    assert names(search.search(sdb, q="出生", page=1, page_size=2, provider="GA")) == ["出生登记信息", "户籍人口信息"]


# ---- hostile input -----------------------------------------------------------------------------

@pytest.mark.parametrize("q", ['"', "*", "OR", "NEAR(", "'; DROP TABLE catalog_entries; --", "<script>", "出生\"",
                               '"出生" OR "婚姻"', "NOT 出生", "出生 AND", "name:出生", "{name}: 出生", "^出生",
                               "出生*", "(出生", "\\", "%_", "\x00", "\ue000", "😀", "a" * 500, "出生" * 300])
def test_hostile_queries_return_normally(catalog, q):
    result = search.search(catalog, q=q)
    assert result.total >= 0 and len(result.entries) <= result.total
    assert catalog.scalar(select(func.count()).select_from(CatalogEntry)) == 5


def test_operators_typed_by_users_are_words(catalog):
    assert search.search(catalog, q="出生 OR 婚姻").total == 0  # OR must occur as a word
    assert names(search.search(catalog, q="出生\" 婚姻")) == ["婚姻登记信息"]  # the quote is dropped
    assert search.search(catalog, q="出生*").total == search.search(catalog, q="出生").total


@pytest.mark.parametrize("q", [None, "", "   ", "，。！？", '"', "*", "()", "\ue000"])
def test_nothing_searchable_behaves_as_no_query(catalog, q):
    result = search.search(catalog, q=q)
    assert result.total == 5 and names(result) == names(search.search(catalog, q=None))


# ---- keeping the index right -------------------------------------------------------------------

def test_republishing_replaces_the_entry_in_the_index(sdb):
    entry = add(sdb, "出生医学证明信息")
    data = resource_spec(name="死亡医学证明信息", summary="", share_condition="依申请共享",
                         items=[{"key": "item_0", "name": "记录编号", "data_type": "C", "length": 50}])
    resource = sdb.get(Resource, entry.resource_id)
    service.update(sdb, CLI, resource.code, data)
    assert names(search.search(sdb, q="出生")) == ["出生医学证明信息"]  # the edit is not approved yet
    service.submit(sdb, CLI, resource.code)
    service.review(sdb, CLI, resource.code, ReviewIn(decision="approve"))
    assert search.search(sdb, q="出生").total == 0
    assert names(search.search(sdb, q="死亡")) == ["死亡医学证明信息"]
    search.index_entry(sdb, sdb.get(CatalogEntry, entry.resource_id))  # once more: still one row
    sdb.commit()
    result = search.search(sdb, q="医学")
    assert result.total == 1 and facet(result, "provider") == {"WJ": 1}


def test_remove_entry_takes_it_out_of_results_and_facets(catalog):
    entry = catalog.scalar(select(CatalogEntry).where(CatalogEntry.name == "婚姻登记信息"))
    search.remove_entry(catalog, entry.resource_id)
    catalog.commit()
    assert search.search(catalog, q="婚姻").total == 0
    result = search.search(catalog, q=None)
    assert result.total == 4 and "MZ" not in facet(result, "provider")
    search.remove_entry(catalog, entry.resource_id)  # already gone: nothing happens
    search.remove_entry(catalog, 999_999)


def test_an_entry_deleted_from_the_catalog_leaves_the_index(catalog):
    catalog.execute(text("DELETE FROM catalog_entries WHERE name = '婚姻登记信息'"))
    catalog.commit()
    result = search.search(catalog, q="登记")
    assert names(result) == ["户籍人口出生登记信息"] and facet(result, "provider") == {"GA": 1}
    assert search.search(catalog, q=None).total == 4


def test_rebuild_and_index_many_restore_the_index(catalog):
    before = {q: (names(search.search(catalog, q=q)), search.search(catalog, q=q).facets) for q in ("出生", "信息")}
    ids = list(catalog.scalars(select(CatalogEntry.resource_id)))
    for resource_id in ids:
        search.remove_entry(catalog, resource_id)
    assert search.search(catalog, q="出生").total == 0
    assert search.index_many(catalog, catalog.scalars(select(CatalogEntry).order_by(CatalogEntry.published_at))) == 5
    catalog.commit()
    assert {q: (names(search.search(catalog, q=q)), search.search(catalog, q=q).facets) for q in before} == before
    assert search.rebuild(catalog) == 5
    catalog.commit()
    assert {q: (names(search.search(catalog, q=q)), search.search(catalog, q=q).facets) for q in before} == before
    assert search.search(catalog, q=None).total == 5


def test_the_index_is_written_in_the_publishing_transaction(sdb):
    add(sdb, "出生医学证明信息")
    entry = sdb.scalar(select(CatalogEntry))
    entry.name = "死亡医学证明信息"
    search.index_entry(sdb, entry)
    assert names(search.search(sdb, q="死亡")) == ["死亡医学证明信息"]
    sdb.rollback()
    assert names(search.search(sdb, q="出生")) == ["出生医学证明信息"]
    assert search.search(sdb, q="死亡").total == 0


def test_facet_values_are_never_stale_when_ids_are_reused(sdb):
    add(sdb, "出生医学证明信息")
    assert facet(search.search(sdb, q=None), "provider") == {"WJ": 1}
    sdb.execute(text("DELETE FROM catalog_entries"))
    if sdb.get_bind().dialect.name == "sqlite":  # as a wiped database would: combination ids start again
        sdb.execute(text("DELETE FROM catalog_search_combos"))
    sdb.commit()
    add(sdb, "户籍人口信息", provider="GA", share_type="unconditional")
    result = search.search(sdb, q=None)
    assert facet(result, "provider") == {"GA": 1} and facet(result, "share_type") == {"unconditional": 1}


# ---- text analysis -----------------------------------------------------------------------------

def test_query_words_and_index_terms():
    assert search.parse_query(None) == search.parse_query("  ，。") == []
    assert [t.text for t in search.parse_query("出生 公安局 API")] == ["出生", "公安局", "API"]
    phrase = search.parse_query("出生医学证")[0]
    assert [p.text for p in phrase.parts] == ["出生", "医学证"] and phrase.text == "出生医学证"
    assert [t.text for t in search.parse_query("出生和死亡")] == ["出生", "死亡"]
    terms = search.terms_of("出生医学证明").split()
    assert {"出生", "生医", "医学", "学证", "证明", "明"} <= set(terms)


def test_jieba_says_nothing_on_stderr():
    code = "from govdata.catalog import search; search.parse_query('出生医学证明')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stderr == ""
