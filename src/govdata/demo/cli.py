from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from govdata.db import new_session
from govdata.demo import families, service

demo_app = typer.Typer(help="演示数据(柳州)", no_args_is_help=True)


@demo_app.command("load")
def load() -> None:
    """加载柳州演示数据(可重复执行,只补齐缺少的部分),并打印演示账号。"""
    console = Console()
    with new_session() as db, console.status("正在加载柳州演示数据…") as status:
        service.load(db, progress=lambda name: status.update(f"已创建 {name}"), report=console.print)
    show_accounts()


@demo_app.command("accounts")
def show_accounts() -> None:
    """打印演示账号及其密码(保存在 var/demo-accounts.txt)。"""
    table = Table(title="演示账号 (http://127.0.0.1:8000/login)")
    for column in ("用户名", "角色", "密码"):
        table.add_column(column)
    for username, role, password in service.saved_accounts():
        table.add_row(username, role, password)
    Console().print(table)


@demo_app.command("applicants")
def show_applicants(package: str = typer.Argument(..., help="套餐 key,如 newborn、school_enrolment、company_startup"),
                    limit: int = typer.Option(10, min=1, max=500, help="最多列出几人")) -> None:
    """打印演示数据中可以办理该一件事套餐的申请人(JSON 列表:id_number、name、note、inputs)。"""
    with new_session() as db:
        typer.echo(json.dumps(families.samples(db, package, limit), ensure_ascii=False, indent=2))

