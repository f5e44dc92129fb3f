from __future__ import annotations

import frictionless
import pytest

from govdata.standards import service
from govdata.standards.table_schema import table_schema

BIRTHS = {
    "code": "450200-WJ-0001", "name": "出生医学证明信息",
    "items": [
        {"key": "certificate_no", "name": "证明编号", "data_type": "C", "length": 20, "required": True,
         "primary_key": True, "data_element": "DE0019"},
        {"key": "baby_name", "name": "新生儿姓名", "data_type": "C", "length": 50, "required": True,
         "data_element": "DE0001", "sensitivity": "L4"},
        {"key": "sex", "name": "性别", "data_type": "C", "length": 1, "data_element": "DE0003"},
        {"key": "mother_id_number", "name": "母亲身份证号", "data_type": "C", "length": 18,
         "data_element": "DE0002"},
        {"key": "birth_date", "name": "出生日期", "data_type": "D", "data_element": "DE0004"},
        {"key": "region", "name": "出生地", "data_type": "C", "length": 6, "data_element": "DE0005"},
        {"key": "weight", "name": "体重(克)", "data_type": "I"},
        {"key": "registered", "name": "已登记户口", "data_type": "L"},
    ],
}
HEADER = "certificate_no,baby_name,sex,mother_id_number,birth_date,region,weight,registered\n"
GOOD = "Q450200001,张小明,1,11010519491231002X,2024-03-01,450202,3200,true\n"


@pytest.fixture
def schema(db) -> dict:
    service.load_shipped(db)
    return service.resource_table_schema(db, BIRTHS)


def fields(schema: dict) -> dict[str, dict]:
    return {f["name"]: f for f in schema["fields"]}


def test_schema_carries_the_standards(schema):
    f = fields(schema)
    assert schema["primaryKey"] == ["certificate_no"]
    assert {name: field["type"] for name, field in f.items()} == {
        "certificate_no": "string", "baby_name": "string", "sex": "string", "mother_id_number": "string",
        "birth_date": "date", "region": "string", "weight": "integer", "registered": "boolean"}
    assert f["baby_name"]["title"] == "新生儿姓名" and f["baby_name"]["constraints"] == {"required": True,
                                                                                       "maxLength": 50}
    assert f["sex"]["constraints"]["enum"] == ["0", "1", "2", "9"]
    assert f["region"]["constraints"]["pattern"] == "[0-9]{6}" and "enum" not in f["region"]["constraints"]
    assert f["mother_id_number"]["constraints"]["pattern"] == "[0-9]{17}[0-9X]"
    assert f["baby_name"]["govdata:dataElement"] == "DE0001" and f["baby_name"]["govdata:sensitivity"] == "L4"
    assert f["mother_id_number"]["govdata:sensitivity"] == "L3" and f["mother_id_number"]["govdata:rule"] == "id_number"
    assert "govdata:dataElement" not in f["weight"]


def test_countries_and_credit_codes_use_patterns_not_long_lists():
    resource = {"code": "R", "name": "企业", "items": [
        {"key": "uscc", "name": "统一社会信用代码", "data_type": "C", "data_element": "DE0006"},
        {"key": "nationality", "name": "国籍", "data_type": "C", "data_element": "DE0010"}]}
    elements = {"DE0006": {"code": "DE0006", "rule": "credit_code"},
                "DE0010": {"code": "DE0010", "codeset": "gb2659_country"}}
    f = fields(table_schema(resource, elements))
    assert f["nationality"]["constraints"] == {"pattern": "[A-Z]{3}"}
    assert f["uscc"]["constraints"]["pattern"].startswith("[0-9A-HJ-NPQRTUWXY]{2}")


def _report(schema: dict, tmp_path, rows: str):
    (tmp_path / "births.csv").write_text(HEADER + rows, encoding="utf-8")
    resource = frictionless.Resource(path="births.csv", basepath=str(tmp_path),
                                     schema=frictionless.Schema.from_descriptor(schema))
    return resource.validate()


def test_frictionless_accepts_a_good_row(schema, tmp_path):
    report = _report(schema, tmp_path, GOOD)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "note"])


@pytest.mark.parametrize(("row", "field", "constraint"), [
    ("Q450200002," + "张" * 51 + ",1,11010519491231002X,2024-03-01,450202,3200,true\n", "baby_name", "maxLength"),
    ("Q450200003,张小红,3,11010519491231002X,2024-03-01,450202,3200,true\n", "sex", "enum"),
    ("Q450200004,,2,11010519491231002X,2024-03-01,450202,3200,true\n", "baby_name", "required"),
    ("Q450200005,张小红,2,1101051949123100,2024-03-01,450202,3200,true\n", "mother_id_number", "pattern"),
    ("Q450200006,张小红,2,11010519491231002X,2024-03-01,45020,3200,true\n", "region", "pattern"),
])
def test_frictionless_rejects_rows_that_break_the_standard(schema, tmp_path, row, field, constraint):
    report = _report(schema, tmp_path, GOOD + row)
    errors = report.flatten(["rowNumber", "fieldName", "note"])
    assert errors == [[3, field, f'constraint "{constraint}" is "{_constraint(schema, field, constraint)}"']]


def _constraint(schema: dict, field: str, name: str) -> object:
    return fields(schema)[field]["constraints"][name]


def test_frictionless_rejects_an_impossible_date(schema, tmp_path):
    report = _report(schema, tmp_path, GOOD.replace("2024-03-01", "2023-02-29"))
    assert report.flatten(["fieldName", "type"]) == [["birth_date", "type-error"]]
