"""Packages are data: a file is checked on load with every problem named, versioned, and a new life event runs
end to end from a file alone — no code names it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from govdata.demo import families
from govdata.onething import package as pkg
from govdata.onething import packages
from tests.onething.conftest import RETIREE, headers_for
from tests.onething.test_api import accept, start, task_of
from tests.test_cli import run

SHIPPED = packages.SHIPPED_DIR


def shipped(name: str) -> dict:
    return yaml.safe_load((SHIPPED / f"{name}.yaml").read_text(encoding="utf-8"))


def problems(raw: dict | str, bpmn: str | None = None) -> list[str]:
    with pytest.raises(pkg.PackageInvalid) as caught:
        pkg.parse(raw if isinstance(raw, str) else yaml.safe_dump(raw, allow_unicode=True), bpmn)
    return caught.value.details["problems"]


@pytest.mark.parametrize("name", ["newborn", "school_enrolment", "company_startup", "retirement"])
def test_shipped_packages_parse_and_their_order_is_what_the_seed_describes(name):
    path = SHIPPED / f"{name}.yaml"
    package = pkg.read_file(path)
    assert package.key == name and all(package.needs[m.key] is not None for m in package.spec.matters)
    if name == "newborn":  # drawn as BPMN: 出生登记 waits for the certificate; 医保 and 社保卡 for 出生登记
        assert package.needs == {"birth_certificate": [], "vaccination_card": [],
                                 "birth_registration": ["birth_certificate"],
                                 "medical_insurance": ["birth_registration"],
                                 "social_security_card": ["birth_registration"]}
    if name == "company_startup":
        assert {k for k, v in package.needs.items() if v == ["establishment"]} == {
            "seal", "tax", "employee_insurance", "housing_fund", "bank_account"}


def test_every_problem_is_named_with_its_place():
    raw = shipped("retirement")
    raw["matters"][1]["after"] = ["no_such_matter"]
    assert any("no_such_matter" in p for p in problems(raw))
    raw = shipped("retirement")
    raw["matters"][0]["department"] = "公安局"
    raw["evidence"][0]["key"] = "Bad-Key"
    found = problems(raw)
    assert any(p.startswith("matters.0.department") for p in found) and any(p.startswith("evidence.0.key")
                                                                           for p in found)
    raw = shipped("retirement")
    raw["eligibility"][0]["when"] = "__import__('os').system('id')"
    assert any("不支持的函数调用" in p for p in problems(raw))
    raw["eligibility"][0]["when"] = "salary > 3000"
    assert any("未知的名称 salary" in p for p in problems(raw))
    raw["eligibility"][0]["when"] = "age(applicant.id_number) >="
    assert any("语法错误" in p for p in problems(raw))
    raw = shipped("retirement")
    raw["evidence"][0]["query"] = {"id_number": "evidence.card.card_no"}  # card is declared later
    assert any("之前声明" in p for p in problems(raw))
    assert problems("key: [unclosed")[0].startswith("while parsing")
    assert problems("- a\n- list") == ["top level is not a mapping"]


def test_a_cycle_of_matters_is_refused():
    raw = shipped("retirement")
    raw["matters"][0]["after"] = ["housing_fund_withdrawal"]
    assert any("流程" in p or "BPMN" in p for p in problems(raw))


def test_a_bpmn_flow_must_match_the_matters():
    raw = yaml.safe_load((SHIPPED / "newborn.yaml").read_text(encoding="utf-8"))
    bpmn = (SHIPPED / "newborn.bpmn").read_text(encoding="utf-8")
    found = problems(raw, bpmn.replace('id="vaccination_card"', 'id="vaccination"').replace(
        'targetRef="vaccination_card"', 'targetRef="vaccination"').replace(
        'sourceRef="vaccination_card"', 'sourceRef="vaccination"'))
    assert "缺少 ['vaccination_card']" in found[0] and "多出 ['vaccination']" in found[0]
    assert "无法解析 BPMN" in problems(raw, "<not-bpmn")[0]
    assert problems(raw, None) == ["flow: 找不到 BPMN 文件 newborn.bpmn"]


def test_the_catalog_check_names_missing_resources_and_items(db, world):
    raw = shipped("retirement")
    raw["evidence"][0]["resource"]["name"] = "不存在的资源"
    raw["evidence"][1]["show"] = ["insurance_type", "salary"]
    package = pkg.parse(yaml.safe_dump(raw, allow_unicode=True))
    found = packages.catalog_problems(db, package)
    assert any("不存在的资源" in p for p in found) and any("salary" in p for p in found)


def test_a_new_life_event_runs_from_a_file_alone_and_versions_are_kept(client, db, world, citizen_token, tmp_path):
    # The bureau writes 提前退休一件事 (a new key) as a file, checks it with the CLI, loads it through the API.
    raw = shipped("retirement")
    raw.update(key="retirement_early", name="特殊工种提前退休一件事")
    raw["eligibility"] = raw["eligibility"][1:]  # no age rule of its own in this test variant
    path = tmp_path / "retirement_early.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = run("onething", "validate", str(path))
    assert "retirement_early 特殊工种提前退休一件事:4 个事项,4 项证明" in out.stdout
    admin = headers_for(client, "admin")
    content = path.read_text(encoding="utf-8")
    r = client.put("/api/v1/onething/packages/retirement_early", headers=admin, json={"content": content})
    assert r.status_code == 200 and r.json() == {"key": "retirement_early", "version": 1, "created": True}
    again = client.put("/api/v1/onething/packages/retirement_early", headers=admin, json={"content": content})
    assert again.json()["created"] is False
    staff = client.put("/api/v1/onething/packages/retirement_early", headers=headers_for(client, "sp_staff"),
                       json={"content": content})
    assert staff.status_code == 403

    sampled = families.samples(db, "retirement_early", 20)  # the file's own `samples`: no finder is written for it
    assert RETIREE["id_number"] in {p["id_number"] for p in sampled}
    out = run("demo", "applicants", "no_such_package", check=False)
    assert out.returncode == 2 and "package_not_found" in out.stderr

    me = citizen_token(RETIREE)
    case = start(client, me, "retirement_early", RETIREE, phone="13907720001")
    client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=me)
    case = client.post(f"/api/v1/onething/cases/{case['id']}/submit", headers=me, json={}).json()
    assert case["status"] == "in_progress" and case["package_version"] == 1

    # A second version drops a matter; the running case keeps the version it started with.
    raw["matters"] = [m for m in raw["matters"] if m["key"] != "housing_fund_withdrawal"]
    r = client.put("/api/v1/onething/packages/retirement_early", headers=admin,
                   json={"content": yaml.safe_dump(raw, allow_unicode=True)})
    assert r.json()["version"] == 2
    approval = task_of(client, "rs_staff", case["id"], "retirement_approval")
    assert approval["form"]["paid_months"]["value"] == 300
    accept(client, "rs_staff", approval["id"])
    accept(client, "rs_staff", task_of(client, "rs_staff", case["id"], "pension_calculation")["id"],
           monthly_amount="3650.5")
    accept(client, "yb_staff", task_of(client, "yb_staff", case["id"], "medical_change")["id"])
    case = client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()
    assert [m["status"] for m in case["matters"]].count("open") == 1  # 公积金提取 still in version 1's flow
    accept(client, "gjj_staff", task_of(client, "gjj_staff", case["id"], "housing_fund_withdrawal")["id"])
    assert client.get(f"/api/v1/onething/cases/{case['id']}", headers=me).json()["status"] == "completed"


def test_validate_cli_lists_the_problems_and_fails(tmp_path, db):
    shutil.copy(SHIPPED / "newborn.yaml", tmp_path / "newborn.yaml")  # without its BPMN file beside it
    out = run("onething", "validate", str(tmp_path / "newborn.yaml"), "--no-catalog", check=False)
    assert out.returncode == 2 and "flow: 找不到 BPMN 文件 newborn.bpmn" in out.stdout
    (tmp_path / "bad.yaml").write_bytes("key: 坏\n".encode("gbk"))
    out = run("onething", "validate", str(tmp_path / "bad.yaml"), "--no-catalog", check=False)
    assert out.returncode == 2 and "UTF-8" in out.stdout + out.stderr


def test_load_shipped_twice_adds_no_version(db, world):
    before = {row.key: row.version for row, _ in packages.list_current(db)}
    from govdata.principal import CLI

    assert [created for _, created in packages.load_shipped(db, CLI)] == [False] * 4
    assert {row.key: row.version for row, _ in packages.list_current(db)} == before
    assert Path(SHIPPED / "newborn.bpmn").exists()
