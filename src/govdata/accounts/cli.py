from __future__ import annotations

import typer
from rich.console import Console

from govdata.accounts import service
from govdata.accounts.schemas import CredentialCreate, UserCreate
from govdata.db import new_session
from govdata.principal import CLI

user_app = typer.Typer(help="人员", no_args_is_help=True)
token_app = typer.Typer(help="系统凭证", no_args_is_help=True)


@user_app.command("create")
def create_user(username: str = typer.Option(...), password: str = typer.Option(..., help="初始密码"),
                org: str = typer.Option(..., help="所属机构编码"),
                role: str = typer.Option(..., help="bureau_admin | dept_admin | dept_staff | auditor"),
                full_name: str | None = typer.Option(None, help="姓名(默认同用户名)")) -> None:
    """新建人员。"""
    data = UserCreate(username=username, password=password, org=org, role=role, full_name=full_name or username)
    with new_session() as db:
        user = service.create_user(db, CLI, data)
        Console().print(f"已创建用户 {user.username}({user.role})")


@token_app.command("create")
def create_token(org: str = typer.Option(..., help="机构编码"), name: str = typer.Option(..., help="系统名称"),
                 expires_days: int | None = typer.Option(None, help="有效天数")) -> None:
    """为一个部门系统签发凭证。凭证只打印这一次。"""
    with new_session() as db:
        cred, token = service.create_credential(db, CLI, CredentialCreate(org=org, name=name,
                                                                           expires_days=expires_days))
    Console(stderr=True).print(f"已为 {org} 的系统「{name}」签发凭证 #{cred.id};请立即保存,它不会再次显示:")
    print(token)


@token_app.command("list")
def list_tokens(org: str | None = typer.Option(None)) -> None:
    """列出凭证(不含明文)。"""
    with new_session() as db:
        for cred in service.list_credentials(db, CLI, org):
            d = service.credential_dict(db, cred)
            Console().print(f"#{d['id']} {d['org']} {d['name']} {d['token_prefix']}… {d['status']}")


@token_app.command("revoke")
def revoke_token(credential_id: int) -> None:
    """吊销凭证。"""
    with new_session() as db:
        service.revoke_credential(db, CLI, credential_id)
    Console().print(f"凭证 #{credential_id} 已吊销")
