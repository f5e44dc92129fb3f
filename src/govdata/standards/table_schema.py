"""A catalog resource's items as a Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/),
so that other tools (frictionless, csvkit-style validators, pandas readers) can check the data the same way.

Patterns follow the spec's XML Schema style: implicitly anchored, no ``^``/``$``. Properties the spec lacks
(data element, sensitivity, rule) are carried as custom ``govdata:*`` properties, which readers ignore.
"""

from __future__ import annotations

from typing import Any

from govdata.standards import validators

FIELD_TYPES = {"C": "string", "M": "string", "G": "string", "N": "number", "B": "number", "F": "number",
               "Y": "number", "I": "integer", "D": "date", "T": "datetime", "L": "boolean"}
# Code sets too large for an enum constraint: a pattern says what a value looks like instead.
LARGE_CODESETS = {"gb2260_region": validators.REGION_PATTERN, "gb2659_country": r"[A-Z]{3}"}
# Element formats as Table Schema formats ("default" is ISO 8601, i.e. YYYY-MM-DD for dates).
FORMATS = {"YYYY-MM-DD": "default", "YYYYMMDD": "%Y%m%d", "YYYY-MM-DD hh:mm:ss": "%Y-%m-%d %H:%M:%S",
           "YYYY-MM-DDThh:mm:ss": "default"}


def table_schema(resource: dict[str, Any], elements: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``elements`` maps a data element code to its API dict, with ``values`` (the code set's codes) when
    the element has a code set small enough to list."""
    items = resource.get("items") or []
    schema: dict[str, Any] = {
        "fields": [_field(item, elements.get(item.get("data_element") or "")) for item in items],
        "missingValues": [""],
        "govdata:resource": resource.get("code"),
        "govdata:title": resource.get("name"),
    }
    keys = [item["key"] for item in items if item.get("primary_key")]
    if keys:
        schema["primaryKey"] = keys
    return schema


def _field(item: dict[str, Any], element: dict[str, Any] | None) -> dict[str, Any]:
    element = element or {}
    data_type = item.get("data_type") or element.get("data_type") or "C"
    field: dict[str, Any] = {"name": item["key"], "title": item.get("name") or element.get("name"),
                             "type": FIELD_TYPES.get(data_type, "string")}
    if element.get("definition"):
        field["description"] = element["definition"]
    field_format = FORMATS.get(element.get("format") or "")
    if field_format and field["type"] in ("date", "datetime"):
        field["format"] = field_format
    if element.get("rule") == "email" and field["type"] == "string":
        field["format"] = "email"
    constraints = _constraints(item, element, field["type"])
    if constraints:
        field["constraints"] = constraints
    field.update(_custom(item, element))
    return field


def _constraints(item: dict[str, Any], element: dict[str, Any], field_type: str) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    if item.get("required") or item.get("primary_key"):
        constraints["required"] = True
    if field_type != "string":
        return constraints
    length = item.get("length") or element.get("length")
    if length:
        constraints["maxLength"] = int(length)
    codeset = element.get("codeset")
    if codeset in LARGE_CODESETS:
        constraints["pattern"] = LARGE_CODESETS[codeset]
    elif codeset and element.get("values"):
        constraints["enum"] = list(element["values"])
    pattern = _rule_pattern(element.get("rule"))
    if pattern and "enum" not in constraints:
        constraints["pattern"] = pattern
    return constraints


def _rule_pattern(rule: str | None) -> str | None:
    if not rule:
        return None
    if rule.startswith(validators.REGEX_PREFIX):
        pattern = rule[len(validators.REGEX_PREFIX):]
        pattern = pattern[1:] if pattern.startswith("^") else pattern
        return pattern[:-1] if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    return validators.PATTERNS.get(rule)


def _custom(item: dict[str, Any], element: dict[str, Any]) -> dict[str, Any]:
    custom = {"govdata:dataElement": element.get("code") or item.get("data_element"),
              "govdata:sensitivity": item.get("sensitivity") or element.get("default_sensitivity"),
              "govdata:rule": element.get("rule"), "govdata:codeset": element.get("codeset")}
    return {k: v for k, v in custom.items() if v}
