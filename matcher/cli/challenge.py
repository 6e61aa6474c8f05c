"""揭榜挂帅 commands: ``cxy challenge candidates ID`` and ``cxy challenge consortium ID``."""

import typer

from matcher.cli.match import FORMAT, TOP, _run, resolve_ids

challenge_app = typer.Typer(help="Eligible teams and consortium proposals for 揭榜挂帅 challenges.",
                            no_args_is_help=True)


@challenge_app.command("candidates")
def candidates(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="One or more challenge ids or titles."),
               top: int = TOP, fmt: str = FORMAT,
               show_ineligible: bool = typer.Option(False, "--show-ineligible",
                                                    help="Also list strong teams a rule excludes, with the rule.")
               ) -> None:
    """Eligible teams, best first, with the targets each one's evidence covers."""
    from matcher.challenges.service import ChallengeOptions, ChallengeService

    opts = ChallengeOptions(top=top, show_ineligible=show_ineligible)
    _run(ctx, [lambda s, i=i: ChallengeService(s).candidates(i, opts) for i in resolve_ids(ctx, "challenge", ids)], fmt)


@challenge_app.command("consortium")
def consortium(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="One or more challenge ids or titles."),
               max_teams: int = typer.Option(3, "--max-teams", help="At most this many teams (1-5)."),
               pool: int = typer.Option(20, "--pool", help="Chosen among this many best eligible candidates."),
               fmt: str = FORMAT) -> None:
    """A consortium (联合体) of eligible teams that together cover the most targets, lead first."""
    from matcher.challenges.service import ChallengeOptions, ChallengeService

    opts = ChallengeOptions(max_teams=max_teams, pool=pool)
    _run(ctx, [lambda s, i=i: ChallengeService(s).consortium(i, opts) for i in resolve_ids(ctx, "challenge", ids)], fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(challenge_app, name="challenge")
