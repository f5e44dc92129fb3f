"""开放前检查 (pre-open check): direct identifiers and k-anonymity of a dataset before it is opened to the public.

Pure logic over polars: no database, no HTTP. ``detect`` finds the columns that identify a person directly
(ID number, name, phone, address, e-mail) from, in order, the item's data element, the item's name and the
values of a sample; ``apply`` builds the department's treatments (remove, mask, year, region, age band, hash)
as a lazy query the caller can sink to Parquet; ``k_anonymity`` measures the smallest class of rows sharing the
same quasi-identifier values; ``run`` puts it together into the JSON report shown to the department and the
bureau.

Decisions:

* Entity attributes are not personal identifiers. An address, phone or e-mail item is left alone (by its data
  element or name) when its name names an entity (企业/单位/机构/学校/场所/经营/注册/办公…, 咨询电话, 办公电话)
  or when the dataset describes entities: it has a credit code or an organisation-name item and no ID-number
  item (企业登记、学校名录 … whose 住所/地址 is the entity's). Person names there (法定代表人, 负责人, 联系人)
  are still names, and values still decide: a column whose sampled values are mostly mobile or ID numbers is
  flagged whatever its name.
* Value patterns count when at least half of the non-empty sampled values match, so a few stray phone numbers
  in a remarks column flag nothing. ID numbers are checked on the sample by the project's validator
  (``standards.validators.check_id_number``, python-stdnum underneath).
* Person names are also found by role (申请人, 户主, 患者, 当事人, 监护人 … as the end of the item's name, unless
  the values are mostly organisations'; with 名称 after the role, 经营者名称, when ≥ 10 % of the values are
  persons' names) and by values: ≥ 50 % of the non-empty sampled values are 2–4 Chinese characters starting
  with one of about 120 common surnames (欧阳, 司马 … first) without an organisation's, place's, disease's or
  category's ending (公司, 局, 院, 店, 区, 县, 村, 病, 色 …), and those values are not a few words repeated (fewer
  than 10 different ones: 许可, 高中, 周一 are categories).
* ``apply`` knows no kinds, only values: ``mask`` keeps only the area code (first 6 digits) of an ID-number-shaped
  value (450202************: no birth date, sex digit or tail, so a masked ID number says no more than ``region``),
  masks phone-shaped values 3+4 (138****5678), e-mail as z***@example.com and other text by keeping its first
  character (张*、张**); longer text keeps a quarter at each end. Values that do not generalise (a malformed ID
  number: format, birth date, check digit or an area code never in GB/T 2260; an address without 区/县/市; an
  unparsable date) become null. Every treated column is text: ``year`` gives "1985", like the region code and the
  age band (the opened file stays a table of text columns, as ingest stores them). ``age_band`` top-codes at 90
  (“90岁及以上”): very old ages are rare and would break k-anonymity. ``hash`` is the first 16 hex digits of SHA-256
  over ``salt + value`` (UTF-8), computed by DuckDB over whole batches (vectorised; polars has no SHA-256). A
  hashed column is a pseudonym, not anonymous: one person's rows stay linked, and whoever holds the salt (or can
  guess the values) can re-identify them — under PIPL art. 73 that is de-identified (去标识化), still personal
  information. ``run`` accepts it for identifiers and says so in the report's notes.
* A k threshold below 2 is reported as the problem ``k_threshold_too_low`` by ``run`` (the settings come from a
  form; the report must still be shown), and k is then measured at 2; ``k_anonymity`` itself raises
  ``ValueError``. A quasi-identifier that is an unresolved direct identifier is left out of the k measurement
  (it is reported as ``direct_identifier``, and a note says so).
* A year/age_band/region treatment on a column that is not an identifier is refused (``treatment_unsuitable``)
  when it turns most of the sampled non-empty values into nulls.

Complexity: detection looks at a sample only (O(sample_rows), default 2,000). ``apply`` is O(rows): three
chained projections of vectorised polars expressions (no per-row Python), lazy and streamable. ``k_anonymity``
is O(rows): one ``group_by`` over the quasi-identifiers, whose result (O(classes)) is the only thing collected;
``run`` adds a row count and a strided sample. About 2 s for 1,000,000 rows with four treatments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial

import duckdb
import polars as pl

from govdata.i18n import N_
from govdata.standards import regions, validators

TREATMENTS: dict[str, str] = {
    "keep": N_("原样开放"),
    "remove": N_("删除该列"),
    "mask": N_("部分遮盖"),
    "year": N_("仅保留年份"),
    "region": N_("仅保留区县"),
    "age_band": N_("年龄段"),
    "hash": N_("不可逆代号"),
}

IDENTIFIER_KINDS: dict[str, str] = {
    "id_number": N_("身份证号码"),
    "name": N_("姓名"),
    "phone": N_("电话号码"),
    "address": N_("地址"),
    "email": N_("电子邮箱"),
}

DEFAULT_K = 5
MIN_K = 2
MATCH_SHARE = 0.5  # share of non-empty sampled values a pattern must match
EXAMPLES = 5

# The shipped data elements (src/govdata/standards/data/elements.json) that stand for a person's identifier.
IDENTIFIER_ELEMENTS: dict[str, tuple[str, str]] = {
    "DE0001": ("name", "姓名"),
    "DE0002": ("id_number", "公民身份号码"),
    "DE0007": ("phone", "手机号码"),
    "DE0008": ("address", "地址"),
    "DE0014": ("name", "法定代表人"),
    "DE0017": ("email", "电子邮箱"),
    "DE0031": ("phone", "联系电话"),
}

# Which treatments resolve an identifier of each kind ("keep" never does).
SUITABLE: dict[str, tuple[str, ...]] = {
    "id_number": ("remove", "mask", "hash", "year", "age_band", "region"),
    "name": ("remove", "mask", "hash"),
    "phone": ("remove", "mask", "hash"),
    "email": ("remove", "mask", "hash"),
    "address": ("remove", "region", "hash"),
}
_GENERALISING = ("year", "age_band", "region")

# (kind, words in the item name, words that rule it out), tried in this order.
_NAME_RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    ("id_number", re.compile(r"身份证|证件号码|证件号|公民身份号码|身份号码"), None),
    ("email", re.compile(r"邮箱|电子邮件|电子信箱|e-?mail", re.IGNORECASE), None),
    ("phone", re.compile(r"电话|手机|联系方式|联系号码"),
     re.compile(r"办公电话|咨询电话|服务电话|监督电话|投诉电话|举报电话|值班电话|热线")),
    ("address", re.compile(r"地址|住址|住所|居住地|户籍地"),
     re.compile(r"网址|网站|网页|下载|链接|流地址|IP地址|url", re.IGNORECASE)),
    ("name", re.compile(r"姓名|法定代表人|法人代表|负责人|联系人"), None),
)
# Items about an identifier, not the identifier itself: 户籍地行政区划代码, 身份证件类型, 身份证有效期, 联系人数 …
_NOT_THE_VALUE = re.compile(r"代码|编码|类型|类别|种类|有效期|签发|人数|数量")
_ENTITY_ITEM = re.compile(r"企业|公司|单位|机构|学校|医院|场所|经营|注册|办公|门店|网点|宗地|项目|建设|坐落|机关")
_ENTITY_NAMES = re.compile(r"统一社会信用代码|纳税人识别号|企业名称|单位名称|机构名称")
_ENTITY_ELEMENTS = {"DE0006", "DE0013"}
_ENTITY_KINDS = {"address", "phone", "email"}
# The person in a role (申请人, 户主, 患者 …) when the item's name ends with it (申请人性别 is no name); with 名称
# after it (经营者名称, 当事人名称) the holder may be an enterprise or a person, and the values decide.
_ROLES = ("申请人|申报人|经营者|户主|患者|病人|就诊人|当事人|持证人|监护人|驾驶人|驾驶员|承租人|出租人|买受人|出卖人|"
          "借款人|出借人|权利人|义务人|受让人|转让人|被执行人|被告人|原告|被告|投诉人|举报人|委托人|代理人|经办人|"
          "承办人|参保人|被保险人|投保人|受益人|死者|逝者|受种者|车主|房主|业主")
_ROLE = re.compile(rf"({_ROLES})(名称)?(?:[((][^))]*[))])?$")
MIXED_SHARE = 0.1  # share of person names that flags an enterprise-or-person column (经营者名称)
# About the 100 most common surnames, and the common ones of Guangxi; two-character ones tried first.
_SURNAMES_2 = "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|长孙|宇文|司徒|夏侯|端木|轩辕|独孤|南宫|西门|百里"
_SURNAMES_1 = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁"
               "任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱"
               "戴严莫孔向常汤康易乔赖文蒙农甘兰蓝庞")
_PERSON_NAME = rf"^(?:(?:{_SURNAMES_2})\p{{Han}}{{1,2}}|[{_SURNAMES_1}]\p{{Han}}{{1,3}})$"
# Endings of organisations, places, diseases and categories, which no person's name has (张家界, 黄山市, 白喉, 黄色).
_NOT_A_NAME = ("(?:公司|集团|银行|合作社|中心|小学|中学|大学|学院|药房|祠堂|商行|餐厅|"
               "局|院|所|店|厂|站|校|馆|部|处|室|队|社|会|场|委|办|区|县|市|省|州|镇|乡|村|街|路|巷|庄|屯|寨|界|井|坪|"
               "湾|港|岛|桥|病|症|炎|疹|痘|疸|疾|喉|咳|瘤|癌|疫|色|级|类|型)$")
_CATEGORIES = 10  # person-like values of fewer distinct words than this (许可, 高中, 周一 …) are categories

_MOBILE = r"^(?:\+?86)?1[3-9]\d{9}$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_ID_SHAPE = r"^\d{17}[\dXx]$"
_PHONE_SHAPE = r"^\+?[\d\- ]{7,}$"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = dict(enumerate("10X98765432"))
_STARS = pl.lit("*" * 32)
# Province (省/自治区) and city (市/自治州/地区/盟) are optional; then the first 区/县/市/旗 (no digits or roads).
_PLACE = "[^省市区县旗0-9路街号巷弄]+?"
_ADDRESS_REGION = rf"^((?:{_PLACE}(?:省|自治区))?(?:{_PLACE}(?:市|自治州|地区|盟))?{_PLACE}(?:区|县|市|旗))"
_COUNT = "__precheck_count__"


@dataclass
class Finding:
    """A column that identifies a person directly."""

    key: str
    name: str
    kind: str
    reason: str


# -- detection ---------------------------------------------------------------------------------------------------

def detect(items: list[dict], frame: pl.DataFrame, *, sample_rows: int = 2000) -> list[Finding]:
    """The frame's columns that are direct identifiers, in column order, with a Chinese reason for each."""
    by_key = {item["key"]: item for item in items}
    entity_dataset = _is_entity_dataset(items)
    sample = frame.sample(sample_rows, seed=0) if frame.height > sample_rows else frame
    findings = []
    for column in frame.columns:
        item = by_key.get(column) or {"key": column, "name": column}
        entity = entity_dataset or bool(_ENTITY_ITEM.search(item.get("name") or ""))
        finding = (_by_element(item, entity) or _by_name(item, entity) or _by_role(item, sample)
                   or _by_values(item, sample, entity))
        if finding:
            findings.append(finding)
    return findings


def _is_entity_dataset(items: list[dict]) -> bool:
    """The dataset describes enterprises or institutions: a credit code or organisation name, no ID number."""
    has_entity = any(i.get("data_element") in _ENTITY_ELEMENTS or _ENTITY_NAMES.search(i.get("name") or "")
                     for i in items)
    has_person = any(_kind_of(i) == "id_number" for i in items)
    return has_entity and not has_person


def _kind_of(item: dict) -> str | None:
    element = IDENTIFIER_ELEMENTS.get(item.get("data_element") or "")
    if element:
        return element[0]
    match = _name_match(item.get("name") or "")
    return match[0] if match else None


def _name_match(name: str) -> tuple[str, str] | None:
    if _NOT_THE_VALUE.search(name):
        return None
    for kind, words, exclude in _NAME_RULES:
        found = words.search(name)
        if found and not (exclude and exclude.search(name)):
            return kind, found.group(0)
    return None


def _finding(item: dict, kind: str, reason: str) -> Finding:
    return Finding(item["key"], item.get("name") or item["key"], kind, reason)


def _by_element(item: dict, entity: bool) -> Finding | None:
    code = item.get("data_element") or ""
    if code not in IDENTIFIER_ELEMENTS:
        return None
    kind, label = IDENTIFIER_ELEMENTS[code]
    if entity and kind in _ENTITY_KINDS:
        return None
    return _finding(item, kind, f"信息项绑定数据元 {code}“{label}”")


def _by_name(item: dict, entity: bool) -> Finding | None:
    match = _name_match(item.get("name") or "")
    if not match or (entity and match[0] in _ENTITY_KINDS):
        return None
    return _finding(item, match[0], f"信息项名称含“{match[1]}”")


def _by_role(item: dict, sample: pl.DataFrame) -> Finding | None:
    """申请人, 户主, 患者 …: a person's name unless the values are mostly organisations' names (an enterprise may
    be the 申请人). 经营者名称, 当事人名称 …: names when at least ``MIXED_SHARE`` of the values are persons'."""
    found = _ROLE.search(item.get("name") or "")
    if not found or _NOT_THE_VALUE.search(item.get("name") or ""):
        return None
    values = _sample_values(sample, item["key"])
    role = found.group(1)
    if found.group(2) is None and item.get("data_element") not in _ENTITY_ELEMENTS:
        if values.len() and _share_matching(values, _NOT_A_NAME) >= MATCH_SHARE:
            return None
        return _finding(item, "name", f"信息项名称含“{role}”")
    share = _share_person_names(values) if values.len() else 0.0
    if share < MIXED_SHARE:
        return None
    reason = f"信息项名称含“{role}”,抽样 {sample.height:,} 行的非空值中 {int(share * 100)}% 为人名"
    return _finding(item, "name", reason)


def _by_values(item: dict, sample: pl.DataFrame, entity: bool) -> Finding | None:
    values = _sample_values(sample, item["key"])
    if not values.len():
        return None
    checks = [("id_number", "有效身份证号码", lambda v: _share_valid_ids(v)),
              ("phone", "手机号码", lambda v: _share_matching(v.str.replace_all(r"[\s\-]", ""), _MOBILE))]
    if not entity:
        checks.append(("email", "电子邮箱地址", lambda v: _share_matching(v, _EMAIL)))
    checks.append(("name", "人名", _share_person_names))
    for kind, what, share_of in checks:
        share = share_of(values)
        if share >= MATCH_SHARE:
            reason = f"抽样 {sample.height:,} 行的非空值中 {int(share * 100)}% 为{what}"
            return _finding(item, kind, reason)
    return None


def _sample_values(sample: pl.DataFrame, column: str) -> pl.Series:
    """The non-empty values of a text or integer column, as stripped text (empty for other types)."""
    dtype = sample.schema[column]
    if not (dtype == pl.String or dtype == pl.Categorical or dtype.is_integer()):
        return pl.Series(column, [], dtype=pl.String)
    text = sample[column].cast(pl.String).drop_nulls().str.strip_chars()
    return text.filter(text != "")


def _share_matching(values: pl.Series, pattern: str) -> float:
    return values.str.contains(pattern).mean() or 0.0


def _share_person_names(values: pl.Series) -> float:
    """Share of the values that look like a person's name: 2–4 Chinese characters starting with a common surname,
    without an organisation's, place's or disease's ending; 0 when those values are a few words repeated."""
    looks = values.str.contains(_PERSON_NAME) & ~values.str.contains(_NOT_A_NAME)
    names = values.filter(looks)
    if names.n_unique() < min(names.len(), _CATEGORIES):
        return 0.0
    return looks.mean() or 0.0


def _share_valid_ids(values: pl.Series) -> float:
    """python-stdnum's check digit and birth date through the project's validator (which also accepts a county
    code created after the birth year, as real ID numbers carry it)."""
    return sum(validators.check_id_number(v.upper()) is None for v in values) / values.len()


# -- treatments --------------------------------------------------------------------------------------------------

def apply(frame: pl.DataFrame | pl.LazyFrame, treatments: dict[str, str], *, salt: str, today: date) -> pl.LazyFrame:
    """The frame with the treatments applied, as a lazy query (O(rows), vectorised expressions only).

    Three projections: each treated column as stripped text, then birth dates for year/age_band, then the
    results (so no intermediate is computed twice); the helper columns are dropped. Raises ``ValueError``
    for an unknown treatment or a column the frame does not have."""
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    for key, treatment in treatments.items():
        if treatment not in TREATMENTS:
            raise ValueError(f"未定义的处理方式:{treatment}")
        if key not in schema:
            raise ValueError(f"数据中没有列:{key}")
    active = {key: treatment for key, treatment in treatments.items() if treatment not in ("keep", "remove")}
    texts = {_helper("text", key): _as_text(pl.col(key), schema[key]) for key in active}
    dates = {_helper("date", key): _as_date(key, schema[key]) for key, t in active.items() if t in ("year", "age_band")}
    results = [_treat(key, treatment, salt=salt, today=today).alias(key) for key, treatment in active.items()]
    removed = [key for key, treatment in treatments.items() if treatment == "remove"]
    return (lazy.with_columns(**texts).with_columns(**dates).with_columns(results)
            .drop([*texts, *dates, *removed]))


def _helper(stage: str, key: str) -> str:
    return f"__precheck_{stage}_{key}"


def _treat(key: str, treatment: str, *, salt: str, today: date) -> pl.Expr:
    text = pl.col(_helper("text", key))
    if treatment == "mask":
        return mask_expr(text)
    if treatment == "hash":
        return hash_expr(text, salt)
    if treatment == "region":
        return region_expr(text)
    birth = pl.col(_helper("date", key))
    return birth.dt.year().cast(pl.String) if treatment == "year" else age_band_expr(birth, today)


def _as_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return (column if dtype == pl.String else column.cast(pl.String)).str.strip_chars()


def _as_date(key: str, dtype: pl.DataType) -> pl.Expr:
    """A date column as is, a datetime's date, or the birth date of an ID number / a date written as text."""
    if dtype == pl.Date:
        return pl.col(key)
    if isinstance(dtype, pl.Datetime):
        return pl.col(key).dt.date()
    text = pl.col(_helper("text", key))
    return pl.coalesce(id_birth_date_expr(text), _text_date(text))


def _text_date(text: pl.Expr) -> pl.Expr:
    """2024-03-05, 2024/3/5, 20240305 or 2024年3月5日 (a time after the date is ignored); null otherwise."""
    formats = ((r"^(\d{4}-\d{1,2}-\d{1,2})", "%Y-%m-%d"), (r"^(\d{4}/\d{1,2}/\d{1,2})", "%Y/%m/%d"),
               (r"^(\d{8})$", "%Y%m%d"), (r"^(\d{4}年\d{1,2}月\d{1,2}日)", "%Y年%m月%d日"))
    return pl.coalesce([text.str.extract(pattern, 1).str.to_date(fmt, strict=False) for pattern, fmt in formats])


@lru_cache
def _area_codes() -> tuple[str, ...]:
    """Every GB/T 2260 code, current or past (an ID number keeps the code of its year of issue)."""
    return tuple(regions.divisions())


def id_valid_expr(text: pl.Expr) -> pl.Expr:
    """GB 11643 ID number: 17 digits and a check character that matches, a real birth date, a known area code."""
    shaped = pl.when(text.str.contains(_ID_SHAPE)).then(text)  # the rest is computed on ID-shaped values only
    total = pl.sum_horizontal([shaped.str.slice(i, 1).cast(pl.Int32) * weight for i, weight in enumerate(_ID_WEIGHTS)])
    check = (total % 11).replace_strict(_ID_CHECK, default=None, return_dtype=pl.String)
    valid = ((check == shaped.str.slice(17, 1).str.to_uppercase())
             & shaped.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).is_not_null()
             & shaped.str.slice(0, 6).is_in(_area_codes()))
    return valid.fill_null(False)


def id_birth_date_expr(text: pl.Expr) -> pl.Expr:
    """The birth date in a valid ID number; null for anything else."""
    birth = text.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return pl.when(id_valid_expr(text)).then(birth)


def region_expr(text: pl.Expr) -> pl.Expr:
    """An ID number's 6-digit area code, or an address up to its county (区/县/市/旗); null otherwise."""
    return (pl.when(id_valid_expr(text)).then(text.str.slice(0, 6))
            .otherwise(text.str.extract(_ADDRESS_REGION, 1)))


def age_band_expr(birth: pl.Expr, today: date) -> pl.Expr:
    """A birth date → “30-39岁” at ``today``; “90岁及以上” from 90; null for a missing or future date."""
    later_in_year = (birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()) > today.month * 100 + today.day
    age = today.year - birth.dt.year().cast(pl.Int32) - later_in_year.cast(pl.Int32)
    low = (age // 10) * 10
    return (pl.when(age < 0).then(None)
            .when(age >= 90).then(pl.lit("90岁及以上"))
            .otherwise(pl.concat_str([low, pl.lit("-"), low + 9, pl.lit("岁")])))


def mask_expr(text: pl.Expr) -> pl.Expr:
    """Partial masking (see the module docstring): an ID number keeps its area code only, other values a little
    at both ends; null stays null."""
    length = text.str.len_chars()
    quarter = length // 4
    return (pl.when(text.str.contains(_ID_SHAPE)).then(_masked(text, length, 6, 0))
            .when(text.str.contains("@")).then(text.str.replace(r"^([^@])[^@]*@", "${1}***@"))
            .when(text.str.contains(_PHONE_SHAPE)).then(_masked(text, length, 3, 4))
            .when(length <= 1).then(pl.when(length == 1).then(pl.lit("*")).otherwise(text))
            .when(length <= 4).then(_masked(text, length, 1, 0))
            .otherwise(_masked(text, length, quarter, quarter)))


def _masked(text: pl.Expr, length: pl.Expr, head: int | pl.Expr, tail: int | pl.Expr) -> pl.Expr:
    hidden = (length - head - tail).clip(lower_bound=0)
    return pl.concat_str([text.str.slice(0, head), _STARS.str.slice(0, hidden), text.str.slice(length - tail)])


def hash_expr(text: pl.Expr, salt: str) -> pl.Expr:
    """The first 16 hex digits of SHA-256(salt + value): one code per value, not reversible without the salt."""
    return text.map_batches(partial(_sha256_batch, salt=salt), return_dtype=pl.String, is_elementwise=True)


def _sha256_batch(values: pl.Series, *, salt: str) -> pl.Series:
    """SHA-256 over a whole batch in DuckDB (vectorised C++; it keeps the rows' order)."""
    connection = duckdb.connect()
    try:
        connection.register("batch", pl.DataFrame({"v": values.cast(pl.String)}).to_arrow())
        hashed = connection.sql("SELECT substr(sha256($salt || v), 1, 16) AS h FROM batch",
                                params={"salt": salt}).pl()
    finally:
        connection.close()
    return hashed["h"].alias(values.name)


# -- k-anonymity -------------------------------------------------------------------------------------------------

def k_anonymity(frame: pl.DataFrame | pl.LazyFrame, quasi_identifiers: list[str], threshold: int = DEFAULT_K) -> dict:
    """The smallest class of rows sharing the quasi-identifiers' values (nulls are a value), in one group_by.

    ``k`` is None with no quasi-identifiers or no rows. Raises ``ValueError`` for a threshold below 2."""
    if threshold < MIN_K:
        raise ValueError(f"k-匿名阈值至少为 {MIN_K}")
    columns = list(dict.fromkeys(quasi_identifiers))
    result: dict = {"k": None, "classes": 0, "classes_below": 0, "rows_below": 0, "examples": []}
    if not columns:
        return result
    classes = frame.lazy().group_by(columns).agg(pl.len().alias(_COUNT)).collect()
    if not classes.height:
        return result
    small = classes.filter(pl.col(_COUNT) < threshold).sort([_COUNT, *columns], nulls_last=True)
    result.update(k=int(classes[_COUNT].min()), classes=classes.height, classes_below=small.height,
                  rows_below=int(small[_COUNT].sum()),
                  examples=[_example(row) for row in small.head(EXAMPLES).iter_rows(named=True)])
    return result


def _example(row: dict) -> dict:
    count = row.pop(_COUNT)
    return {**{key: _json_value(value) for key, value in row.items()}, "count": count}


def _json_value(value: object) -> object:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


# -- the report --------------------------------------------------------------------------------------------------

def run(items: list[dict], frame: pl.DataFrame | pl.LazyFrame, settings: dict, *, salt: str, today: date,
        sample_rows: int = 2000) -> dict:
    """The pre-open check's report (JSON-serialisable); ``passed`` when there is no problem."""
    lazy = frame.lazy()
    columns = lazy.collect_schema().names()
    rows = lazy.select(pl.len()).collect().item()
    sample = _sample(lazy, rows, sample_rows)
    names = {item["key"]: item.get("name") or item["key"] for item in items}
    findings = {f.key: f for f in detect(items, sample, sample_rows=sample_rows)}
    declared = dict(settings.get("treatments") or {})
    problems: list[dict] = []
    treatments = _valid_treatments(declared, columns, names, problems)
    identifiers = [_identifier(f, declared.get(f.key, "keep"), problems) for f in findings.values()]
    _check_generalisations(treatments, findings, sample, names, problems, salt=salt, today=today)
    threshold = _threshold(settings, problems)
    unresolved = {i["key"] for i in identifiers if not i["resolved"]}
    qis, notes = _quasi_identifiers(settings, columns, treatments, unresolved, problems)
    notes += _pseudonym_notes(treatments, names)
    applied = apply(lazy, treatments, salt=salt, today=today)
    k = k_anonymity(applied, qis, max(threshold, MIN_K))
    if k["k"] is not None and k["k"] < threshold:
        problems.append(_k_problem(k, threshold))
    return {
        "passed": not problems,
        "k_threshold": threshold,
        "rows": rows,
        "columns": [_column(key, names, findings, declared) for key in columns],
        "identifiers": identifiers,
        "problems": problems,
        "k": {"found": k["k"], "threshold": threshold, "classes": k["classes"], "classes_below": k["classes_below"],
              "rows_below": k["rows_below"], "examples": k["examples"], "quasi_identifiers": qis},
        "notes": notes,
    }


def _sample(lazy: pl.LazyFrame, rows: int, size: int) -> pl.DataFrame:
    """About ``size`` rows spread evenly over the frame (every n-th row)."""
    return lazy.gather_every(max(1, rows // size)).head(size).collect()


def _problem(code: str, key: str | None, message: str) -> dict:
    return {"code": code, "key": key, "message": message}


def _valid_treatments(declared: dict[str, str], columns: list[str], names: dict[str, str],
                      problems: list[dict]) -> dict[str, str]:
    valid = {}
    for key, treatment in declared.items():
        if treatment not in TREATMENTS:
            problems.append(_problem("unknown_treatment", key, f"列“{names.get(key, key)}”({key}) 的处理方式"
                                     f"“{treatment}”未定义,可选:{_labels(TREATMENTS)}"))
        elif key not in columns:
            problems.append(_problem("unknown_column", key, f"处理方式所指的列 {key} 不在数据中"))
        else:
            valid[key] = treatment
    return valid


def _identifier(finding: Finding, treatment: str, problems: list[dict]) -> dict:
    kind_label = IDENTIFIER_KINDS[finding.kind]
    where = f"{kind_label}列“{finding.name}”({finding.key})"
    resolved = False
    if treatment == "keep":
        problems.append(_problem("direct_identifier", finding.key, f"{where} 未经处理,须删除或泛化后才能开放"))
    elif treatment in SUITABLE[finding.kind]:
        resolved = True
    elif treatment in TREATMENTS:
        problems.append(_problem("treatment_unsuitable", finding.key, f"{where} 不适用“{TREATMENTS[treatment]}”,"
                                 f"可选:{_labels(SUITABLE[finding.kind])}"))
    return {"key": finding.key, "name": finding.name, "kind": finding.kind, "kind_label": kind_label,
            "reason": finding.reason, "treatment": treatment, "resolved": resolved}


def _labels(treatments: Iterable[str]) -> str:
    return "、".join(TREATMENTS[t] for t in treatments)


def _check_generalisations(treatments: dict[str, str], findings: dict[str, Finding], sample: pl.DataFrame,
                           names: dict[str, str], problems: list[dict], *, salt: str, today: date) -> None:
    """year/age_band/region on a non-identifier column must generalise most of its sampled values."""
    chosen = {k: t for k, t in treatments.items() if t in _GENERALISING and k not in findings}
    if not chosen or not sample.height:
        return
    treated = apply(sample.select(list(chosen)), chosen, salt=salt, today=today).collect()
    for key, treatment in chosen.items():
        before = sample[key].cast(pl.String).str.strip_chars()
        present = before.is_not_null() & (before != "")
        if not present.any():
            continue
        lost = (treated[key].is_null() & present).sum() / present.sum()
        if lost > 1 - MATCH_SHARE:
            problems.append(_problem("treatment_unsuitable", key, f"列“{names.get(key, key)}”({key}) 抽样中 "
                                     f"{int(lost * 100)}% 的非空值无法“{TREATMENTS[treatment]}”,该处理不适用此列"))


def _threshold(settings: dict, problems: list[dict]) -> int:
    value = settings.get("k", DEFAULT_K)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(_problem("k_threshold_invalid", None, f"k-匿名阈值“{value}”不是整数,按默认值 {DEFAULT_K} 检查"))
        return DEFAULT_K
    if value < MIN_K:
        problems.append(_problem("k_threshold_too_low", None,
                                 f"k-匿名阈值 {value} 过低,至少为 {MIN_K}(每一组准标识符取值至少对应 {MIN_K} 行)"))
    return value


def _quasi_identifiers(settings: dict, columns: list[str], treatments: dict[str, str], unresolved: set[str],
                       problems: list[dict]) -> tuple[list[str], list[str]]:
    """The quasi-identifiers to measure, and notes for the report."""
    declared = list(dict.fromkeys(settings.get("quasi_identifiers") or []))
    if not declared:
        return [], ["未声明准标识符,未计算 k-匿名;如数据含出生日期、性别、地址、职业等可组合识别个人的信息项,"
                    "请声明为准标识符。"]
    measured, notes = [], []
    for key in declared:
        if key not in columns:
            problems.append(_problem("unknown_quasi_identifier", key, f"准标识符 {key} 不是数据中的列"))
        elif treatments.get(key) == "remove":
            problems.append(_problem("unknown_quasi_identifier", key, f"准标识符 {key} 已被删除,不能作为准标识符"))
        elif key in unresolved:
            notes.append(f"准标识符 {key} 是未妥善处理的直接标识符(见上),未计入 k-匿名。")
        else:
            measured.append(key)
    return measured, notes


def _pseudonym_notes(treatments: dict[str, str], names: dict[str, str]) -> list[str]:
    hashed = [f"“{names.get(key, key)}”({key})" for key, treatment in treatments.items() if treatment == "hash"]
    if not hashed:
        return []
    return [f"{'、'.join(hashed)} 以不可逆代号开放:代号是假名(去标识化),不是匿名化——同一人的记录仍可关联,"
            "结合其他数据可能重新识别,依《个人信息保护法》第七十三条仍属个人信息。如无需关联同一人的记录,请删除该列。"]


def _k_problem(k: dict, threshold: int) -> dict:
    message = (f"k-匿名未达标:最小等价类仅 {k['k']} 行(要求不少于 {threshold} 行),共 {k['classes_below']:,} 个等价类、"
               f"{k['rows_below']:,} 行低于阈值。请对准标识符做更粗的泛化(如出生日期改为年份或年龄段、地址改为区县),"
               "或减少准标识符。")
    return _problem("k_anonymity", None, message)


def _column(key: str, names: dict[str, str], findings: dict[str, Finding], declared: dict[str, str]) -> dict:
    treatment = declared.get(key, "keep")
    finding = findings.get(key)
    return {"key": key, "name": names.get(key, key), "kind": finding.kind if finding else None,
            "treatment": treatment, "treatment_label": TREATMENTS.get(treatment, "未定义"),
            "opened": treatment != "remove"}
