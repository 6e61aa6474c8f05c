"""Data commands: ``cxy import``, ``cxy status`` and ``cxy db``."""

from pathlib import Path

import typer
from sqlalchemy import func, select

from matcher.ingest.loader import KINDS, ImportReport
from matcher.ingest.problems import ImportFailed

IMPORT_KINDS = (*KINDS, "survey", "all")


def _print_reports(reports: list[ImportReport]) -> None:
    for report in reports:
        typer.echo(
            f"{report.kind:<13} {report.rows:>6} rows  ({report.inserted} new, {report.updated} updated"
            + (f", {report.unchanged} already recorded" if report.unchanged else "")
            + f")  from {report.path}"
        )
        for warning in report.warnings:
            typer.echo(f"  note: {warning}", err=True)


def _fail(exc: ImportFailed) -> None:
    typer.echo(f"Import failed: {len(exc.problems)} problem(s); nothing was written.", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)


def import_command(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help=f"One of: {', '.join(IMPORT_KINDS)}."),
    path: Path = typer.Argument(..., help="A .csv, .xlsx or .jsonl file (a folder for 'all')."),
) -> None:
    """Import a file of KIND; the whole file is validated first and written in one transaction."""
    from matcher.ingest.folder import import_folder
    from matcher.ingest.loader import import_file
    from matcher.ingest.survey import import_survey
    from matcher.store.db import write_session

    if kind not in IMPORT_KINDS:
        typer.echo(f"Unknown kind '{kind}'. Use one of: {', '.join(IMPORT_KINDS)}.", err=True)
        raise typer.Exit(2)
    engine = ctx.obj.engine()
    try:
        with write_session(engine) as session:
            if kind == "all":
                reports = import_folder(session, path)
            elif kind == "survey":
                reports = import_survey(session, path)
            else:
                reports = [import_file(session, kind, path)]
    except ImportFailed as exc:
        _fail(exc)
    _print_reports(reports)


TABLES = ("institutions", "teams", "achievements", "enterprises", "needs", "challenges",
          "outcome_events", "recommendation_runs")


def status(ctx: typer.Context) -> None:
    """Row counts of the database."""
    from matcher.store import models
    from matcher.store.db import session_factory

    engine = ctx.obj.engine()
    by_table = models.Base.metadata.tables
    with session_factory(engine)() as session:
        typer.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
        for table in TABLES:
            count = session.scalar(select(func.count()).select_from(by_table[table]))
            typer.echo(f"{table:<20} {count:>7}")


db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from matcher.store.db import current_revision, make_engine, upgrade

    engine = make_engine(ctx.obj.db_url)
    upgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("revision")
def db_revision(ctx: typer.Context) -> None:
    """Print the database's current schema revision and the newest one."""
    from matcher.store.db import current_revision, head_revision, make_engine

    typer.echo(f"current {current_revision(make_engine(ctx.obj.db_url))}  head {head_revision()}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
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
