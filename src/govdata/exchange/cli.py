"""``govdata exchange warm``: build the gateway's serving files now (after a deployment, before traffic)."""

from __future__ import annotations

import typer
from rich.console import Console

from govdata.db import new_session
from govdata.exchange import serving

exchange_app = typer.Typer(help="交换网关", no_args_is_help=True)


@exchange_app.command("warm")
def warm() -> None:
    """为每个信息资源的最新已发布版本建立网关查询文件(已存在的跳过)。"""
    console = Console(stderr=True)
    with console.status("正在建立网关查询文件…"), new_session() as db:
        built = serving.warm(db)
    console.print(f"已建立 {built} 个网关查询文件(位于 {serving.serving_root()})")
