"""``govdata ingest FILE --resource CODE`` and ``govdata source add|list|pull|delete``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from govdata.db import new_session
from govdata.errors import AppError
from govdata.principal import CLI

source_app = typer.Typer(help="部门数据源(数据库)", no_args_is_help=True)
_PHASES = {"validate": "读取并校验", "store": "写入版本", "pull": "拉取"}
_DIMENSIONS = (("completeness", "完整性"), ("validity", "有效性"), ("uniqueness", "唯一性"),
               ("consistency", "一致性"), ("timeliness", "及时性"), ("score", "综合得分"))


def _progress_bar(console: Console):
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def _run_with_progress(console: Console, quiet: bool, work) -> Any:
    if quiet:
        return work(None)
    with _progress_bar(console) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total or None)
            bar.update(tasks[phase], completed=done, total=total or None)

        return work(progress)


def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV / Excel / JSON / JSON Lines 文件"),
    resource: str = typer.Option(..., "--resource", "-r", help="信息资源代码"),
    encoding: str | None = typer.Option(None, "--encoding", "-e", help="文件编码(默认自动识别:UTF-8、GBK、GB18030)"),
    mode: str = typer.Option("replace", "--mode", help="replace 整体替换 / merge 按主键补充更正"),
    as_json: bool = typer.Option(False, "--json", help="只输出一个 JSON 对象"),
) -> None:
    """归集一个数据文件为信息资源的新版本:校验每一行,生成质量报告。"""
    from govdata.ingest import service

    err = Console(stderr=True)
    try:
        with new_session() as db:
            version = _run_with_progress(err, as_json, lambda progress: service.ingest_file(
                db, CLI, resource, file, encoding=encoding, mode=mode, progress=progress))
            result = service.summary(version)
    except AppError as exc:
        if as_json:
            print(json.dumps(exc.to_json(), ensure_ascii=False))
            sys.exit(2)
        raise
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    _print_report(Console(), result)


def _print_report(console: Console, r: dict[str, Any]) -> None:
    console.print(f"[bold]{escape(r['resource'])}[/bold] 第 {r['version']} 版({r['status']}):"
                  f"共 {r['rows_total']:,} 行,接收 {r['rows_accepted']:,} 行,拒绝 {r['rows_rejected']:,} 行")
    if r["errors_by_rule"]:
        table = Table("规则", "错误数", title="按规则统计的错误")
        for rule, count in r["errors_by_rule"].items():
            table.add_row(rule, f"{count:,}")
        console.print(table)
    scores = Table(*(label for _, label in _DIMENSIONS), title="质量评分(0–100)")
    scores.add_row(*(f"{r['quality'].get(key, 0):.1f}" for key, _ in _DIMENSIONS))
    console.print(scores)


@source_app.command("add")
def add(name: str = typer.Option(..., help="数据源名称"), resource: str = typer.Option(..., help="信息资源代码"),
        url: str = typer.Option(..., help="SQLAlchemy URL,如 mysql+pymysql://user@host:3306/db"),
        password: str | None = typer.Option(None, help="密码(也可写在 URL 中;只加密保存)"),
        table: str | None = typer.Option(None, help="表名"), query: str | None = typer.Option(None, help="只读查询"),
        mode: str = typer.Option("full", help="full 全量 / incremental 增量"),
        watermark: str | None = typer.Option(None, "--watermark-column", help="增量水位列"),
        schedule: str = typer.Option("cycle", help="cycle 按更新周期 / manual 仅手动 / cron 表达式"),
        test: bool = typer.Option(True, "--test/--no-test", help="登记前测试连接")) -> None:
    """登记部门数据库为信息资源的数据源。"""
    from govdata.ingest import sources

    with new_session() as db:
        source = sources.add_source(db, CLI, {"name": name, "resource": resource, "url": url, "password": password,
                                              "table": table, "query": query, "mode": mode,
                                              "watermark_column": watermark, "schedule": schedule}, test=test)
        Console().print(f"已登记数据源 #{source.id} {escape(source.name)}")


@source_app.command("list")
def list_(resource: str | None = typer.Option(None, help="只看该信息资源的数据源")) -> None:
    """列出数据源。"""
    from govdata.ingest import sources

    table = Table("ID", "名称", "信息资源", "连接", "表/查询", "方式", "调度", "上次拉取", "状态")
    with new_session() as db:
        for s in sources.list_sources(db, CLI, resource):
            d = sources.source_dict(s)
            table.add_row(str(d["id"]), escape(d["name"]), d["resource"], escape(d["url"]),
                          escape(d["table"] or (d["query"] or "")[:40]), d["mode"], d["schedule"],
                          d["last_pull_at"] or "-", d["last_status"] or "-")
    Console().print(table)


@source_app.command("pull")
def pull(ref: str = typer.Argument(..., help="数据源 ID 或名称"),
         as_json: bool = typer.Option(False, "--json", help="只输出一个 JSON 对象")) -> None:
    """立即从数据源拉取一次(同步执行),生成新版本。"""
    from govdata.ingest import sources

    err = Console(stderr=True)
    try:
        with new_session() as db:
            source = sources.get_source(db, CLI, ref)
            result = _run_with_progress(err, as_json,
                                        lambda progress: sources.pull(db, CLI, source, progress=progress))
    except AppError as exc:
        if as_json:
            print(json.dumps(exc.to_json(), ensure_ascii=False))
            sys.exit(2)
        raise
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    elif result.get("version") is None:
        Console().print("没有新的数据(增量水位之后无新行),未生成新版本")
    else:
        _print_report(Console(), result)


@source_app.command("delete")
def delete(ref: str = typer.Argument(..., help="数据源 ID 或名称")) -> None:
    """删除数据源(已生成的版本保留)。"""
    from govdata.ingest import sources

    with new_session() as db:
        sources.delete_source(db, CLI, ref)
    Console().print("已删除")
