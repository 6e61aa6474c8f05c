"""Data commands: ``cxy import``, ``cxy status`` and ``cxy db``."""

from pathlib import Path

import typer

from matcher.cli.constants import IMPORT_KINDS
from matcher.cli.dedupe import dedupe, merge


def _print_reports(reports: list) -> None:
    for report in reports:
        typer.echo(
            f"{report.kind:<13} {report.rows:>6} 行（新增 {report.inserted}，更新 {report.updated}"
            + (f"，已记录过 {report.unchanged}" if report.unchanged else "")
            + f"）  来自 {report.path}"
        )
        for warning in report.warnings:
            typer.echo(f"  提示：{warning}", err=True)


def _fail(exc) -> None:
    from matcher.ingest.folder import FolderStopped

    if isinstance(exc, FolderStopped):
        if exc.imported:
            typer.echo(f"已导入 {len({r.path for r in exc.imported})} 个文件：", err=True)
            _print_reports(exc.imported)
        typer.echo(f"{exc.path.name} 导入失败：{len(exc.problems)} 个问题；这个文件没有写入任何数据。", err=True)
    else:
        typer.echo(f"导入失败：{len(exc.problems)} 个问题；没有写入任何数据。", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)
    if isinstance(exc, FolderStopped) and exc.skipped:
        names = "、".join(p.name for p in exc.skipped)
        typer.echo(f"其后的文件未导入：{names}。修正后重新运行同一命令即可，已导入的文件不会重复写入。", err=True)
    raise typer.Exit(1)


def import_command(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help=f"数据类型，可选：{'、'.join(IMPORT_KINDS)}。"),
    path: Path = typer.Argument(..., help="要导入的 .csv、.xlsx、.xls、.ods 或 .jsonl 文件"
                                "（类型为 all 时是一个文件夹）。"),
    key: bool = typer.Option(False, "--key", help="把文件里的企业都标为重点企业。"),
    no_index: bool = typer.Option(False, "--no-index", help="导入后不更新索引（默认会把新数据编入索引）。"),
    all_or_nothing: bool = typer.Option(
        False, "--all-or-nothing",
        help="仅用于 all：整个文件夹一次写入，有一个文件出错就全部不写（默认逐个文件写入，"
             "不让其他用户久等）。"),
) -> None:
    """导入一个数据文件（KIND 为数据类型）。

    先检查整个文件，无误后一次写入，然后更新索引（已建立索引时）。
    """
    from matcher.ingest.folder import import_folder, import_folder_by_file
    from matcher.ingest.loader import import_reports, unknown_kind_message
    from matcher.ingest.problems import ImportFailed
    from matcher.ingest.survey import import_survey
    from matcher.store.db import write_session

    if kind not in IMPORT_KINDS:
        typer.echo(unknown_kind_message(kind) + "、survey、all", err=True)
        raise typer.Exit(2)
    engine = ctx.obj.engine()
    try:
        if kind == "all" and not all_or_nothing:
            reports = import_folder_by_file(engine, path, key=key)
        else:
            with write_session(engine) as session:
                if kind == "all":
                    reports = import_folder(session, path, key=key)
                elif kind == "survey":
                    reports = import_survey(session, path, mark_key=key)
                else:
                    reports = import_reports(session, kind, path, key=key)
    except ImportFailed as exc:
        if getattr(exc, "imported", None) and not no_index:  # the files before the refused one are in
            _update_index(ctx)
        _fail(exc)
    _print_reports(reports)
    if not no_index:
        _update_index(ctx)


def _update_index(ctx: typer.Context) -> None:
    from matcher.cli.index import update_index_after_import

    update_index_after_import(ctx)


TABLES = ("institutions", "teams", "achievements", "enterprises", "needs", "challenges",
          "outcome_events", "recommendation_runs")
TABLE_NAMES = {"institutions": "高校院所", "teams": "团队", "achievements": "成果", "enterprises": "企业",
               "needs": "需求", "challenges": "榜单", "outcome_events": "跟进记录", "recommendation_runs": "推荐批次"}


def status(ctx: typer.Context) -> None:
    """数据库中各类数据的条数。"""
    from sqlalchemy import func, select

    from matcher.store import models
    from matcher.store.db import session_factory

    engine = ctx.obj.engine()
    by_table = models.Base.metadata.tables
    with session_factory(engine)() as session:
        typer.echo(f"数据库：{engine.url.render_as_string(hide_password=True)}")
        for table in TABLES:
            count = session.scalar(select(func.count()).select_from(by_table[table]))
            typer.echo(f"{TABLE_NAMES[table]:<8} {table:<20} {count:>7}")


db_app = typer.Typer(help="数据库结构的升级与版本查看。", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context,
               revision: str = typer.Argument("head", help="目标版本（默认 head，即最新版本）。")) -> None:
    """把数据库结构升级到 REVISION 版本（默认最新）。"""
    from matcher.store.db import current_revision, make_engine, upgrade

    engine = make_engine(ctx.obj.db_url)
    upgrade(engine, revision)
    typer.echo(f"数据库已在版本 {current_revision(engine)}")


@db_app.command("revision")
def db_revision(ctx: typer.Context) -> None:
    """显示数据库结构的当前版本和最新版本。"""
    from matcher.store.db import current_revision, head_revision, make_engine

    typer.echo(f"当前版本 {current_revision(make_engine(ctx.obj.db_url))}  最新版本 {head_revision()}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("dedupe")(dedupe)
    app.command("merge")(merge)
    app.command("status")(status)
    app.command("generate")(generate)
    app.add_typer(db_app, name="db")




def generate(
    folder: Path = typer.Argument(..., help="输出文件夹（之后可用 cxy import all 文件夹 导入）。"),
    achievements: int = typer.Option(1000, help="成果条数。"),
    teams: int = typer.Option(None, help="团队数（默认为成果数的五分之一）。"),
    enterprises: int = typer.Option(None, help="企业数（默认为团队数的一半）。"),
    seed: int = typer.Option(0, help="随机种子；同一个种子生成同样的数据。"),
) -> None:
    """生成测速用的模拟数据。

    文字没有实际意义，不能用来评价匹配质量。
    """
    from matcher.synthetic import CorpusSize, generate_corpus

    counts = generate_corpus(folder, CorpusSize(achievements, teams, None, enterprises), seed)
    typer.echo("已生成：" + "，".join(f"{TABLE_NAMES.get(kind, kind)} {count}" for kind, count in counts.items())
               + f"  → {folder}")
