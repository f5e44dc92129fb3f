"""From chunks of rows to a validated dataset: map the header to the resource's items, normalise, check every
rule (vectorised, ``rules``), keep the accepted rows, quarantine the rejected ones with every reason, check
key uniqueness over the whole dataset, merge with the previous version when asked, and write Parquet.

Cost: O(rows × checked columns) for validation, O(rows) for uniqueness (a hash of the key), all in polars.
Accepted rows are held in memory once (about the size of the decoded text) until written; the reader keeps
no more than two chunks of the source file besides.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from govdata.errors import ValidationFailed
from govdata.ingest import rules
from govdata.ingest.readers import Chunk

ROW = "_row"  # the row number in the source (header = row 1), carried until the data is written
BAD = "_bad"  # the row broke a rule
REJECT_ROW, REJECT_REASONS = "原行号", "拒绝原因"  # quarantine columns, ignored when a corrected file comes back
QUARANTINE_COLUMNS = {REJECT_ROW, REJECT_REASONS}
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency")


@dataclass
class Plan:
    """What a resource's rows are checked against."""

    items: list[dict[str, Any]]
    checks: list[rules.Check]
    keys: list[str]  # primary-key items (主键), for uniqueness and merge

    @property
    def columns(self) -> list[str]:
        return [item["key"] for item in self.items]


@dataclass
class ColumnMap:
    rename: dict[str, str]  # source column → item key
    missing: list[str]  # optional items absent from the source (filled with nulls)
    ignored: list[str]  # source columns that are not items


@dataclass
class Outcome:
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_stored: int = 0
    errors_by_rule: dict[str, int] = field(default_factory=dict)
    dimensions: dict[str, float] = field(default_factory=dict)
    fill_rates: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    data_path: Path | None = None
    rejected_path: Path | None = None
    errors_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def map_columns(header: list[str], items: list[dict[str, Any]]) -> ColumnMap:
    """Source columns match an item by key (any case) or by its Chinese name. A missing required item is an
    error for the whole file (``missing_columns``): no row could pass."""
    by_name = {item["key"].lower(): item["key"] for item in items}
    by_name.update({item["name"]: item["key"] for item in items if item.get("name")})
    rename: dict[str, str] = {}
    ignored: list[str] = []
    for column in header:
        key = by_name.get(column) or by_name.get(column.lower())
        if key and key not in rename.values():
            rename[column] = key
        elif column not in QUARANTINE_COLUMNS:
            ignored.append(column)
    present = set(rename.values())
    absent_required = [f"{i['name']}({i['key']})" for i in items if i["required"] and i["key"] not in present]
    if absent_required:
        raise ValidationFailed(f"文件缺少必填的信息项列:{'、'.join(absent_required)}。列名可以是信息项英文名或中文名称",
                               code="missing_columns", details={"missing": absent_required})
    if not present:
        raise ValidationFailed("文件的表头与该信息资源的信息项没有一列对应", code="missing_columns")
    missing = [i["key"] for i in items if i["key"] not in present]
    return ColumnMap(rename, missing, ignored)


def _normalised(frame: pl.DataFrame, cmap: ColumnMap, columns: list[str]) -> pl.DataFrame:
    """Item columns in catalog order; surrounding whitespace (full-width spaces too) stripped, and text that was
    only whitespace made null (readers already give empty cells as null). Columns are scanned first and only those
    with such whitespace rewritten: clean data, the usual case, is not copied."""
    frame = frame.select([pl.col(src).alias(key) for src, key in cmap.rename.items()])
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(key) for key in cmap.missing])
    present = [key for key in columns if key not in cmap.missing]
    flags = frame.select(pl.col(present).str.contains(r"^\s|\s$").any()).row(0) if present and len(frame) else ()
    dirty = [key for key, flag in zip(present, flags, strict=True) if flag]
    if dirty:
        stripped = pl.col(dirty).str.strip_chars()
        frame = frame.with_columns(pl.when(stripped == "").then(None).otherwise(stripped).name.keep())
    return frame.select(columns)


class _Accumulator:
    """Keeps every parsed chunk (normalised) with a per-row ``_bad`` flag rather than filtering chunk by chunk:
    the accepted rows are selected once, while they stream into Parquet, so the data is never copied whole."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.frames: list[pl.DataFrame] = []  # item columns + _row + _bad
        self.rejected: list[pl.DataFrame] = []  # item columns + _row + reasons
        self.errors: list[pl.DataFrame] = []  # row, rule, column, value, reason
        self.rule_counts: Counter[str] = Counter()
        self.bad_rows: Counter[str] = Counter()  # dimension → rows failing it
        self.filled: Counter[str] = Counter()
        self.rows = 0

    def add(self, frame: pl.DataFrame, row_numbers: pl.Series) -> None:
        self.rows += len(frame)
        for key, count in zip(frame.columns, frame.select(pl.all().count()).row(0), strict=True):
            self.filled[key] += count
        frame = frame.with_columns(row_numbers.alias(ROW))
        failed = rules.failures(frame, self.plan.checks)
        if failed.is_empty():
            self.frames.append(frame.with_columns(pl.lit(False).alias(BAD)))
            return
        failed = failed.with_columns(pl.col("index").cast(pl.UInt32))
        bad = pl.int_range(len(frame), dtype=pl.UInt32).is_in(failed["index"].unique().implode())
        self.frames.append(frame.with_columns(bad.alias(BAD)))
        self._reject(frame, failed)

    def _reject(self, frame: pl.DataFrame, failed: pl.DataFrame) -> None:
        rows = frame.with_row_index("index")
        failed = failed.join(rows.select("index", ROW), on="index")
        self.rule_counts.update(dict(failed.group_by("rule").len().iter_rows()))
        dims = failed.with_columns(pl.col("rule").replace_strict(rules.DIMENSION, return_dtype=pl.String)
                                   .alias("dimension"))
        self.bad_rows.update(dict(dims.group_by("dimension").agg(pl.col("index").n_unique()).iter_rows()))
        reasons = failed.group_by("index", maintain_order=True).agg(
            pl.format("{}:{}", pl.col("column").fill_null("-"), pl.col("reason")).str.join(";")
            .alias(REJECT_REASONS))
        self.rejected.append(rows.join(reasons, on="index").drop("index"))
        self.errors.append(failed.select(pl.col(ROW).alias("row"), "rule", "column", "value", "reason"))

    def add_structure(self, chunk: Chunk) -> None:
        if not chunk.rejects:
            return
        n = len(chunk.rejects)
        self.rows += n
        self.rule_counts["structure"] += n
        self.bad_rows["validity"] += n
        self.errors.append(pl.DataFrame({
            "row": [r.row for r in chunk.rejects], "rule": ["structure"] * n, "column": [None] * n,
            "value": [r.text for r in chunk.rejects], "reason": [r.reason for r in chunk.rejects]},
            schema={"row": pl.Int64, "rule": pl.String, "column": pl.String, "value": pl.String,
                    "reason": pl.String}))


def _row_numbers(chunk: Chunk) -> pl.Series:
    if chunk.rows is not None:
        return pl.Series(ROW, chunk.rows, dtype=pl.Int64)
    return pl.int_range(chunk.first_row, chunk.first_row + len(chunk.frame), dtype=pl.Int64, eager=True)


def _unique(acc: _Accumulator, data: pl.DataFrame) -> pl.Series:
    """The rows to keep: no rule broken, and the first of each key among those (later rows with the same key
    go to the quarantine). O(rows): the key is hashed to 64 bits, and rows whose hash repeats are then compared
    by their real key, so a hash collision never rejects a row."""
    keys = acc.plan.keys
    good = ~data.get_column(BAD)
    if not keys or data.is_empty():
        return good
    key = (pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)).hash()
    keep = data.select(pl.when(~pl.col(BAD)).then(key).is_first_distinct() & ~pl.col(BAD)).to_series()
    candidates = good & ~keep
    if not candidates.any():
        return keep
    repeats = data.with_row_index("_at").filter(candidates)
    # Only the first rows of the repeated keys are taken out (a filter keeping most rows would copy them all).
    repeated = repeats.select(key.alias("_hash")).to_series().implode()
    firsts = (data.filter(data.select(key.is_in(repeated)).to_series() & keep).select(*keys, ROW)
              .join(repeats.select(keys), on=keys, how="semi").rename({ROW: "_first_row"}))
    repeats = repeats.join(firsts, on=keys, how="left")
    collided = repeats.filter(pl.col("_first_row").is_null())["_at"]
    if len(collided):
        keep = keep.scatter(collided, True)
    repeats = repeats.filter(pl.col("_first_row").is_not_null()).drop("_at")
    _quarantine_repeats(acc, repeats, keys)
    return keep


def _quarantine_repeats(acc: _Accumulator, repeats: pl.DataFrame, keys: list[str]) -> None:
    reason = pl.format("主键({})与第 {} 行重复", pl.lit("、".join(keys)), pl.col("_first_row"))
    acc.rule_counts["unique"] += len(repeats)
    acc.bad_rows["uniqueness"] += len(repeats)
    acc.rejected.append(repeats.with_columns(pl.format("{}:{}", pl.lit(keys[0]), reason).alias(REJECT_REASONS))
                        .drop("_first_row", BAD))
    acc.errors.append(repeats.select(pl.col(ROW).alias("row"), pl.lit("unique").alias("rule"),
                                     pl.lit(keys[0]).alias("column"),
                                     pl.concat_str([pl.col(k) for k in keys], separator="|").alias("value"),
                                     reason.alias("reason")))


def _stored(acc: _Accumulator, keep: pl.Series, base: pl.DataFrame | None) -> pl.LazyFrame:
    """The rows of the version, lazily, chunk by chunk (so that writing them streams instead of copying them all):
    the accepted rows, and in merge mode (补充/更正) the previous version's rows whose key they do not replace."""
    columns, keys = acc.plan.columns, acc.plan.keys
    parts, offset = [], 0
    for frame in acc.frames:
        parts.append(frame.lazy().filter(keep.slice(offset, len(frame))).select(columns))
        offset += len(frame)
    if base is not None:
        kept = base.lazy().select(columns)
        if keys and parts:
            kept = kept.join(pl.concat(parts).select(keys), on=keys, how="anti", nulls_equal=True)
        parts.insert(0, kept)
    return pl.concat(parts, how="vertical") if parts else _empty(columns).lazy().select(columns)


def process(chunks: Iterable[Chunk], header: list[str], plan: Plan, workdir: Path, *,
            base: pl.DataFrame | None = None, progress: Callable[[int], None] | None = None) -> Outcome:
    """Validate every chunk and write ``data.parquet`` (and the quarantine) under ``workdir``."""
    started = time.perf_counter()
    cmap = map_columns(header, plan.items)
    acc = _Accumulator(plan)
    columns = plan.columns
    for chunk in chunks:
        acc.add_structure(chunk)
        if len(chunk.frame):
            acc.add(_normalised(chunk.frame, cmap, columns), _row_numbers(chunk))
        if progress:
            progress(acc.rows)
    validated = time.perf_counter()
    data = pl.concat(acc.frames, how="vertical", rechunk=False) if acc.frames else _empty(columns)
    keep = _unique(acc, data)
    outcome = _outcome(acc, cmap, int(keep.sum()))
    outcome.data_path = workdir / "data.parquet"
    # No column statistics: rows are in upload order, so min/max per row group would select nothing.
    _stored(acc, keep, base).sink_parquet(outcome.data_path, compression="zstd", compression_level=1,
                                          statistics=False)
    outcome.rows_stored = pl.scan_parquet(outcome.data_path).select(pl.len()).collect().item()
    acc.frames.clear()
    _write_quarantine(acc, columns, workdir, outcome)
    outcome.timings = {"validate": round(validated - started, 3), "write": round(time.perf_counter() - validated, 3)}
    return outcome


def _empty(columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={**dict.fromkeys(columns, pl.String), ROW: pl.Int64, BAD: pl.Boolean})


def _outcome(acc: _Accumulator, cmap: ColumnMap, accepted: int) -> Outcome:
    total = acc.rows
    outcome = Outcome(rows_total=total, rows_accepted=accepted, rows_rejected=total - accepted,
                      errors_by_rule=dict(sorted(acc.rule_counts.items())))
    outcome.dimensions = dimensions(total, acc.bad_rows)
    parsed = max(total - acc.rule_counts.get("structure", 0), 1)
    outcome.fill_rates = {key: round(acc.filled[key] * 100 / parsed, 2) for key in acc.plan.columns}
    if cmap.ignored:
        outcome.warnings.append(f"以下列不是该信息资源的信息项,已忽略:{'、'.join(cmap.ignored)}")
    if cmap.missing:
        outcome.warnings.append(f"文件中没有以下非必填信息项,按空值处理:{'、'.join(cmap.missing)}")
    return outcome


def dimensions(total: int, bad_rows: Mapping[str, int]) -> dict[str, float]:
    """Each dimension's score: the share of rows (0–100) that break none of its rules."""
    if total == 0:
        return dict.fromkeys(DIMENSIONS, 0.0)
    return {dim: round(100.0 * (total - min(bad_rows.get(dim, 0), total)) / total, 2) for dim in DIMENSIONS}


def _write_quarantine(acc: _Accumulator, columns: list[str], workdir: Path, outcome: Outcome) -> None:
    if acc.rejected:
        rejected = pl.concat([f.select(*columns, ROW, REJECT_REASONS) for f in acc.rejected], how="vertical")
        outcome.rejected_path = workdir / "rejected.parquet"
        rejected.sort(ROW).rename({ROW: REJECT_ROW}).write_parquet(outcome.rejected_path, compression="zstd")
    if acc.errors:
        errors = pl.concat([f.with_columns(pl.col("row").cast(pl.Int64)) for f in acc.errors], how="vertical")
        outcome.errors_path = workdir / "errors.parquet"
        errors.sort("row").write_parquet(outcome.errors_path, compression="zstd")
