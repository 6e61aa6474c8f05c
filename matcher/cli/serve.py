"""Service commands: ``cxy serve`` (the HTTP API) and ``cxy key create|list|revoke`` (its API keys)."""

import typer

key_app = typer.Typer(help="API keys for the HTTP service (roles: bureau, researcher, admin).", no_args_is_help=True)


def serve(ctx: typer.Context, host: str = typer.Option("127.0.0.1", "--host"),
          port: int = typer.Option(8000, "--port"),
          workers: int = typer.Option(1, "--workers", help="Processes; each loads the model and indexes.")) -> None:
    """Run the HTTP API (OpenAPI docs at /docs). The model and indexes load once, before the first request."""
    import os

    import uvicorn

    os.environ["CXY_DB"] = ctx.obj.db_url  # the app factory reads it (also in worker processes)
    typer.echo(f"cxy-matcher 工作台：http://{host}:{port}/  "
               f"（接口文档 http://{host}:{port}/docs；数据库 {ctx.obj.db_url}）")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


@key_app.command("create")
def key_create(ctx: typer.Context, role: str = typer.Option(..., "--role", help="bureau, researcher or admin."),
               name: str = typer.Option(..., "--name", help="Who the key is for."),
               team: str = typer.Option(None, "--team", help="The researcher's team id.")) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from api.keys import create_key
    from matcher.accounts.audit import Actor, record_audit
    from matcher.store import models
    from matcher.store.db import write_session

    engine = ctx.obj.engine()
    try:
        with write_session(engine) as session:
            if team and session.get(models.Team, team) is None:
                raise ValueError(f"no team with id {team!r}")
            row, key = create_key(session, role, name, team)
            key_id = row.id
            record_audit(session, Actor.cli(), "key.create", name, {"key_id": key_id, "role": role, "team_id": team})
    except ValueError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"key {key_id} ({role}{', team ' + team if team else ''}) for {name}:\n{key}\n"
               "Send it as the X-API-Key header. It is not shown again.")


@key_app.command("list")
def key_list(ctx: typer.Context) -> None:
    from sqlalchemy import select

    from matcher.store import models
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        for row in session.scalars(select(models.ApiKey).order_by(models.ApiKey.id)):
            state = "revoked" if row.revoked else "active"
            typer.echo(f"{row.id:>4}  {row.role:<10} {row.team_id or '-':<8} {state:<8} {row.name}")


@key_app.command("revoke")
def key_revoke(ctx: typer.Context, key_id: int = typer.Argument(...)) -> None:
    from matcher.accounts.audit import Actor, record_audit
    from matcher.store import models
    from matcher.store.db import write_session

    with write_session(ctx.obj.engine()) as session:
        row = session.get(models.ApiKey, key_id)
        if row is None:
            typer.echo(f"Error: no key with id {key_id}", err=True)
            raise typer.Exit(1)
        row.revoked = True
        record_audit(session, Actor.cli(), "key.revoke", row.name, {"key_id": key_id})
    typer.echo(f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(key_app, name="key")
