"""``cxy report monthly``: the month's capacity-aware proposals for every key enterprise, stored as a
run and written as a workbook and a page; ``cxy report list``: the stored runs."""

import json
from pathlib import Path

import typer

from matcher.cluster import RAY_ADDRESS_HELP, WORKERS_HELP, ClusterUnavailable, check_workers

report_app = typer.Typer(help="月报：每月为重点企业批量推荐团队，生成可转发的表格和网页。", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(code)


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"


@report_app.command("monthly")
def monthly(ctx: typer.Context,
            month: str = typer.Option(..., "--month", help="月报的月份，写成 YYYY-MM，如 2026-11。"),
            out: Path = typer.Option(Path("reports"), "--out", help="月报表格（.xlsx）和网页（.html）存放的文件夹。"),
            force: bool = typer.Option(False, "--force", help="即使本月已有月报，也按当前数据重新推荐并另存一次"
                                       "（默认沿用已保存的推荐）。"),
            top: int = typer.Option(5, "--top", help="每条在办需求推荐几个团队。"),
            min_score: float = typer.Option(0.4, "--min-score", help="推荐的最低匹配度（0 到 1 之间）。"),
            repropose_after: int = typer.Option(180, "--repropose-after", help="推荐过但没有进展的配对，"
                                                "隔多少天后可以再次推荐。"),
            count_load: bool = typer.Option(False, "--count-load", help="团队本月可承接的名额，扣除它手上"
                                            "尚未结束的推荐和近期签约。"),
            fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）或 json。"),
            workers: int = typer.Option(1, "--workers", help=WORKERS_HELP),
            ray_address: str = typer.Option(None, "--ray-address", help=RAY_ADDRESS_HELP)) -> None:
    """生成某月的月报。

    为每家重点企业（没有标记重点企业时为全部企业）的每条在办需求推荐团队，不超过各团队的承接能力。

    在 --out 文件夹里写出 monthly-report-YYYY-MM.xlsx 和 .html。"""
    from embeddings.dense_index import IndexModelMismatch
    from matcher.matching.search import IndexNotBuilt
    from matcher.matching.service import MatchService
    from matcher.reports.files import write_report
    from matcher.reports.month import Month
    from matcher.reports.monthly import MonthlyOptions, NotReady, run_monthly

    if fmt not in ("table", "json"):
        _fail(f"不认识的输出格式 {fmt!r}；可用：table、json", 2)
    try:
        the_month = Month.parse(month)
    except ValueError:  # worded here for the --month option: Month.parse's own message is English
        _fail(f"月份 {month!r} 写法不对：请写成 YYYY-MM（年-月），如 2026-11", 2)
    try:
        opts = MonthlyOptions(top=top, min_score=min_score, repropose_after_days=repropose_after,
                              count_load=count_load).check()
    except ValueError as exc:
        _fail(str(exc), 2)
    try:
        check_workers(workers)  # before any work: say at once what to install
    except ValueError as exc:
        _fail(str(exc), 2)
    except ClusterUnavailable as exc:
        _fail(str(exc))
    rank_needs = None
    if workers > 1:  # the needs ranked by Ray actors (matcher.cluster.rank); the same proposals as serially
        from matcher.cluster.rank import NeedRanker

        rank_needs = NeedRanker(workers, ray_address)
    engine = ctx.obj.engine()
    service = MatchService(engine, store_runs=False)
    try:
        outcome = run_monthly(engine, service, the_month, opts, force=force, rank_needs=rank_needs)
    except (IndexNotBuilt, IndexModelMismatch, NotReady, ClusterUnavailable) as exc:
        _fail(str(exc))
    finally:
        if rank_needs is not None:
            rank_needs.close()  # the actors, and a local cluster started for them
    data, workbook, page = write_report(engine, outcome.report_id, out)
    notes = []
    if outcome.reused:
        notes.append(f"{the_month} 已有运行，沿用其推荐（不重复保存）；跟进数据按当前登记更新。")
        if outcome.data_changed:
            notes.append("数据或参数自该运行以来有变化；如需按新数据重新推荐，请加 --force（另存一次新运行）。")
    fit, current = data.fit, data.coverage["current"]
    if fmt == "json":
        typer.echo(json.dumps({"report_id": outcome.report_id, "reused": outcome.reused,
                               "data_changed": outcome.data_changed, "meta": data.meta, "fit": fit,
                               "coverage": data.coverage, "files": [str(workbook), str(page)], "notes": notes},
                              ensure_ascii=False, indent=1, default=str))
        return
    meta = data.meta
    typer.echo(f"{meta['region']} {meta['label']} 月报  运行 {outcome.report_id}"
               f"{'（沿用）' if outcome.reused else '（新运行）'}")
    typer.echo(f"企业 {meta['enterprises']} 家（{'重点企业' if meta['key_flagged'] else '未标记重点企业：全部'}），"
               f"开放需求 {meta['open_needs']} 项，其中 {meta['needs_with_proposals']} 项有推荐；"
               f"推荐 {current['proposals']} 条")
    typer.echo(f"承接能力的代价：总匹配度 {fit['constrained']:.2f}，不限能力时 {fit['unconstrained']:.2f}，"
               f"损失 {_percent(fit['cost_share'])}（{fit['teams_over_capacity']} 个团队超出本月承接能力）")
    change, labels = data.coverage["change"], data.coverage["labels"]
    typer.echo("覆盖与公平：" + "；".join(
        f"{label} {current[k]:.3f}" if k == "gini" else f"{label} {_percent(current[k])}"
        for k, label in data.coverage["labels"].items())
        + ("" if all(v is None for v in change.values()) else "（较上月：" + "，".join(
            f"{labels[k]} {v:+.3f}" if k == "gini" else f"{labels[k]} {v * 100:+.1f} 个百分点"
            for k, v in change.items() if v is not None) + "）"))
    for note in notes:
        typer.echo(note)
    typer.echo(f"已写出：{workbook}\n        {page}")


@report_app.command("list")
def list_runs(ctx: typer.Context,
              fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）或 json。")) -> None:
    """已保存的月报运行记录，最新的在前。"""
    from sqlalchemy import select

    from matcher.store import models
    from matcher.store.db import session_factory

    r = models.ReportRun
    with session_factory(ctx.obj.engine())() as session:
        rows = [{"report_id": x.id, "month": x.month, "created_at": x.created_at.isoformat(timespec="seconds"),
                 "proposals": x.summary["coverage"]["proposals"], "fit_cost": x.summary["fit"]["cost_share"],
                 "params": x.params}
                for x in session.scalars(select(r).order_by(r.created_at.desc(), r.id))]
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("还没有月报（生成月报：cxy report monthly --month YYYY-MM）")
    for x in rows:
        typer.echo(f"{x['month']}  {x['report_id']}  {x['created_at']}  推荐 {x['proposals']} 条，"
                   f"受承接能力所限损失 {_percent(x['fit_cost'])}")


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
