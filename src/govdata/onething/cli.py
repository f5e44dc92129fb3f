"""``govdata onething validate|load|list``: check and load package files (一件事套餐)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from govdata.db import new_session
from govdata.onething import package as pkg
from govdata.onething import packages
from govdata.principal import CLI

onething_app = typer.Typer(help="一件事套餐", no_args_is_help=True)


@onething_app.command("validate")
def validate(file: Path = typer.Argument(..., help="套餐文件(YAML);flow 指定的 BPMN 文件须在同一目录"),
             catalog: bool = typer.Option(True, help="同时核对目录中的信息资源、信息项和部门(需要数据库)")) -> None:
    """检查套餐文件:格式、表达式、流程(BPMN),以及引用的信息资源和部门。有误时列出全部问题并以非零状态退出。"""
    console = Console()
    try:
        parsed = pkg.read_file(file)
        if catalog:
            with new_session() as db:
                packages.validate(db, parsed)
    except pkg.PackageInvalid as exc:
        for problem in (exc.details or {}).get("problems", [exc.message]):
            console.print(f"[red]✗[/red] {problem}")
        raise typer.Exit(2) from exc
    spec = parsed.spec
    console.print(f"[green]✓[/green] {spec.key} {spec.name}:{len(spec.matters)} 个事项,{len(spec.evidence)} 项证明")
    for m in spec.matters:
        needs = "、".join(parsed.needs[m.key]) or "无"
        console.print(f"  · {m.name}({m.department},{m.deadline_days} 个工作日;前置:{needs})")


@onething_app.command("load")
def load(files: list[Path] = typer.Argument(None, help="套餐文件;不给则载入随平台发布的套餐")) -> None:
    """载入套餐文件为新版本(内容未变则不新增版本);正在办理的办件仍按原版本办理。"""
    console = Console()
    with new_session() as db:
        results = ([packages.load_file(db, CLI, f) for f in files] if files else packages.load_shipped(db, CLI))
    for row, created in results:
        console.print(f"{row.key} {row.name} 第 {row.version} 版" + ("(新版本)" if created else "(未变化)"))


@onething_app.command("list")
def list_packages(as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """列出可办理的套餐及其当前版本。"""
    with new_session() as db:
        rows = [packages.summary(db, row, p) for row, p in packages.list_current(db)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title="一件事套餐")
    for column in ("key", "名称", "版本", "事项", "牵头部门"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["key"], r["name"], str(r["version"]), str(len(r["matters"])), r["operator"]["name"])
    Console().print(table)
