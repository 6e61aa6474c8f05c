"""Data commands: ``cxy import``, ``cxy status`` and ``cxy db``."""

from pathlib import Path

import typer
from sqlalchemy import func, select

from matcher.cli.dedupe import dedupe, merge
from matcher.ingest.loader import KINDS, ImportReport
from matcher.ingest.problems import ImportFailed

IMPORT_KINDS = (*KINDS, "survey", "all")


def _print_reports(reports: list[ImportReport]) -> None:
    for report in reports:
        typer.echo(
            f"{report.kind:<13} {report.rows:>6} 行（新增 {report.inserted}，更新 {report.updated}"
            + (f"，已记录过 {report.unchanged}" if report.unchanged else "")
            + f"）  来自 {report.path}"
        )
        for warning in report.warnings:
            typer.echo(f"  提示：{warning}", err=True)


def _fail(exc: ImportFailed) -> None:
    typer.echo(f"导入失败：{len(exc.problems)} 个问题；没有写入任何数据。", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)


def import_command(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help=f"One of: {', '.join(IMPORT_KINDS)}."),
    path: Path = typer.Argument(..., help="A .csv, .xlsx, .xls, .ods or .jsonl file (a folder for 'all')."),
    key: bool = typer.Option(False, "--key", help="Mark every enterprise of the file 重点企业 (key enterprise)."),
    no_index: bool = typer.Option(False, "--no-index", help="Skip the incremental index update after the import."),
) -> None:
    """Import a file of KIND; the whole file is validated first and written in one transaction, then the
    index (where one is built) is brought up to date."""
    from matcher.ingest.folder import import_folder
    from matcher.ingest.loader import import_reports, unknown_kind_message
    from matcher.ingest.survey import import_survey
    from matcher.store.db import write_session

    if kind not in IMPORT_KINDS:
        typer.echo(unknown_kind_message(kind) + "、survey、all", err=True)
        raise typer.Exit(2)
    engine = ctx.obj.engine()
    try:
        with write_session(engine) as session:
            if kind == "all":
                reports = import_folder(session, path, key=key)
            elif kind == "survey":
                reports = import_survey(session, path, mark_key=key)
            else:
                reports = import_reports(session, kind, path, key=key)
    except ImportFailed as exc:
        _fail(exc)
    _print_reports(reports)
    if not no_index:
        from matcher.cli.index import update_index_after_import

        update_index_after_import(ctx)


TABLES = ("institutions", "teams", "achievements", "enterprises", "needs", "challenges",
          "outcome_events", "recommendation_runs")
TABLE_NAMES = {"institutions": "高校院所", "teams": "团队", "achievements": "成果", "enterprises": "企业",
               "needs": "需求", "challenges": "榜单", "outcome_events": "跟进记录", "recommendation_runs": "推荐批次"}


def status(ctx: typer.Context) -> None:
    """Row counts of the database."""
    from matcher.store import models
    from matcher.store.db import session_factory

    engine = ctx.obj.engine()
    by_table = models.Base.metadata.tables
    with session_factory(engine)() as session:
        typer.echo(f"数据库：{engine.url.render_as_string(hide_password=True)}")
        for table in TABLES:
            count = session.scalar(select(func.count()).select_from(by_table[table]))
            typer.echo(f"{TABLE_NAMES[table]:<8} {table:<20} {count:>7}")


db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from matcher.store.db import current_revision, make_engine, upgrade

    engine = make_engine(ctx.obj.db_url)
    upgrade(engine, revision)
    typer.echo(f"数据库已在版本 {current_revision(engine)}")


@db_app.command("revision")
def db_revision(ctx: typer.Context) -> None:
    """Print the database's current schema revision and the newest one."""
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
    folder: Path = typer.Argument(..., help="Output folder (import it with `cxy import all FOLDER`)."),
    achievements: int = typer.Option(1000, help="Number of achievements."),
    teams: int = typer.Option(None, help="Number of teams (default: achievements / 5)."),
    enterprises: int = typer.Option(None, help="Number of enterprises (default: teams / 2)."),
    seed: int = typer.Option(0, help="Random seed; the same seed writes the same corpus."),
) -> None:
    """Write a synthetic corpus for speed benchmarks (meaningless text: never for quality claims)."""
    from matcher.synthetic import CorpusSize, generate_corpus

    counts = generate_corpus(folder, CorpusSize(achievements, teams, None, enterprises), seed)
    typer.echo(", ".join(f"{kind} {count}" for kind, count in counts.items()) + f"  -> {folder}")
