from __future__ import annotations

from stdnum.cn import uscc

from govdata.accounts import service as accounts
from govdata.demo import service as demo
from govdata.orgs import service as orgs
from govdata.principal import CLI
from govdata.security import check_password_strength
from govdata.standards import regions


def test_demo_builds_the_liuzhou_tree_with_valid_codes(db):
    created = demo.load(db)
    _, all_orgs = orgs.list_orgs(db, page_size=200)
    by_level = orgs.count_by_level(db)
    assert by_level["city"] >= 13 and by_level["county"] >= 10 and by_level["township"] >= 20
    assert {o.region_code for o in all_orgs if o.level == "county"} == {d.code for d in regions.children("450200")}
    for org in all_orgs:
        assert regions.is_current(org.region_code)
        if org.uscc:
            assert uscc.is_valid(org.uscc)
    names = {o.name for o in all_orgs}
    for department in ("柳州市公安局", "柳州市卫生健康委员会", "柳州市教育局", "柳州市人力资源和社会保障局",
                       "柳州市医疗保障局", "柳州市市场监督管理局", "国家税务总局柳州市税务局", "柳州市民政局",
                       "柳州市自然资源和规划局", "柳州市住房和城乡建设局", "柳州住房公积金管理中心",
                       "柳州市大数据发展局"):
        assert department in names
    assert {u for u, _, _ in created} >= {"admin", "auditor", "ga_admin", "wj_admin"}
    for _, _, password in created:
        check_password_strength(password)  # generated, never a fixed demo password


def test_demo_accounts_log_in_and_reload_is_idempotent(db, var_dir):
    created = dict((u, p) for u, _, p in demo.load(db))
    assert demo.is_loaded(db)
    user = accounts.authenticate(db, "admin", created["admin"], CLI)
    assert user.role == "bureau_admin"
    count = orgs.list_orgs(db)[0]
    assert demo.load(db) == []  # nothing new, nothing duplicated
    assert orgs.list_orgs(db)[0] == count
    saved = {u: p for u, _, p in demo.saved_accounts()}
    assert saved["admin"] == created["admin"]
    assert oct((var_dir / "demo-accounts.txt").stat().st_mode & 0o777) == "0o600"


def test_demo_publishes_a_realistic_liuzhou_catalog(db):
    from govdata.catalog import lists, projection

    demo.load(db)
    entries = projection.published_entries(db)
    assert len(entries) >= 60
    providers = {e.provider for e in entries}
    assert {"450200-GA", "450200-WJ", "450200-JY", "450200-RS", "450200-YB", "450200-SJ", "450200-SW",
            "450200-MZ", "450200-ZR", "450200-ZJ", "450200-GJJ", "450200-DSJ"} <= providers
    names = {e.name for e in entries}
    for needed in ("出生医学证明信息", "户籍人口登记信息", "预防接种信息", "社会保险参保信息", "城乡居民医保参保信息",
                   "营业执照信息", "学籍信息"):
        assert needed in names
    assert lists.build(db, "negative")["total"] >= 4
    assert lists.build(db, "open")["total"] >= 10
    assert demo.load_catalog(db) == 0  # idempotent
