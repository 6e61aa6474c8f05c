"""Account commands for the console: ``cxy user create|passwd|disable|enable|list``. Every change is
recorded in the audit log as made from the command line."""

import sys

import typer

user_app = typer.Typer(help="工作台账号（角色：bureau 科技局工作人员、researcher 科研人员、admin 管理员）。",
                       no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    while True:  # typer's own confirmation_prompt says a mismatch in English, so the two are compared here
        password = typer.prompt("密码", hide_input=True)
        if typer.prompt("再输入一次密码", hide_input=True) == password:
            return password
        typer.echo("两次输入的密码不一致，请重新输入。", err=True)


def _run(ctx: typer.Context, change) -> None:
    from matcher.accounts.audit import Actor
    from matcher.accounts.users import AccountError
    from matcher.store.db import write_session

    try:
        with write_session(ctx.obj.engine()) as session:
            change(session, Actor.cli())
    except AccountError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None


@user_app.command("create")
def user_create(ctx: typer.Context, name: str = typer.Argument(..., help="登录用的账号名。"),
                role: str = typer.Option(..., "--role", help="bureau、researcher 或 admin。"),
                team: str = typer.Option(None, "--team", help="科研人员所属团队的编号。"),
                display_name: str = typer.Option(None, "--display-name", help="页面上显示的姓名。"),
                password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码（一行）。"),
                ) -> None:
    """新建账号；密码从标准输入读取（--password-stdin）或提示输入。"""
    from matcher.accounts.users import ROLES, create_user

    password = _read_password(password_stdin)
    _run(ctx, lambda s, actor: create_user(s, name, role, password, actor, team, display_name))
    typer.echo(f"已新建账号 {name}（{ROLES[role]}{'，团队 ' + team if team else ''}）")


@user_app.command("passwd")
def user_passwd(ctx: typer.Context, name: str = typer.Argument(..., help="账号名。"),
                password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取新密码（一行）。")
                ) -> None:
    """修改账号的密码（该账号已登录的浏览器全部退出）。"""
    from matcher.accounts.users import set_password

    password = _read_password(password_stdin)
    _run(ctx, lambda s, actor: set_password(s, name, password, actor))
    typer.echo(f"已修改 {name} 的密码")


@user_app.command("disable")
def user_disable(ctx: typer.Context, name: str = typer.Argument(..., help="账号名。")) -> None:
    """停用账号：不能再登录，已登录的浏览器立即退出。"""
    from matcher.accounts.users import set_disabled

    _run(ctx, lambda s, actor: set_disabled(s, name, True, actor))
    typer.echo(f"已停用账号 {name}")


@user_app.command("enable")
def user_enable(ctx: typer.Context, name: str = typer.Argument(..., help="账号名。")) -> None:
    """重新启用已停用的账号。"""
    from matcher.accounts.users import set_disabled

    _run(ctx, lambda s, actor: set_disabled(s, name, False, actor))
    typer.echo(f"已启用账号 {name}")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """列出所有账号。"""
    from sqlalchemy import select

    from matcher.accounts.users import ROLES
    from matcher.store import models
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        for user in session.scalars(select(models.User).order_by(models.User.name)):
            state = "已停用" if user.disabled else "正常"
            typer.echo(f"{user.name:<16} {ROLES.get(user.role, user.role):<8} {user.team_id or '-':<8} {state}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
