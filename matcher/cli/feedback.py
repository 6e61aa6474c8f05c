"""``cxy feedback record|history``: outcome events one at a time (files go through ``cxy import outcomes``)."""

import json

import typer

from matcher.cli.constants import REASON_HELP
from matcher.cli.render import BOM

feedback_app = typer.Typer(help="跟进登记：记录推荐后的进展，查看跟进经过。\n\n"
                                "记录只追加，从不改动已有记录。",
                           no_args_is_help=True)


@feedback_app.command("record")
def record_event(ctx: typer.Context,
                 need_id: str = typer.Argument(..., help="需求编号。"),
                 team_id: str = typer.Argument(..., help="团队编号。"),
                 stage: str = typer.Argument(..., help="进展：已推荐、已联系、洽谈中、已签约、未成功、团队婉拒"
                                             "（也可写 proposed、contacted、negotiating、contract_signed、"
                                             "rejected、declined）。"),
                 amount: str = typer.Option(None, "--amount", help="合同金额（万元），已签约时填。"),
                 date: str = typer.Option(None, "--date", help="发生日期（默认今天）。"),
                 reason: str = typer.Option(None, "--reason", help=REASON_HELP),
                 run_id: str = typer.Option(None, "--run", help="推荐这对配对的推荐记录编号，"
                                            "或月报的运行编号（取其中这条需求的清单）。"),
                 correction: bool = typer.Option(False, "--correction", help="更正：允许进展倒退"
                                                 "（如已签约后改为未成功）；仍作为一条新记录追加。"),
                 key: str = typer.Option(None, "--key", help="幂等键：带同一个键重复提交，只记一次。"),
                 rank: int = typer.Option(None, "--rank", help="企业看到的清单中这个团队排第几"
                                          "（默认从 --run 的推荐记录中取）。"),
                 ) -> None:
    """追加一条跟进记录；更正也是新追加一条，从不改动已有记录。"""
    from matcher.feedback.events import STAGE_WORDS, FeedbackError, record
    from matcher.store.db import write_session

    try:
        with write_session(ctx.obj.engine()) as session:
            result = record(session, need_id, team_id, stage, amount, date, reason, run_id, "cli", key, rank,
                            correction)
    except FeedbackError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None
    word = "已记录" if result.created else "此前已记录（同一幂等键），未新增"
    event = result.event
    typer.echo(f"{word}：记录 {event['id']}  需求 {event['need_id']}–团队 {event['team_id']}  "
               f"{STAGE_WORDS.get(event['stage'], event['stage'])}  {event['date']}")


@feedback_app.command("history")
def history(ctx: typer.Context, need_id: str = typer.Argument(..., help="需求编号。"),
            team_id: str = typer.Argument(..., help="团队编号。"),
            fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）或 json。")) -> None:
    """按时间顺序列出一对需求与团队的全部跟进记录。"""
    from matcher.feedback.events import STAGE_WORDS, pair_history
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        events = pair_history(session, need_id, team_id)
    if fmt == "json":
        typer.echo(json.dumps(events, ensure_ascii=False, indent=1))
        return
    if not events:
        typer.echo(f"需求 {need_id}–团队 {team_id}：还没有跟进记录")
    for e in events:
        extra = [f"{e['amount_wan']}万元" if e["amount_wan"] else "", e["reason_code"] or "", e["reason_text"] or ""]
        detail = " ".join(x for x in extra if x)
        typer.echo(f"{e['date']}  {STAGE_WORDS.get(e['stage'], e['stage'])}（{e['stage']}）  {detail}  "
                   f"（记录 {e['id']}，来源 {e['source']}）")


def funnel_command(ctx: typer.Context,
                   by: str = typer.Option(None, "--by", help="分组方式：month（月份）、county（县区）、"
                                          "industry（行业）、institution（院所）或 run_rank（推荐名次）。"),
                   fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）、csv 或 json。")) -> None:
    """跟进漏斗：到达各阶段的配对数、退出数、转化率和签约金额。"""
    from matcher.feedback.funnel import GROUPS, funnel_report
    from matcher.store.db import session_factory

    if by is not None and by not in GROUPS:  # checked here to word it in Chinese (funnel_report's is English)
        typer.echo(f"错误：不能按 {by!r} 分组；可用：{'、'.join(GROUPS)}", err=True)
        raise typer.Exit(2)
    with session_factory(ctx.obj.engine())() as session:
        frame = funnel_report(session, by)
    if fmt == "json":  # for programs: the field names stay as they are
        typer.echo(frame.to_json(orient="records", force_ascii=False))
    elif fmt == "csv":
        typer.echo(BOM + frame.rename(columns=funnel_headers).to_csv(index=False).rstrip("\n"))
    else:
        typer.echo(frame.rename(columns=funnel_headers).to_string(index=False))


GROUP_WORDS = {"group": "范围", "month": "月份", "county": "县区", "industry": "行业", "institution": "院所",
               "run_rank": "推荐名次"}


def funnel_headers(column: str) -> str:
    """The funnel's column as a clerk reads it: stages by their Chinese word, a→b as its conversion rate."""
    from matcher.feedback.events import STAGE_WORDS

    if "→" in column:
        start, end = column.split("→")
        return f"{STAGE_WORDS[start]}→{STAGE_WORDS[end]} 转化率"
    return {**GROUP_WORDS, **STAGE_WORDS, "signed_rate": "签约率", "signed_amount_wan": "签约金额（万元）"}.get(
        column, column)


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
    app.command("funnel")(funnel_command)
