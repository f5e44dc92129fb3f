"""``govdata catalog``: import and export the catalog workbook, rebuild the search index."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from govdata.db import new_session
from govdata.principal import CLI

catalog_app = typer.Typer(help="信息资源目录", no_args_is_help=True)
_PHASES = {"read": "读取工作簿", "validate": "逐行校验", "write": "写入目录"}


@catalog_app.command("import")
def import_workbook(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="编目工作簿(.xlsx)"),
    publish: bool = typer.Option(True, "--publish/--draft", help="导入后直接发布(默认),或只登记为各部门的草稿"),
) -> None:
    """批量导入编目工作簿:任何一行有误则不导入任何内容,并列出全部错误。"""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from govdata.catalog import workbook

    limits = workbook.Limits()
    with file.open("rb") as fh:  # never more than the limit (+1 byte, to tell that it was exceeded)
        data = fh.read(limits.max_bytes + 1)
    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        with new_session() as db:
            try:
                report = workbook.import_workbook(db, CLI, data, publish=publish, source=file.name,
                                                  limits=limits, progress=progress)
            except workbook.ImportFailed as exc:
                bar.stop()
                for line in workbook.error_lines(exc.details):
                    err.print(escape(line), soft_wrap=True, highlight=False)
                err.print(f"[red]错误[/red] {exc.code}: {escape(exc.message)}", soft_wrap=True, highlight=False)
                raise typer.Exit(2) from exc
    table = Table(title=f"已导入 {file.name}", show_header=True)
    table.add_column("提供方")
    table.add_column("信息资源", justify="right")
    for provider, count in sorted(report.providers.items()):
        table.add_row(escape(provider), f"{count:,}")
    out = Console()
    out.print(table)
    state = "已发布" if report.published else "草稿(待各部门提交审核)"
    seconds = sum(report.timings.values())
    out.print(f"共 {report.resources:,} 个信息资源、{report.items:,} 个信息项,{state};用时 {seconds:.1f} 秒")


@catalog_app.command("export")
def export_workbook(
    file: Path = typer.Argument(..., dir_okay=False, help="输出的编目工作簿(.xlsx)"),
    working: bool = typer.Option(False, "--working", help="导出全部工作副本(含草稿、待审核),而不是已发布目录"),
) -> None:
    """把已发布的目录(或全部工作副本)导出为编目工作簿,可修改后再导入。"""
    from govdata.catalog import workbook

    with new_session() as db:
        data = workbook.export_workbook(db, CLI, working=working)
    file.write_bytes(data)
    Console().print(f"已导出{'工作副本' if working else '已发布目录'}到 {file}")


@catalog_app.command("reindex")
def reindex() -> None:
    """重建已发布目录的全文检索索引。"""
    from govdata.catalog import search

    with new_session() as db:
        count = search.rebuild(db)
        db.commit()
    Console().print(f"已重建检索索引:{count:,} 个信息资源")
