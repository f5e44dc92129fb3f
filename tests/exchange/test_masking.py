"""Masking rules (脱敏规则) as data: the issue's examples, what is masked and what is not, rules edited by the
bureau change the answers without a code change, hostile rule input, and who may edit them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from govdata import migrate
from govdata.accounts import service as accounts
from govdata.accounts.schemas import CredentialCreate
from govdata.actionlog.models import ActionLogEntry
from govdata.db import get_engine
from govdata.errors import AppError, Forbidden, NotFound, ValidationFailed
from govdata.exchange import masking
from govdata.exchange.masking import Rule, apply, mask_value, plan
from govdata.exchange.models import DEFAULT_RULES, MaskingRule
from govdata.principal import CLI
from tests.factories import liuzhou, principal_of, token_for, with_standards
from tests.ingest.conftest import PEOPLE_ITEMS

ITEMS = [{**item, "sensitivity": level, "identifies": item.get("primary_key", False)}
         for item, level in zip(PEOPLE_ITEMS, ["L3", "L3", "L2", "L2", "L1", "L3"], strict=True)]
ROW = {"id_number": "45020219900101123X", "name": "张三", "sex": "1", "birth_date": "1990-01-01",
       "region": "450202", "phone": "13800135678"}


def shipped() -> tuple[Rule, ...]:
    """The default rules without a database, in order of precedence."""
    ordered = sorted(DEFAULT_RULES, key=lambda r: (r.get("priority", 100), r["name"]))
    return tuple(Rule(**{**r, "match_keys": tuple(r["match_keys"]), "match_names": tuple(r["match_names"]),
                         "match_elements": frozenset(r["match_elements"])}) for r in ordered)


def rule(name: str) -> Rule:
    return next(r for r in shipped() if r.name == name)


@pytest.fixture
def bureau(db):
    liuzhou(db)
    with_standards(db)
    return principal_of(db, "admin")


# ---- the issue's examples, through the rules the platform ships ------------------------------------------------

def test_the_issues_three_examples_exactly(db):
    masked = apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]
    assert masked["id_number"] == "450202********123X"
    assert masked["name"] == "张*"
    assert masked["phone"] == "138****5678"


def test_the_shipped_rules_are_seeded_by_the_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    with get_engine(url).connect() as conn:
        names = set(conn.scalars(select(MaskingRule.name)))
    get_engine(url).dispose()
    assert names == {r["name"] for r in DEFAULT_RULES}
    assert {"id_number", "person_name", "phone", "address", "bank_card", "email"} <= names


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("person_name", "张三丰", "张**"),
    ("person_name", "欧阳娜娜", "欧阳**"),
    ("person_name", "欧阳修", "欧阳*"),
    ("person_name", "欧阳", "欧*"),  # only a surname: still one character hidden
    ("person_name", "张", "*"),
    ("person_name", "买买提·艾力", "买*****"),
    ("id_number", "450202199001011234", "450202********1234"),
    ("phone", "0772-2800000", "077*****0000"),
    ("bank_card", "6222021234567890123", "622202*********0123"),
    ("email", "zhang@example.com", "z***@example.com"),
    ("email", "z@example.com", "***@example.com"),
    ("email", "not-an-email", "n***"),
    ("address", "广西壮族自治区柳州市城中区文惠路1号", "广西壮族自治****"),
    ("id_number", "12345", "12***"),  # shorter than the rule expects: at most half is shown
])
def test_shipped_rule_masks(name, value, expected):
    assert mask_value(value, rule(name)) == expected


def test_values_no_rule_matches_are_masked_completely_with_at_least_four_characters():
    assert mask_value("12", None) == "****"
    assert mask_value("机密信息内容八个字", None) == "*" * 9
    assert mask_value(12345, None) == "*****"


def test_non_string_values_are_masked_as_text_and_empty_values_stay():
    items = [{"key": "card", "name": "银行卡号", "sensitivity": "L4"},
             {"key": "score", "name": "评分", "sensitivity": "L3"}]
    rows = apply([{"card": 6222021234567890123, "score": 98.5}, {"card": None, "score": ""}],
                 plan(items, set(), shipped()))
    assert rows == [{"card": "622202*********0123", "score": "****"}, {"card": None, "score": ""}]


# ---- what is masked -------------------------------------------------------------------------------------------

def test_only_l3_and_l4_items_are_masked():
    decided = plan(ITEMS, set(), shipped())
    assert set(decided) == {"id_number", "name", "phone"}  # sex, birth_date (L2), region (L1) are not
    masked = apply([ROW], decided)[0]
    assert {k: masked[k] for k in ("sex", "birth_date", "region")} == {"sex": "1", "birth_date": "1990-01-01",
                                                                         "region": "450202"}


def test_a_grant_lifts_masking_per_item():
    masked = apply([ROW], plan(ITEMS, {"name", "phone"}, shipped()))[0]
    assert masked["name"] == "张三" and masked["phone"] == "13800135678"
    assert masked["id_number"] == "450202********123X"


def test_an_l3_item_no_rule_matches_is_masked_completely():
    items = [*ITEMS, {"key": "diagnosis", "name": "诊断结果", "sensitivity": "L3", "data_element": None}]
    decided = plan(items, set(), shipped())
    assert decided["diagnosis"] is None
    assert apply([{**ROW, "diagnosis": "高血压"}], decided)[0]["diagnosis"] == "****"


def test_rules_match_by_element_key_pattern_or_chinese_name():
    rules = shipped()
    by = {i["key"]: next(r.name for r in rules if r.matches(i)) for i in [
        {"key": "x1", "name": "其他", "data_element": "DE0031"},  # 联系电话 by element
        {"key": "mother_id_number", "name": "母亲证件", "data_element": None},  # by key pattern
        {"key": "x2", "name": "法人身份证号", "data_element": None},  # by name
        {"key": "contact_mobile", "name": "联系人手机", "data_element": None},  # phone before name (priority)
        {"key": "home_addr", "name": "家庭", "data_element": None},
    ]}
    assert by == {"x1": "phone", "mother_id_number": "id_number", "x2": "id_number", "contact_mobile": "phone",
                  "home_addr": "address"}


def test_apply_returns_new_rows_and_leaves_the_input_alone():
    rows = [dict(ROW)]
    masked = apply(rows, plan(ITEMS, set(), shipped()))
    assert rows == [ROW] and masked[0] is not rows[0]
    assert apply(rows, {}) is rows  # nothing to mask: no copy


def test_plan_is_cached_but_never_shared_between_callers():
    first = plan(ITEMS, set(), shipped())
    first["region"] = None
    assert "region" not in plan(ITEMS, set(), shipped())


# ---- rules are data ---------------------------------------------------------------------------------------------

def test_editing_a_rule_changes_the_answer_without_code(db, bureau):
    assert apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]["phone"] == "138****5678"
    masking.save_rule(db, bureau, {"name": "phone", "keep_start": 0, "keep_end": 4})
    assert apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]["phone"] == "*******5678"
    masking.save_rule(db, bureau, {"name": "phone", "enabled": False})
    assert apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]["phone"] == "*" * 11
    masking.save_rule(db, bureau, {"name": "phone_strict", "label": "电话(严格)", "match_elements": ["DE0007"],
                                   "keep_start": 0, "keep_end": 2, "fixed_mask": True, "mask_length": 3,
                                   "mask_char": "#", "priority": 1})
    assert apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]["phone"] == "###78"


def test_deleting_a_rule_masks_its_items_completely_and_seed_restores_it(db, bureau):
    masking.delete_rule(db, bureau, "person_name")
    assert apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]["name"] == "****"
    assert masking.seed_defaults(db) == 1
    assert apply([ROW], plan(ITEMS, set(), masking.rules(db)))[0]["name"] == "张*"
    with pytest.raises(NotFound) as exc:
        masking.delete_rule(db, bureau, "no_such_rule")
    assert exc.value.code == "masking_rule_not_found"


def test_changes_are_in_the_action_log(db, bureau):
    masking.save_rule(db, bureau, {"name": "phone", "keep_start": 2})
    masking.save_rule(db, bureau, {"name": "passport", "label": "护照号码", "match_keys": ["*passport*"],
                                   "keep_start": 1, "keep_end": 2})
    masking.delete_rule(db, bureau, "passport")
    entries = db.scalars(select(ActionLogEntry).where(ActionLogEntry.target_type == "masking_rule")
                         .order_by(ActionLogEntry.id)).all()
    assert [(e.action, e.target_id) for e in entries] == [
        ("masking_rule.updated", "phone"), ("masking_rule.created", "passport"), ("masking_rule.deleted", "passport")]
    assert entries[0].before["keep_start"] == 3 and entries[0].after["keep_start"] == 2
    assert entries[0].actor_name == "admin"


def test_the_cache_sees_other_processes_changes_within_the_ttl(db, bureau, monkeypatch):
    assert rule_named(masking.rules(db), "phone").keep_start == 3
    db.execute(update(MaskingRule).where(MaskingRule.name == "phone").values(keep_start=1))  # another process
    db.commit()
    assert rule_named(masking.rules(db), "phone").keep_start == 3  # cached
    monkeypatch.setattr(masking, "RULES_TTL", 0.0)
    assert rule_named(masking.rules(db), "phone").keep_start == 1


def rule_named(rules, name: str) -> Rule:
    return next(r for r in rules if r.name == name)


# ---- hostile or wrong input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "code"), [
    ({"name": "DROP TABLE masking_rules", "label": "x", "match_keys": ["a"]}, "invalid_rule_name"),
    ({"name": "Phone", "label": "x", "match_keys": ["a"]}, "invalid_rule_name"),
    ({"name": "x", "match_keys": ["a"]}, "invalid_rule_label"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "kind": "regex"}, "unknown_rule_kind"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "keep_start": -1}, "invalid_keep"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "keep_end": 1000}, "invalid_keep"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "mask_char": "**"}, "invalid_mask_char"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "mask_char": " "}, "invalid_mask_char"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "mask_length": 0}, "invalid_mask_length"),
    ({"name": "x", "label": "x", "match_keys": ["(?i).*"]}, "invalid_pattern"),
    ({"name": "x", "label": "x", "match_keys": ["a|b"]}, "invalid_pattern"),
    ({"name": "x", "label": "x", "match_keys": ["../etc/passwd"]}, "invalid_pattern"),
    ({"name": "x", "label": "x", "match_keys": ["a\\b"]}, "invalid_pattern"),
    ({"name": "x", "label": "x", "match_keys": ["a\x00"]}, "invalid_pattern"),
    ({"name": "x", "label": "x", "match_keys": ["a" * 65]}, "invalid_pattern"),
    ({"name": "x", "label": "x", "match_names": ["姓\x00名"]}, "invalid_name_match"),
    ({"name": "x", "label": "x", "match_names": ["名" * 51]}, "invalid_name_match"),
    ({"name": "x", "label": "x", "match_elements": ["DE9999"]}, "unknown_element"),
    ({"name": "x", "label": "x", "match_elements": ["DE0001' OR '1'='1"]}, "unknown_element"),
    ({"name": "x", "label": "x", "match_keys": [f"k{i}" for i in range(51)]}, "too_many_matches"),
    ({"name": "x", "label": "x"}, "empty_match"),
    ({"name": "x", "label": "x", "match_keys": ["   "]}, "empty_match"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "keep_start": "many"}, "invalid_masking_rule"),
    ({"name": "x", "label": "x", "match_keys": ["a"], "sql": "1"}, "invalid_masking_rule"),
])
def test_invalid_rules_are_refused_with_a_clear_code(db, data, code):
    with_standards(db)
    with pytest.raises(ValidationFailed) as exc:
        masking.save_rule(db, CLI, data)
    assert exc.value.code == code
    assert masking.find_rule(db, "x") is None


def test_matches_are_trimmed_lowercased_and_deduplicated(db, bureau):
    masking.save_rule(db, bureau, {"name": "x", "label": " 示例 ", "match_names": [" 姓名\n", "姓名", ""],
                                   "match_keys": ["*Passport*", "*passport*"]})
    saved = masking.get_rule(db, "x")
    assert (saved.label, saved.match_names, saved.match_keys) == ("示例", ["姓名"], ["*passport*"])


def test_patterns_and_names_are_literal_and_cannot_blow_up():
    hostile = Rule(name="h", label="h", match_keys=("*a" * 30 + "b",), match_names=(".*", "[", "%"))
    started = time.perf_counter()
    assert not hostile.matches({"key": "a" * 64, "name": "任意名称"})
    assert time.perf_counter() - started < 0.1
    assert hostile.matches({"key": "x", "name": "含有.*的名称"})
    assert not Rule(name="s", label="s", match_keys=("[",)).matches({"key": "abc", "name": ""})


def test_a_long_hostile_pattern_is_accepted_as_data_and_matches_quickly(db, bureau):
    masking.save_rule(db, bureau, {"name": "stars", "label": "星号", "match_keys": ["*a" * 31 + "b"]})
    started = time.perf_counter()
    plan([{"key": "a" * 64, "name": "x", "sensitivity": "L3"}], set(), masking.rules(db))
    assert time.perf_counter() - started < 0.1


# ---- who may edit ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["ga_admin", "wj_staff", "auditor"])
def test_only_the_bureau_edits_rules(db, bureau, username):
    who = principal_of(db, username)
    with pytest.raises(Forbidden):
        masking.save_rule(db, who, {"name": "phone", "keep_start": 0})
    with pytest.raises(Forbidden):
        masking.delete_rule(db, who, "phone")
    assert masking.get_rule(db, "phone").keep_start == 3
    masking.save_rule(db, CLI, {"name": "phone", "keep_start": 2})  # the CLI operator may
    assert masking.get_rule(db, "phone").keep_start == 2


# ---- REST -------------------------------------------------------------------------------------------------------

@pytest.fixture
def api(client):
    """The client, with the masking router mounted (first: the gateway's ``/api/v1/exchange/{code:path}`` would
    take its paths) if the application does not mount it (yet)."""
    from govdata.exchange import masking_api

    routes = client.app.router.routes
    if not any(getattr(r, "path", "").startswith(masking_api.router.prefix) for r in routes):
        before = len(routes)
        client.app.include_router(masking_api.router)
        routes[:] = routes[before:] + routes[:before]
    return client


URL = "/api/v1/exchange/masking-rules"


def test_api_anyone_signed_in_reads_the_rules(api, db, bureau):
    assert api.get(URL).status_code == 401
    listed = api.get(URL, headers=token_for(api, "wj_staff")).json()
    assert [r["name"] for r in listed["items"]] == [
        "id_number", "bank_card", "email", "phone", "person_name", "address"]
    assert listed["kinds"]["keep"] and listed["items"][0]["kind_label"] == "保留首尾字符"
    _, token = accounts.create_credential(db, CLI, CredentialCreate(org="WJ", name="业务系统"))
    system = {"Authorization": f"Bearer {token}"}
    assert api.get(f"{URL}/phone", headers=system).json()["keep_end"] == 4
    assert api.get(f"{URL}/nope", headers=system).json()["error"]["code"] == "masking_rule_not_found"
    refused = api.put(f"{URL}/phone", json={"keep_start": 0}, headers=system)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "person_required"


def test_api_the_bureau_creates_changes_and_deletes(api, db, bureau):
    headers = token_for(api, "admin")
    created = api.put(f"{URL}/passport", json={"label": "护照号码", "match_keys": ["*passport*"], "keep_start": 1,
                                               "keep_end": 2}, headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["name"] == "passport" and created.json()["updated_by"] == "admin"
    changed = api.put(f"{URL}/passport", json={"keep_end": 3}, headers=headers).json()
    assert (changed["keep_start"], changed["keep_end"], changed["match_keys"]) == (1, 3, ["*passport*"])
    bad = api.put(f"{URL}/passport", json={"keep_end": -2}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_keep"
    mismatch = api.put(f"{URL}/passport", json={"name": "other"}, headers=headers)
    assert mismatch.json()["error"]["code"] == "rule_name_mismatch"
    assert api.delete(f"{URL}/passport", headers=headers).status_code == 204
    assert api.delete(f"{URL}/passport", headers=headers).status_code == 404


def test_api_departments_cannot_edit(api, db, bureau):
    headers = token_for(api, "ga_admin")
    response = api.put(f"{URL}/phone", json={"keep_start": 0}, headers=headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert api.delete(f"{URL}/phone", headers=headers).status_code == 403
    assert masking.get_rule(db, "phone").keep_start == 3


def test_errors_are_app_errors(db, bureau):
    with pytest.raises(AppError):
        masking.get_rule(db, "missing")
