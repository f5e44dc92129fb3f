"""Vectorised row validation (数据校验) of an uploaded dataset version against its resource's items (信息项).

``compile_checks`` turns the items, the data elements (数据元) they are bound to, the code sets (代码集) and the
declared cross-field rules into ``Check``s: polars boolean expressions over a frame whose columns are the item
keys, all ``pl.String``, already stripped with empty strings turned into null. ``failures`` evaluates them in one
pass and returns the failing cells.

Every per-value rule agrees with its reference in ``govdata.standards.validators``. ASCII values are judged by
polars expressions; the rare non-ASCII value of a fixed-format rule (full-width digits…) and checks that are
costly to vectorise (an ID number's birthplace for its birth year, regexes that Rust's engine would read
differently) are judged once per distinct value by the Python reference, inside the expression.

Type (数据项类型) semantics, ASCII only: N 数值型 ``[+-]digits[.digits]``; Y 货币型 the same with at most 4
decimals (the FoxPro/GB/T 21063 currency type keeps 4; a 万元 amount needs more than 2); B 双精度型 and F 浮点型
may add an exponent (``1.5E-3``); I 整型 ``[+-]digits``; D ``YYYY-MM-DD`` that exists; T ``YYYY-MM-DD hh:mm:ss``
(or with ``T``) that exists; L one of true/false/1/0/是/否/Y/N in any case; C/M/G anything.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import product

import polars as pl

from govdata.standards import crossfield, regions, validators

RULE_NAMES = ("required", "type", "length", "codeset", "id_number", "credit_code", "region_code", "date",
              "format", "unique", "cross_field", "structure")  # "format": phone/email/postcode/regex rules
DIMENSION = {"required": "completeness", "type": "validity", "length": "validity", "codeset": "validity",
             "id_number": "validity", "credit_code": "validity", "region_code": "validity", "date": "validity",
             "format": "validity", "unique": "uniqueness", "cross_field": "consistency", "structure": "validity"}

ID_NUMBER_ELEMENT, SEX_ELEMENT, BIRTH_DATE_ELEMENT = "DE0002", "DE0003", "DE0004"
NUMERIC_TYPES = frozenset("NYBFI")
REQUIRED_REASON = "必填项为空"

# The characters a fixed-format rule's valid values always have: a longer declared item length adds nothing.
_FIXED_LENGTH = {"id_number": 18, "credit_code": 18, "region_code": 6, "postcode": 6, "date": 10}
_FORMAT_PATTERNS = {"phone": validators.PHONE_PATTERN, "email": validators.EMAIL_PATTERN,
                    "postcode": validators.POSTCODE_PATTERN}


@dataclass(frozen=True)
class Check:
    rule: str            # one of RULE_NAMES
    column: str | None   # the item key the failure is reported on
    bad: pl.Expr         # boolean; True where the row fails, never null
    reason: str          # Chinese reason shown to users


Classifier = Callable[[str], str | None]  # value → the failing step's key, None when valid


def compile_checks(items: list[dict], elements: Mapping[str, dict], codes: Mapping[str, frozenset[str]],
                   cross_rules: list[dict], *, today: date | None = None) -> list[Check]:
    """Every check of a resource's rows, in item order, then the cross-field checks.

    items: dicts with key, name, data_type, length, required, primary_key, data_element (code or None); an
    unknown element code counts as unbound. elements: data element code → dict (data_type, length, codeset,
    rule, name). codes: code-set name → valid codes (region codes come from standards.regions instead).
    cross_rules: the resource's declared rules (standards.crossfield); invalid ones raise ValidationFailed."""
    rules = crossfield.check_rules(cross_rules, {item["key"] for item in items})
    today = today or date.today()
    checks: list[Check] = []
    failing: dict[str, list[pl.Expr]] = {}  # item key → "fails its <rule>" per value rule, for cross-field
    bound = [(item, elements.get(item.get("data_element") or "") or {}) for item in items]
    resolved = [{**item, "data_type": item.get("data_type") or element.get("data_type") or "C",
                 "length": item.get("length") or element.get("length")} for item, element in bound]
    for item, (_, element) in zip(resolved, bound, strict=True):
        if item.get("required") or item.get("primary_key"):
            checks.append(Check("required", item["key"], pl.col(item["key"]).is_null(), REQUIRED_REASON))
        groups = _value_groups(item, element, codes, today)
        failing[item["key"]] = [group.failing for group in groups]
        checks += [check for group in groups for check in group.checks]
    return checks + _cross_checks(resolved, rules, failing)


@dataclass(frozen=True)
class _Group:
    """The checks of one rule on one column, and the expression "fails any of them" that cross-field checks
    reuse verbatim (polars shares identical subexpressions, one level deep)."""
    checks: list[Check]
    failing: pl.Expr


def _single(rule: str, key: str, bad: pl.Expr, reason: str) -> _Group:
    bad = bad.fill_null(False)
    return _Group([Check(rule, key, bad, reason)], bad)


def _value_groups(item: dict, element: dict, codes: Mapping[str, frozenset[str]], today: date) -> list[_Group]:
    """type, length, codeset and the element's rule; ``item`` has its data type and length resolved."""
    key, rule, data_type, length = item["key"], element.get("rule"), item["data_type"], item["length"]
    if rule:
        validators.check_rule(rule)
    groups = [] if data_type == "D" and rule == "date" else _type_groups(key, data_type)
    if data_type == "C" and length and not (rule in _FIXED_LENGTH and length >= _FIXED_LENGTH[rule]):
        groups.append(_single("length", key, pl.col(key).str.len_chars() > length, f"长度超过 {length} 个字符"))
    codeset = element.get("codeset")
    if codeset and codeset in codes and rule != "region_code":
        groups.append(_single("codeset", key, ~_among(pl.col(key), sorted(codes[codeset])),
                              f"不在代码集 {codeset} 中"))
    if rule:
        groups.append(_rule_group(key, rule, birth=item.get("data_element") == BIRTH_DATE_ELEMENT, today=today))
    return groups


# ---------------------------------------------------------------------------------------------------- staging

def _among(value: pl.Expr | pl.Series, values: Sequence[str] | pl.Series) -> pl.Expr:
    return value.is_in(pl.Series(values, dtype=pl.String).implode())


def _by_reference(value: pl.Expr, classify: Classifier, keys: Sequence[str], *, foreign_only: bool) -> pl.Expr:
    """Int8: 1 + the index in ``keys`` of ``classify``'s verdict (0: valid) for each non-ASCII value (each value
    unless ``foreign_only``), null for the others. ``classify`` runs in Python once per distinct value."""
    code = {key: number for number, key in enumerate(keys, 1)}

    def run(batch: pl.Series) -> pl.Series:
        chosen = batch.filter(batch.str.len_bytes() != batch.str.len_chars()) if foreign_only else batch
        distinct = chosen.drop_nulls().unique()
        if distinct.is_empty():
            return pl.repeat(None, batch.len(), dtype=pl.Int8, eager=True)
        verdicts = {text: code.get(classify(text) or "", 0) for text in distinct}
        return batch.replace_strict(verdicts, default=None, return_dtype=pl.Int8)

    return value.map_batches(run, return_dtype=pl.Int8, is_elementwise=True)


def _staged(rule: str, column: str, steps: Sequence[tuple[str, str, pl.Expr]],
            classify: Classifier | None = None, *, everything: bool = False) -> _Group:
    """One Check per step (key, reason, failing): a value fails only at its first failing step, so one bad
    cell gets one reason. A step need only be right for non-null ASCII values that passed the steps before it. With
    ``classify``, non-ASCII values (all values if ``everything``) are judged by it instead.

    Every step expression appears once in the shared status, so each expensive operation runs once."""
    value = pl.col(column)
    keys = [key for key, _, _ in steps]
    if classify is not None and everything:
        status = _by_reference(value, classify, keys, foreign_only=False)
    else:
        status = pl.min_horizontal([pl.when(failing).then(pl.lit(number, dtype=pl.Int8))
                                    for number, (_, _, failing) in enumerate(steps, 1)])
        if classify is not None:
            status = pl.coalesce(_by_reference(value, classify, keys, foreign_only=True), status)
    status = pl.when(value.is_null()).then(pl.lit(0, dtype=pl.Int8)).otherwise(status.fill_null(0))
    return _Group([Check(rule, column, status == number, reason) for number, (_, reason, _) in enumerate(steps, 1)],
                  status != 0)


# ---------------------------------------------------------------------------------------------------- types

_DECIMAL = r"[+-]?[0-9]+(\.[0-9]+)?"
_TYPE_PATTERNS = {
    "N": (rf"^{_DECIMAL}$", "应为数值(如 -12.5)"),
    "Y": (r"^[+-]?[0-9]+(\.[0-9]{1,4})?$", "应为金额(数值,最多 4 位小数)"),
    "B": (rf"^{_DECIMAL}([eE][+-]?[0-9]+)?$", "应为数值(可用科学计数法,如 1.5E-3)"),
    "F": (rf"^{_DECIMAL}([eE][+-]?[0-9]+)?$", "应为数值(可用科学计数法,如 1.5E-3)"),
    "I": (r"^[+-]?[0-9]+$", "应为整数"),
}
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
_LOGICAL = sorted({"".join(chars) for word in ("true", "false", "y", "n")
                   for chars in product(*({c, c.upper()} for c in word))} | {"1", "0", "是", "否"})


def _no_such_day(text: pl.Expr, fmt: str = "%Y-%m-%d") -> pl.Expr:
    """Whether a date string of the right shape names no real day; chrono accepts year 0, Python does not."""
    return text.str.to_date(fmt, strict=False).dt.year().fill_null(0) < 1


def _type_groups(key: str, data_type: str) -> list[_Group]:
    value = pl.col(key)
    if data_type in _TYPE_PATTERNS:
        pattern, reason = _TYPE_PATTERNS[data_type]
        return [_single("type", key, ~value.str.contains(pattern), reason)]
    if data_type == "D":
        return [_staged("type", key, [("format", "日期格式应为 YYYY-MM-DD", ~value.str.contains(_DATE)),
                                      ("exists", "日期不存在", _no_such_day(value))])]
    if data_type == "T":
        return [_staged("type", key, [
            ("format", "日期时间格式应为 YYYY-MM-DD hh:mm:ss", ~value.str.contains(_DATETIME)),
            ("exists", "日期时间中的日期不存在", _no_such_day(value.str.slice(0, 10)))])]
    if data_type == "L":
        return [_single("type", key, ~_among(value, _LOGICAL), "应为逻辑值(true/false、1/0、是/否 或 Y/N)")]
    return []


# ---------------------------------------------------------------------------------------------------- rules

def _rule_group(key: str, rule: str, *, birth: bool, today: date) -> _Group:
    if rule == "id_number":
        return _id_number(key)
    if rule == "credit_code":
        return _credit_code(key)
    if rule == "region_code":
        return _region(key)
    if rule == "date":
        return _date(key, today if birth else None)
    return _format(key, rule)


ID_REASONS = {
    "format": "公民身份号码应为 17 位数字加 1 位校验码(0-9 或大写 X)",
    "checksum": "公民身份号码校验位错误",
    "birth_date": "公民身份号码中的出生日期不存在",
    "birthplace": "公民身份号码中的地址码不存在或在出生前已撤销",
}


def classify_id_number(value: str) -> str | None:
    """The key in ID_REASONS of validators.check_id_number's verdict (None: valid)."""
    reason = validators.check_id_number(value)
    if reason is None:
        return None
    return next((key for key, text in ID_REASONS.items() if text == reason), "format")


@lru_cache(maxsize=100_000)
def _birthplace_valid(region_and_year: str) -> bool:
    """validators.birthplace_valid on an ID number's first 10 characters (address code and birth year);
    True for text that is no such prefix: earlier steps judge it."""
    if not (len(region_and_year) == 10 and region_and_year.isascii() and region_and_year.isdigit()):
        return True
    return validators.birthplace_valid(region_and_year[:6], int(region_and_year[6:10]))


def _bad_birthplace(region_and_year: pl.Expr) -> pl.Expr:
    def run(batch: pl.Series) -> pl.Series:
        return _among(batch, [key for key in batch.drop_nulls().unique() if not _birthplace_valid(key)])

    return region_and_year.map_batches(run, return_dtype=pl.Boolean, is_elementwise=True)


_ID_CHECK_VALUES = pl.Series(["0123456789X".find(chr(byte)) for byte in range(256)])  # byte → value, -1: none


def _id_number(key: str) -> _Group:
    value = pl.col(key)
    expected = (23 - 2 * (value.str.slice(0, 17).str.to_integer(base=13, strict=False) % 11)) % 11  # stdnum's
    actual = pl.lit(_ID_CHECK_VALUES).gather(value.cast(pl.Binary).bin.get(17, null_on_oob=True))
    steps = [("format", ~value.str.contains(r"^[0-9]{17}[0-9X]$")), ("checksum", actual != expected),
             ("birth_date", _no_such_day(value.str.slice(6, 8), "%Y%m%d")),
             ("birthplace", _bad_birthplace(value.str.slice(0, 10)))]
    return _staged("id_number", key, [(k, ID_REASONS[k], failing) for k, failing in steps], classify_id_number)


CREDIT_CODE_REASONS = {
    "format": "统一社会信用代码应为 18 位数字或大写字母(不含 I、O、Z、S、V)",
    "digits": "统一社会信用代码的前 8 位(登记管理部门、机构类别和登记管理机关行政区划码)应为数字",
    "checksum": "统一社会信用代码校验位错误",
}


def classify_credit_code(value: str) -> str | None:
    """The key in CREDIT_CODE_REASONS of validators.check_credit_code's verdict (None: valid)."""
    reason = validators.check_credit_code(value)
    if reason is None:
        return None
    if reason.endswith("校验位错误"):
        return "checksum"
    return "digits" if reason.endswith("格式错误") else "format"


_USCC_INDEX = [max("0123456789ABCDEFGHJKLMNPQRTUWXY".find(chr(byte)), 0) for byte in range(256)]
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**i % 31, as stdnum


def _uscc_checksum_ok(value: pl.Expr) -> pl.Expr:
    """GB 32100's mod-31 check: the weighted sum of all 18 characters' alphabet positions is 0 mod 31."""
    raw = value.cast(pl.Binary)
    index = pl.lit(pl.Series(_USCC_INDEX, dtype=pl.Int32))
    total = index.gather(raw.bin.get(17, null_on_oob=True))
    for position, weight in enumerate(_USCC_WEIGHTS):
        total = total + index.gather(raw.bin.get(position, null_on_oob=True)) * weight
    return total % 31 == 0


def _credit_code(key: str) -> _Group:
    value = pl.col(key)
    steps = [
        ("format", ~value.str.contains(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")),
        ("digits", ~value.str.contains(r"^[0-9]{2}")),
        ("checksum", ~_uscc_checksum_ok(value)),
    ]
    return _staged("credit_code", key, [(k, CREDIT_CODE_REASONS[k], failing) for k, failing in steps],
                   classify_credit_code)


REGION_REASONS = {"format": "行政区划代码应为 6 位数字", "missing": "行政区划代码不存在",
                  "revoked": "行政区划代码已撤销"}


def classify_region_code(value: str) -> str | None:
    """The key in REGION_REASONS of validators.check_region_code's verdict (None: valid)."""
    reason = validators.check_region_code(value)
    if reason is None:
        return None
    return "format" if "6 位数字" in reason else "missing" if reason.endswith("不存在") else "revoked"


@lru_cache(maxsize=1)
def _region_tables() -> tuple[pl.Series, pl.Series]:
    table = regions.divisions()
    return (pl.Series(sorted(table), dtype=pl.String),
            pl.Series(sorted(code for code, division in table.items() if not division.current), dtype=pl.String))


def _region(key: str) -> _Group:
    value = pl.col(key)
    known, revoked = _region_tables()
    steps = [("format", ~value.str.contains(r"^[0-9]{6}$")), ("missing", ~_among(value, known)),
             ("revoked", _among(value, revoked))]
    return _staged("region_code", key, [(k, REGION_REASONS[k], failing) for k, failing in steps],
                   classify_region_code)


DATE_REASONS = {"format": "日期格式应为 YYYY-MM-DD", "exists": "日期不存在",
                "range": "日期应在 1900-01-01 至 2100-12-31 之间", "future": "出生日期晚于当前日期"}


def date_classifier(today: date | None = None) -> Classifier:
    """The key in DATE_REASONS of validators.check_date's verdict; with ``today``, a birth date after it fails."""
    def classify(value: str) -> str | None:
        reason = validators.check_date(value)
        if reason is None:
            return "future" if today and value > today.isoformat() else None
        return "format" if "格式" in reason else "exists" if reason.endswith("不存在") else "range"
    return classify


def _date(key: str, today: date | None) -> _Group:
    value = pl.col(key)
    steps = [("format", ~value.str.contains(_DATE)), ("exists", _no_such_day(value)),
             ("range", (value < validators.EARLIEST.isoformat()) | (value > validators.LATEST.isoformat()))]
    if today:
        steps.append(("future", value > today.isoformat()))
    return _staged("date", key, [(k, DATE_REASONS[k], failing) for k, failing in steps], date_classifier(today))


def format_classifier(rule: str) -> Classifier:
    return lambda value: None if validators.validate_value(rule, value) is None else "format"


def _format(key: str, rule: str) -> _Group:
    """phone/email/postcode/regex:<p> — Python ``re.fullmatch`` semantics, through Rust's regex where they agree."""
    if rule in _FORMAT_PATTERNS:
        pattern, reason = _FORMAT_PATTERNS[rule], validators.RULES[rule]("")  # "" never passes: the rule's message
    else:
        pattern = rule.removeprefix(validators.REGEX_PREFIX)
        reason = f"不符合格式要求 {pattern}"
    classify = format_classifier(rule)
    translated = rust_pattern(pattern)
    if translated is None:
        return _staged("format", key, [("format", reason, pl.lit(False))], classify, everything=True)
    rust, unicode_neutral = translated
    value = pl.col(key)
    failing = ~value.str.contains(rust)
    if rule == "email":
        failing = failing | (value.str.len_chars() > 254)
    return _staged("format", key, [("format", reason, failing)], None if unicode_neutral else classify)


_INLINE_FLAGS = re.compile(r"\(\?[a-zA-Z-]+[:)]")
_VERBOSE = re.compile(r"\(\?[a-zA-Z-]*x")  # verbose mode treats whitespace in classes differently
_SHORTHANDS = set("dDwWsSbB")
_PY_REPEAT = re.compile(r"\{[0-9]*(,[0-9]*)?\}")  # what Python reads as {m,n}; any other "{" is a literal
_SPACE = r"\s\x1c-\x1f"  # Python's \s also matches \x1c-\x1f


def rust_pattern(pattern: str) -> tuple[str, bool] | None:
    """``pattern`` for polars' Rust regex with Python ``re.fullmatch`` semantics on ASCII text, and whether it
    also agrees on non-ASCII text (no Unicode-table-dependent class, no case folding); None where the engines
    could disagree or Rust cannot compile it. Conservative: a refusal only costs speed."""
    pieces = None if _VERBOSE.search(pattern) else _translate(pattern)
    if pieces is None:
        return None
    rust = "^(?:" + "".join(pieces) + ")$"
    neutral = not _INLINE_FLAGS.search(pattern) and not any(
        piece[:1] == "\\" and piece[1:] in _SHORTHANDS for piece in _tokens(pattern))
    return (rust, neutral) if _compiles(rust) else None


def _tokens(pattern: str) -> list[str]:
    return re.findall(r"\\.|.", pattern, re.DOTALL)


def _translate(pattern: str) -> list[str] | None:
    out: list[str] = []
    position, in_class, class_start, after_quantifier = 0, False, 0, False
    while position < len(pattern):
        char, piece, quantifier = pattern[position], pattern[position], False
        if char == "\\":
            piece = _escape(pattern[position:position + 2], in_class)
            position += 2
        elif in_class:
            if char == "[" or pattern.startswith(("&&", "--", "~~"), position):  # Rust: nested sets
                return None
            in_class = not (char == "]" and position != class_start)
            position += 1
        elif char == "[":
            in_class = True
            class_start = position + 1 + pattern.startswith("^", position + 1)  # where "]" is still literal
            piece, position = pattern[position:class_start], class_start
        elif char == "{" and (repeat := _PY_REPEAT.match(pattern, position)) and repeat.group() != "{}":
            piece, quantifier, position = repeat.group().replace("{,", "{0,"), True, repeat.end()
        elif char in "{}":
            piece, position = "\\" + char, position + 1
        elif (char == "$" and position != len(pattern) - 1) or (char == "+" and after_quantifier):
            return None  # Python's $ also matches before a final newline; "*+" is possessive in Python only
        else:
            quantifier, position = char in "*+?", position + 1
        if piece is None:
            return None
        out.append(piece)
        after_quantifier = quantifier
    return out


def _escape(escape: str, in_class: bool) -> str | None:
    if escape in ("\\<", "\\>") or (in_class and escape in ("\\b", "\\S")):  # Rust: word boundaries
        return None
    if escape == "\\s":
        return _SPACE if in_class else f"[{_SPACE}]"
    return f"[^{_SPACE}]" if escape == "\\S" else escape


@lru_cache(maxsize=256)
def _compiles(pattern: str) -> bool:
    try:
        pl.select(pl.lit("", dtype=pl.String).str.contains(pattern))
    except pl.exceptions.PolarsError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------- cross-field

def _derived_rules(items: list[dict], declared: list[dict]) -> list[dict]:
    """id_birth_date / id_sex between the ID-number, birth-date and sex elements, when each is bound once and the
    ID number is the primary key: then the row describes that person. (A resource with a mother's ID number and
    a baby's birth date must not compare them; such resources declare their rules explicitly.)"""
    by_element: dict[str, list[str]] = {}
    for item in items:
        by_element.setdefault(item.get("data_element") or "", []).append(item["key"])

    def single(code: str) -> str | None:
        keys = by_element.get(code, [])
        return keys[0] if len(keys) == 1 else None

    id_key, derived = single(ID_NUMBER_ELEMENT), []
    if id_key and not any(item["key"] == id_key and item.get("primary_key") for item in items):
        id_key = None
    for kind, field, code in (("id_birth_date", "date", BIRTH_DATE_ELEMENT), ("id_sex", "sex", SEX_ELEMENT)):
        other = single(code)
        if id_key and other and not any(r["kind"] == kind and (r["id"], r[field]) == (id_key, other)
                                         for r in declared):
            derived.append({"kind": kind, "id": id_key, field: other})
    return derived


def _cross_checks(items: list[dict], rules: list[dict], failing: dict[str, list[pl.Expr]]) -> list[Check]:
    """Only rows where the compared values are present and pass all their own checks are judged (required_if
    judges presence only)."""
    by_key = {item["key"]: item for item in items}
    names = {key: item.get("name") or key for key, item in by_key.items()}

    def valid(key: str) -> pl.Expr:
        present = pl.col(key).is_not_null()
        return present & ~pl.any_horizontal(failing[key]) if failing.get(key) else present

    checks = []
    for rule in rules + _derived_rules(items, rules):
        reason = rule.get("message") or crossfield.default_message(rule, names)
        column, bad = _cross_failing(rule, by_key, valid)
        checks.append(Check("cross_field", column, bad.fill_null(False), reason))
    return checks


_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
            "!=": operator.ne}


def _comparable(item: dict, numeric_as: pl.DataType | None) -> pl.Expr:
    value = pl.col(item["key"])
    if numeric_as is not None:
        return value.cast(numeric_as, strict=False)
    return value.str.replace("T", " ", literal=True) if item.get("data_type") == "T" else value


def _cross_failing(rule: dict, items: dict[str, dict], valid: Callable[[str], pl.Expr]) -> tuple[str, pl.Expr]:
    kind = rule["kind"]
    if kind == "compare":
        left, right = items[rule["left"]], items[rule["right"]]
        types = {left.get("data_type"), right.get("data_type")}
        numeric = (pl.Int64 if types == {"I"} else pl.Float64) if types <= NUMERIC_TYPES else None
        holds = _COMPARE[rule["op"]](_comparable(left, numeric), _comparable(right, numeric))
        return left["key"], valid(left["key"]) & valid(right["key"]) & ~holds
    if kind == "required_if":
        when = pl.col(rule["when"])
        condition = _among(when, rule["in"]) if "in" in rule else when.is_not_null()
        return rule["column"], pl.col(rule["column"]).is_null() & condition
    id_value = pl.col(rule["id"])
    if kind == "id_birth_date":
        embedded = pl.concat_str(id_value.str.slice(6, 4), id_value.str.slice(10, 2), id_value.str.slice(12, 2),
                                 separator="-")
        return rule["date"], valid(rule["id"]) & valid(rule["date"]) & (embedded != pl.col(rule["date"]))
    sex = pl.col(rule["sex"])
    odd = id_value.cast(pl.Binary).bin.get(16, null_on_oob=True) % 2 == 1
    disagrees = _among(sex, ["1", "2"]) & (odd != (sex == "1"))  # 0 未知, 9 未说明: not checked
    return rule["sex"], valid(rule["id"]) & valid(rule["sex"]) & disagrees


# ---------------------------------------------------------------------------------------------------- evaluation

FAILURE_SCHEMA = {"index": pl.UInt32, "rule": pl.String, "column": pl.String, "value": pl.String,
                  "reason": pl.String}
_VALUELESS = {"required", "cross_field"}


def failures(frame: pl.DataFrame, checks: list[Check]) -> pl.DataFrame:
    """All checks in one pass; the failing cells as rows (index, rule, column, value, reason), ordered by row
    index then check order. value is the offending cell (null for required and cross-field failures)."""
    if not checks or frame.is_empty():
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    flags = [f"__check_{number}" for number in range(len(checks))]
    # The in-memory engine shares common subexpressions across all checks; filtering eagerly afterwards keeps
    # the optimiser from rewriting the select around the filter (measured: half the time).
    verdicts = frame.lazy().select(check.bad.alias(flag) for check, flag in zip(checks, flags, strict=True))
    flagged = (verdicts.collect(engine="in-memory").with_row_index("index")
               .filter(pl.any_horizontal(flags)))
    if flagged.is_empty():
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    meta = pl.DataFrame({"flag": flags, "order": range(len(checks)), "rule": [c.rule for c in checks],
                         "column": [c.column for c in checks], "reason": [c.reason for c in checks],
                         "keep_value": [c.rule not in _VALUELESS and c.column is not None for c in checks]},
                        schema_overrides={"column": pl.String})
    failed = (flagged.unpivot(index="index", on=flags, variable_name="flag", value_name="bad").filter("bad")
              .join(meta, on="flag"))
    cells = (frame.with_row_index("index").filter(pl.col("index").is_in(flagged.get_column("index").implode()))
             .select("index", pl.exclude("index").cast(pl.String))
             .unpivot(index="index", variable_name="column", value_name="value"))
    failed = failed.join(cells, on=["index", "column"], how="left")
    return (failed.sort("index", "order")
            .select(pl.col("index").cast(pl.UInt32), "rule", "column",
                    pl.when("keep_value").then(pl.col("value")).otherwise(None).alias("value"), "reason"))


def duplicated(frame: pl.DataFrame, keys: list[str]) -> pl.Series:
    """True for the 2nd and later row of each key tuple; a row with a null key part is never a duplicate."""
    if not keys:
        return pl.Series("duplicated", [False] * frame.height, dtype=pl.Boolean)
    complete = pl.all_horizontal([pl.col(key).is_not_null() for key in keys])
    tuple_ = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    return frame.select((complete & ~tuple_.is_first_distinct()).alias("duplicated")).to_series()
