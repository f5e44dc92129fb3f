from __future__ import annotations

import typer
from rich.console import Console
from rich.tree import Tree

from govdata.db import new_session
from govdata.orgs import service
from govdata.orgs.schemas import OrgCreate
from govdata.principal import CLI

org_app = typer.Typer(help="组织机构", no_args_is_help=True)


@org_app.command("create")
def create(code: str = typer.Option(..., help="机构编码"), name: str = typer.Option(..., help="机构名称"),
           level: str = typer.Option(..., help="city | county | township"),
           region: str = typer.Option(..., help="GB/T 2260 行政区划代码"),
           parent: str | None = typer.Option(None, help="上级机构编码"),
           uscc: str | None = typer.Option(None, help="统一社会信用代码"),
           org_type: str = typer.Option("department", "--type", help="government | department | institution"),
           ) -> None:
    """新建机构。"""
    data = OrgCreate(code=code, name=name, level=level, type=org_type, region_code=region, parent=parent, uscc=uscc)
    with new_session() as db:
        org = service.create(db, CLI, data)
        Console().print(f"已创建机构 {org.code} {org.name}")


@org_app.command("tree")
def show_tree() -> None:
    """显示机构树。"""
    with new_session() as db:
        roots = service.tree(db)
    top = Tree("机构")

    def add(node: Tree, items: list[dict]) -> None:
        for item in items:
            add(node.add(f"{item['name']} [dim]{item['code']} {item['level']}[/dim]"), item["children"])

    add(top, roots)
    Console().print(top)
