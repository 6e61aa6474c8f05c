"""Service commands: ``cxy serve`` (the HTTP API) and ``cxy key create|list|revoke`` (its API keys)."""

import typer

key_app = typer.Typer(help="接口服务的 API 密钥（角色：bureau 科技局、researcher 科研人员、admin 管理员）。",
                      no_args_is_help=True)
ROLE_WORDS = {"bureau": "科技局", "researcher": "科研人员", "admin": "管理员"}


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="监听的地址（默认只在本机可访问）。"),
    port: int = typer.Option(8000, "--port", help="监听的端口。"),
    workers: int = typer.Option(1, "--workers", help="进程数；每个进程各自加载模型和索引。"),
) -> None:
    """启动工作台和 HTTP 接口（接口文档在 /docs）。

    模型和索引在第一个请求之前加载一次。"""
    import os

    import uvicorn

    from matcher.local_server import advertise

    _check_index(ctx.obj.db_url)
    os.environ["CXY_DB"] = ctx.obj.db_url  # the app factory reads it (also in worker processes)
    typer.echo(
        f"cxy-matcher 工作台：http://{host}:{port}/  （接口文档 http://{host}:{port}/docs；数据库 {ctx.obj.db_url}）"
    )
    with advertise(ctx.obj.db_url, host, port):  # so that `cxy match …` on this database asks this server
        uvicorn.run("api.local_cli:create_served_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")


def _check_index(db_url: str) -> None:
    """Refuse to start on a damaged index with the file and the repair (uvicorn would only say "Application
    startup failed", or requests would fail later); sizes only, so start-up stays fast."""
    from matcher.index_location import IndexDamaged, IndexNotBuilt, index_dir, verify_index

    try:
        verify_index(index_dir(db_url))
    except IndexDamaged as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None
    except IndexNotBuilt as exc:  # the service runs; match requests answer 503 until an index is built
        typer.echo(f"提示：{exc}", err=True)


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help="角色：bureau（科技局）、researcher（科研人员）或 admin（管理员）。"),
    name: str = typer.Option(..., "--name", help="密钥发给谁（单位或人名）。"),
    team: str = typer.Option(None, "--team", help="科研人员所在团队的编号（researcher 必填）。"),
) -> None:
    """新建一个密钥并只显示这一次（数据库只保存它的哈希）。"""
    from api.keys import create_key
    from matcher.accounts.audit import Actor, record_audit
    from matcher.store import models
    from matcher.store.db import write_session

    engine = ctx.obj.engine()
    try:
        with write_session(engine) as session:
            if team and session.get(models.Team, team) is None:
                raise ValueError(f"没有编号为 {team!r} 的团队")
            row, key = create_key(session, role, name, team)
            key_id = row.id
            record_audit(session, Actor.cli(), "key.create", name, {"key_id": key_id, "role": role, "team_id": team})
    except ValueError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"密钥 {key_id} （{ROLE_WORDS.get(role, role)}{'，团队 ' + team if team else ''}）发给 {name}：\n{key}\n"
        "调用接口时放在请求头 X-API-Key 中。它不会再次显示，请现在妥善保存。"
    )


@key_app.command("list")
def key_list(ctx: typer.Context) -> None:
    """列出所有密钥：编号、角色、团队、是否已停用、发给谁。"""
    from sqlalchemy import select

    from matcher.store import models
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        for row in session.scalars(select(models.ApiKey).order_by(models.ApiKey.id)):
            state = "已停用" if row.revoked else "有效"
            typer.echo(f"{row.id:>4}  {row.role:<10} {row.team_id or '-':<8} {state:<8} {row.name}")


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context, key_id: int = typer.Argument(..., help="要停用的密钥编号（见 cxy key list）。")
) -> None:
    """停用一个密钥：之后用它的请求都会被拒绝（401）。"""
    from matcher.accounts.audit import Actor, record_audit
    from matcher.store import models
    from matcher.store.db import write_session

    with write_session(ctx.obj.engine()) as session:
        row = session.get(models.ApiKey, key_id)
        if row is None:
            typer.echo(f"错误：没有编号为 {key_id} 的密钥", err=True)
            raise typer.Exit(1)
        row.revoked = True
        record_audit(session, Actor.cli(), "key.revoke", row.name, {"key_id": key_id})
    typer.echo(f"密钥 {key_id} 已停用")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(key_app, name="key")
