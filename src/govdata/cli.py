"""The ``govdata`` command. Each domain contributes its own command group."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console

from govdata.accounts.cli import token_app, user_app
from govdata.audit.cli import audit_app
from govdata.catalog.cli import catalog_app
from govdata.demo.cli import demo_app
from govdata.errors import AppError
from govdata.exchange.cli import exchange_app
from govdata.ingest.cli import ingest, source_app
from govdata.onething.cli import onething_app
from govdata.opendata.cli import opendata_app
from govdata.orgs.cli import org_app
from govdata.standards.cli import load_and_report, standards_app

app = typer.Typer(help="govdata 政务数据治理与共享平台", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(standards_app, name="standards")
app.add_typer(catalog_app, name="catalog")
app.add_typer(source_app, name="source")
app.add_typer(audit_app, name="audit")
app.add_typer(exchange_app, name="exchange")
app.add_typer(onething_app, name="onething")
app.add_typer(opendata_app, name="opendata")
app.command("ingest")(ingest)
err = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库迁移到最新版本(对已有数据库安全,可重复执行)。"""
    from govdata import migrate

    before = migrate.current_revision()
    migrate.upgrade()
    after = migrate.current_revision()
    Console().print(f"数据库已是最新版本 {after}" if before == after else f"数据库已从 {before} 迁移到 {after}")
    load_and_report()  # every installation gets the shipped data standards (数据标准)


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="监听地址"), port: int = typer.Option(8000, help="端口"),
          workers: int = typer.Option(1, min=1, help="工作进程数"),
          reload: bool = typer.Option(False, help="开发用:代码变化时重启")) -> None:
    """启动 Web 服务。"""
    import uvicorn

    from govdata.config import get_settings

    uvicorn.run("govdata.app:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                proxy_headers=True, forwarded_allow_ips=get_settings().trusted_proxies, server_header=False)


@app.command()
def worker(once: bool = typer.Option(False, "--once", help="运行完当前排队的任务后退出")) -> None:
    """运行后台任务(数据归集、定时拉取);应用进程也会各自运行 GOVDATA_WORKER_THREADS 个。"""
    import time

    from govdata.db import new_session
    from govdata.jobs import service
    from govdata.jobs import worker as workers

    if once:
        with new_session() as db:
            service.run_schedules(db)
            count = service.run_pending(db, worker="cli")
        err.print(f"已运行 {count} 个任务")
        return
    running = workers.start(1)
    err.print("后台任务进程已启动(Ctrl+C 停止)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for w in running:
            w.stop()


def main() -> None:
    try:
        app()
    except AppError as exc:
        err.print(f"[red]错误[/red] {exc.code}: {exc.message}")
        sys.exit(2)
    except PydanticValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]错误[/red] validation_error: 参数 {'.'.join(map(str, e['loc']))} 无效({e['msg']})")
        sys.exit(2)


if __name__ == "__main__":
    main()
