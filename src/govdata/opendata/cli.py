"""``govdata opendata list|check|open|withdraw|refresh``: the open-data portal from the operator's console."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from govdata.db import new_session
from govdata.opendata import listing
from govdata.principal import CLI

opendata_app = typer.Typer(help="公共数据开放", no_args_is_help=True)


@opendata_app.command("list")
def list_candidates(as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """列出资源目录中向社会开放的资源及其在开放平台上的状态。"""
    with new_session() as db:
        rows = [{"code": r["code"], "name": r["name"], "provider": r["provider"], "state": r["state"],
                 "latest_version": r["latest_version"], "behind": r["behind"],
                 "served_version": r["dataset"].version_number if r["dataset"] else None}
                for r in listing.candidates(db, CLI)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title="开放数据")
    for column in ("代码", "名称", "部门", "状态", "最新版本", "开放版本"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["code"], r["name"], r["provider"], r["state"], str(r["latest_version"] or "—"),
                      str(r["served_version"] or "—"))
    Console().print(table)


def _run(code: str, settings_file: Path | None, open_it: bool) -> None:
    settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file else None
    with new_session() as db:
        check = listing.check(db, CLI, code, open_it=open_it, settings=settings)
        report = check.report
    console = Console()
    mark = "[green]✓[/green]" if check.passed else "[red]✗[/red]"
    k = report["k"]["found"]
    console.print(f"{mark} {code} 第 {check.version_number} 版:{check.outcome}"
                  + (f",k = {k}(要求 ≥ {check.k_threshold})" if k is not None else ""))
    for problem in report["problems"]:
        console.print(f"  · {problem['message']}")
    if not check.passed:
        raise typer.Exit(2)


SETTINGS_HELP = '开放设置 JSON 文件:{"treatments": {"id_number": "remove"}, "quasi_identifiers": [...], "k": 5}'


@opendata_app.command("check")
def check(code: str = typer.Argument(..., help="信息资源代码"),
          settings: Path = typer.Option(None, "--settings", help=SETTINGS_HELP)) -> None:
    """对最新发布版本做开放前检查(直接标识符、k 匿名),不开放。未通过时以状态 2 退出。"""
    _run(code, settings, open_it=False)


@opendata_app.command("open")
def open_dataset(code: str = typer.Argument(..., help="信息资源代码"),
                 settings: Path = typer.Option(None, "--settings", help=SETTINGS_HELP)) -> None:
    """检查并开放(或以最新版本更新已开放的数据集)。未通过时不开放,以状态 2 退出。"""
    _run(code, settings, open_it=True)


@opendata_app.command("withdraw")
def withdraw(code: str = typer.Argument(..., help="信息资源代码"),
             reason: str = typer.Option(..., "--reason", help="撤回原因(公开显示于管理页面)")) -> None:
    """从开放平台撤回。"""
    with new_session() as db:
        listing.withdraw(db, CLI, code, reason)
    Console().print(f"已撤回 {code}")


@opendata_app.command("refresh")
def refresh() -> None:
    """检查所有已开放数据集的新版本,通过的立即开放新版本。"""
    console = Console()
    with new_session() as db:
        for code, number in listing.behind(db):
            row = listing.refresh(db, code)
            console.print(f"{code} 第 {number} 版:{row.outcome if row else '未变化'}")
