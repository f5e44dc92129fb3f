"""``govdata audit verify | proof | check-proof | public-key | checkpoint | archive``.

Exit status: 0 when all is well; 1 when verify finds a problem, when ``proof`` finds no such record, when
``check-proof`` rejects the proof; 2 for usage and configuration errors (as every govdata command).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from govdata.audit import retention  # noqa: F401 (registers the archiving job for `govdata worker`)
from govdata.config import local_tz
from govdata.db import new_session
from govdata.errors import AppError

audit_app = typer.Typer(help="审计追溯(防篡改审计链)", no_args_is_help=True)


@audit_app.command("verify")
def verify(public_key: Path | None = typer.Option(
               None, "--public-key", exists=True, dir_okay=False,
               help="只用此公钥(PEM)核验,如审计员在数据库副本上核验;不核对记录 MAC"),
           as_json: bool = typer.Option(False, "--json", help="只输出一个 JSON 对象"),
           quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度条"),
           workers: int | None = typer.Option(None, "--workers", min=1,
                                              help="并行核验的进程数(默认:记录较多时每个 CPU 一个)")) -> None:
    """核验整条审计链:每条记录的哈希与链接、每个检查点的默克尔根与签名。发现问题时退出码为 1。"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from govdata.audit import service

    err = Console(stderr=True)
    pems = [public_key.read_text()] if public_key else None
    with new_session() as db:
        if quiet or as_json:
            report = service.verify(db, public_keys=pems, workers=workers)
        else:
            # No auto-refresh: its thread would keep verify from forking its worker processes.
            with Progress(TextColumn("核验审计记录"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=True, auto_refresh=False) as bar:
                task = bar.add_task("verify", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)
                    bar.refresh()

                report = service.verify(db, public_keys=pems, progress=progress, workers=workers)
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        out = Console(highlight=False)
        span = f"#{report.archived_through + 1}–#{report.last_id}" if report.last_id else "-"
        out.print(f"审计记录 {report.records:,} 条({span}),检查点 {report.checkpoints:,} 个,"
                  f"尚未签入检查点 {report.unsealed:,} 条;用时 {report.seconds:.2f} 秒({report.rate:,.0f} 条/秒)")
        if report.archived_through:
            out.print(f"记录 #1–#{report.archived_through} 已归档(检查点保留)")
        if not report.macs_checked:
            out.print("只用公钥核验:未核对记录 MAC(链尾尚未签入检查点的记录无法确认由平台写入)")
        if report.ok:
            out.print("[green]审计链完整[/green]")
        else:
            out.print(f"[red]发现 {len(report.problems)} 处问题[/red]")
            for problem in report.problems:
                print(problem.line())
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("proof")
def proof(request_id: str = typer.Argument(..., help="请求编号(request id)"),
          archive: Path | None = typer.Option(None, "--archive", file_okay=False,
                                              help="已归档记录所在的归档目录(默认:数据存储中的 audit/)")) -> None:
    """输出一条审计记录的存在性证明(JSON),可离线用 check-proof 核验。"""
    from govdata.audit import service

    with new_session() as db:
        try:
            result = service.proof(db, request_id, archive=service.archive_target(archive))
        except AppError as exc:
            if exc.code != "audit_record_not_found":
                raise
            Console(stderr=True).print(f"[red]错误[/red] {exc.code}: {escape(exc.message)}")
            raise typer.Exit(1) from None
    print(json.dumps(result, ensure_ascii=False, indent=2))


@audit_app.command("check-proof")
def check_proof(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="proof 命令输出的 JSON 文件"),
                public_key: Path = typer.Option(..., "--public-key", exists=True, dir_okay=False,
                                                help="平台公钥(PEM,由 public-key 命令输出)")) -> None:
    """离线核验存在性证明(不连接数据库)。有效退出码 0,无效退出码 1 并说明原因。"""
    from govdata.audit import service

    err = Console(stderr=True, highlight=False)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise AppError("证明应为 JSON 对象", code="proof_invalid")
        service.check_proof(data, public_key.read_text())
    except (ValueError, AppError) as exc:
        reason = exc.message if isinstance(exc, AppError) else f"证明不是有效的 JSON:{exc}"
        err.print(f"[red]证明无效[/red]:{escape(reason)}")
        raise typer.Exit(1) from None
    record = data["record"]
    Console(highlight=False).print(
        f"[green]证明有效[/green]:记录 #{data['record_id']}(请求 {escape(record['request_id'])},{record['at']})"
        f"包含在检查点 #{data['checkpoint']['checkpoint']} 中,签名密钥 {data['checkpoint']['key_id'][:16]}…")


@audit_app.command("public-key")
def public_key() -> None:
    """输出平台审计签名公钥(PEM)。"""
    from govdata.audit import keys

    sys.stdout.write(keys.public_key_pem())


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """立即把尚未签入检查点的记录签入检查点。"""
    from govdata.audit import service

    with new_session() as db:
        cp = service.checkpoint(db)
    console = Console(highlight=False)
    if cp is None:
        console.print("没有待签入的记录")
    else:
        console.print(f"检查点 #{cp.id}:记录 #{cp.first_id}–#{cp.last_id},默克尔根 {cp.merkle_root.hex()}")


@audit_app.command("archive")
def archive(before: datetime = typer.Option(..., "--before", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
                                            help="归档此时间之前的记录,如 2026-01-01(按本地时区解读)"),
            to: Path | None = typer.Option(None, "--to", file_okay=False,
                                           help="归档目录(默认:数据存储中的 audit/)")) -> None:
    """把早于指定时间、已签入检查点的记录移到归档文件(JSON Lines,每条附存在性证明),检查点保留。"""
    from govdata.audit import service

    when = before if before.tzinfo else before.replace(tzinfo=local_tz())
    target = service.archive_target(to)
    with new_session() as db:
        files = service.archive(db, when, target)
    Console(highlight=False).print(f"已归档 {len(files)} 个检查点的记录到 {escape(target.describe())}" if files
                                   else "没有可归档的记录")
