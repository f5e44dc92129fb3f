from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from govdata.db import new_session
from govdata.principal import CLI
from govdata.standards import service

standards_app = typer.Typer(help="数据标准(数据元、代码集)", no_args_is_help=True)


def load_and_report() -> None:
    with new_session() as db:
        changed = service.load_shipped(db)
    if any(changed.values()):
        Console().print(f"数据标准已更新:代码集 {changed['codesets']} 个,数据元 {changed['elements']} 个")
    else:
        Console().print("数据标准已是最新")


@standards_app.command("load")
def load() -> None:
    """载入随平台发布的代码集和数据元(可重复执行;管理员改过的不会被覆盖)。"""
    load_and_report()


@standards_app.command("export-codeset")
def export_codeset(name: str = typer.Argument(..., help="代码集名称,如 gb2261_1_sex"),
                   file: Path = typer.Argument(..., help="输出文件,扩展名 .csv 或 .xlsx 决定格式")) -> None:
    """把代码集导出为 CSV(UTF-8 带 BOM)或 XLSX。"""
    fmt = file.suffix.lower().lstrip(".") or "csv"
    with new_session() as db:
        file.write_bytes(service.export_codeset(db, name, fmt))
    Console().print(f"已导出 {name} 到 {file}")


@standards_app.command("import-codeset")
def import_codeset(name: str = typer.Argument(..., help="代码集名称(小写字母、数字和下划线)"),
                   file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV 或 XLSX 文件"),
                   title: str | None = typer.Option(None, help="标题(新建代码集时必填)"),
                   standard: str | None = typer.Option(None, help="标准编号,如 GB/T 2261.1-2003")) -> None:
    """导入代码集:表头 代码,名称[,上级代码];已有代码集的全部代码会被替换,任何一行有误则不导入。"""
    with new_session() as db:
        codeset = service.import_codeset(db, CLI, name, title, content=file.read_bytes(), filename=file.name,
                                         standard=standard)
        count = service.codeset_summary(db, codeset)["value_count"]
    Console().print(f"已导入代码集 {name}({count} 个代码)")
