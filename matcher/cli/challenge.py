"""揭榜挂帅 commands: ``cxy challenge candidates ID`` and ``cxy challenge consortium ID``."""

import typer

from matcher.cli.match import FORMAT, LOCAL, TOP, _batch, resolve_ids, run

challenge_app = typer.Typer(help="揭榜挂帅：为榜单列出符合条件的团队，或提出联合体方案。",
                            no_args_is_help=True)


@challenge_app.command("candidates")
def candidates(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="一个或几个榜单编号或标题。"),
               top: int = TOP, fmt: str = FORMAT,
               show_ineligible: bool = typer.Option(False, "--show-ineligible",
                                                    help="同时列出实力强但不符合条件的团队，并说明是哪条条件。"),
               local: bool = LOCAL) -> None:
    """列出符合榜单条件的团队。

    最合适的在前，并标出每个团队的成果覆盖了哪些指标。
    """
    opts = {"top": top, "show_ineligible": show_ineligible}
    run(ctx, _batch("challenge", "challenge_candidates", resolve_ids(ctx, "challenge", ids), opts), fmt, local)


@challenge_app.command("consortium")
def consortium(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="一个或几个榜单编号或标题。"),
               max_teams: int = typer.Option(3, "--max-teams", help="联合体最多几个团队（1-5）。"),
               pool: int = typer.Option(20, "--pool", help="从排名前多少个符合条件的团队中挑选。"),
               fmt: str = FORMAT, local: bool = LOCAL) -> None:
    """提出联合体方案。

    由符合条件的团队组成，合起来覆盖尽可能多的指标，牵头团队在前。
    """
    opts = {"max_teams": max_teams, "pool": pool}
    run(ctx, _batch("challenge", "challenge_consortium", resolve_ids(ctx, "challenge", ids), opts), fmt, local)


def register(app: typer.Typer) -> None:
    app.add_typer(challenge_app, name="challenge")
