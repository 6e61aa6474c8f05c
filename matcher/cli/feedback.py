"""``cxy feedback record|history``: outcome events one at a time (files go through ``cxy import outcomes``)."""

import json

import typer

from matcher.feedback.events import REASON_HELP

feedback_app = typer.Typer(help="Record what became of a proposal (append-only) and read a pair's history.",
                           no_args_is_help=True)


@feedback_app.command("record")
def record_event(ctx: typer.Context,
                 need_id: str = typer.Argument(..., help="The need."),
                 team_id: str = typer.Argument(..., help="The team."),
                 stage: str = typer.Argument(..., help="proposed, contacted, negotiating, contract_signed, rejected, "
                                             "declined (or 已推荐, 已联系, 洽谈中, 已签约, 未成功, 团队婉拒)."),
                 amount: str = typer.Option(None, "--amount", help="Contract amount in 万元 (contract_signed)."),
                 date: str = typer.Option(None, "--date", help="When it happened (default today)."),
                 reason: str = typer.Option(None, "--reason", help=REASON_HELP),
                 run_id: str = typer.Option(None, "--run", help="The recommendation run that proposed the pair, "
                                            "or a monthly report's run (the need's list in it)."),
                 correction: bool = typer.Option(False, "--correction", help="A correction: may take the pair's "
                                                 "stage backwards (未成功 after 已签约); still a new event."),
                 key: str = typer.Option(None, "--key", help="Idempotency key: a retry with it records once."),
                 rank: int = typer.Option(None, "--rank", help="Position in the list the enterprise saw "
                                          "(default: from --run)."),
                 ) -> None:
    """Append one outcome event; a correction is another event, never an edit."""
    from matcher.feedback.events import FeedbackError, record
    from matcher.store.db import write_session

    try:
        with write_session(ctx.obj.engine()) as session:
            result = record(session, need_id, team_id, stage, amount, date, reason, run_id, "cli", key, rank,
                            correction)
    except FeedbackError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None
    word = "已记录" if result.created else "此前已记录（同一幂等键），未新增"
    typer.echo(f"{word}: event {result.event['id']} {result.event['need_id']}–{result.event['team_id']} "
               f"{result.event['stage']} {result.event['date']}")


@feedback_app.command("history")
def history(ctx: typer.Context, need_id: str = typer.Argument(...), team_id: str = typer.Argument(...),
            fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """A need-team pair's events in order."""
    from matcher.feedback.events import pair_history
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        events = pair_history(session, need_id, team_id)
    if fmt == "json":
        typer.echo(json.dumps(events, ensure_ascii=False, indent=1))
        return
    if not events:
        typer.echo(f"{need_id}–{team_id}: no events")
    for e in events:
        extra = [f"{e['amount_wan']}万元" if e["amount_wan"] else "", e["reason_code"] or "", e["reason_text"] or ""]
        detail = " ".join(x for x in extra if x)
        typer.echo(f"{e['date']}  {e['stage']:<16} {detail}  (#{e['id']}, {e['source']})")


def funnel_command(ctx: typer.Context,
                   by: str = typer.Option(None, "--by", help="month, county, industry, institution or run_rank."),
                   fmt: str = typer.Option("table", "--format", help="table, csv or json.")) -> None:
    """Follow-up funnel: pairs reaching each stage, exits, conversion rates, signed amount."""
    from matcher.feedback.funnel import funnel_report
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        try:
            frame = funnel_report(session, by)
        except ValueError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
    if fmt == "json":
        typer.echo(frame.to_json(orient="records", force_ascii=False))
    elif fmt == "csv":
        typer.echo(frame.to_csv(index=False).rstrip("\n"))
    else:
        typer.echo(frame.to_string(index=False))


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
    app.command("funnel")(funnel_command)
