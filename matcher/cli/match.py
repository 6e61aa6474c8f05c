"""Match commands: ``cxy match need|enterprise|text`` (teams) and ``cxy firms team|text`` (firms)."""

import json
from collections.abc import Callable
from pathlib import Path

import typer

from matcher.cli.render import render

FORMATS = ("table", "json", "csv")

match_app = typer.Typer(help="Ranked, explained teams for needs, enterprises or free text.", no_args_is_help=True)
firms_app = typer.Typer(help="Ranked needs and enterprises for a team or a description of what it can do.",
                        no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def read_queries(path: Path) -> list[tuple[str | None, str]]:
    """Queries from a file: one text per line, or JSON Lines with ``id`` and ``text`` (blank lines skipped)."""
    if not path.exists():
        _fail(f"{path}: no such file")
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                _fail(f"{path} line {number}: not valid JSON ({exc.msg})")
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                _fail(f"{path} line {number}: a JSON query needs a non-empty \"text\"")
            queries.append((str(row["id"]) if row.get("id") is not None else None, row["text"]))
        else:
            queries.append((None, line))
    if not queries:
        _fail(f"{path}: no queries in the file")
    return queries


def resolve_ids(ctx: typer.Context, kind: str, arguments: list[str]) -> list[str]:
    """Ids for arguments that may be names (鑫瑞化工 for E101), read from the database before any model
    loads; each name understood is said on stderr, an ambiguous or unknown name exits 1 with candidates."""
    from matcher.lookup.records import resolve_arguments

    engine = ctx.obj.engine()
    try:
        resolved = resolve_arguments(engine, kind, arguments)
    except LookupError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    for _, note in resolved:
        if note:
            typer.echo(note, err=True)
    return [id_ for id_, _ in resolved]


def _options(top, level, diversity, province, city, county, institution_type, industry, min_trl, exclude_proposed,
             why, explore=None):
    from matcher.matching.options import MatchOptions

    extra = {} if explore is None else {"explore": explore}
    return MatchOptions(top=top, level=level, diversity=diversity, province=province, city=city, county=county,
                        institution_type=institution_type, industry=industry, min_trl=min_trl,
                        exclude_proposed=exclude_proposed, why=list(why or []), **extra)


def _run(ctx: typer.Context, calls: list[Callable], fmt: str) -> None:
    """Load the service once, answer every query, print in the asked format."""
    from embeddings.dense_index import IndexModelMismatch
    from matcher.matching.options import OptionError
    from matcher.matching.search import IndexNotBuilt
    from matcher.matching.service import MatchService, NotFound

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", 2)
    service = MatchService(ctx.obj.engine(), store_runs=False)  # stored below, once every query has succeeded
    try:
        lists = [call(service) for call in calls]
    except (NotFound, OptionError, IndexNotBuilt, IndexModelMismatch) as exc:
        _fail(str(exc))
    for match_list in lists:
        service.save(match_list)
    typer.echo(render([m.as_dict() for m in lists], fmt))


TOP = typer.Option(10, "--top", help="Results per list.")
FORMAT = typer.Option("table", "--format", help="table, json or csv (several queries in json: JSON Lines).")
DIVERSITY = typer.Option("cap:3", "--diversity", help="cap:N per institution/enterprise, mmr:L, or none.")
PROVINCE = typer.Option(None, "--province", help="Only this province (institution for teams, enterprise for firms).")
CITY = typer.Option(None, "--city", help="Only this city.")
EXCLUDE = typer.Option(False, "--exclude-proposed", help="Drop pairs that already have outcome events.")
QUERIES = typer.Option(None, "--queries", help="File: one query per line, or JSONL id/text.")
TEAM_LEVEL = typer.Option("team", "--level", help="team or institution.")
INSTITUTION_TYPE = typer.Option(None, "--type", help="Institution type, e.g. university.")
MIN_TRL = typer.Option(None, "--min-trl", help="Matched evidence must reach this TRL.")
TEAM_WHY = typer.Option(None, "--why", help="Explain where this team ranked (repeatable).")
NEED_LEVEL = typer.Option("need", "--level", help="need or enterprise.")
FIRM_DIVERSITY = typer.Option("cap:3", "--diversity", help="cap:N needs per enterprise, mmr:L, none.")
COUNTY = typer.Option(None, "--county", help="Only enterprises in this county/district.")
INDUSTRY = typer.Option(None, "--industry", help="Only enterprises whose industry contains this.")
NEED_WHY = typer.Option(None, "--why", help="Explain where this need ranked (repeatable).")
EXPLORE = typer.Option(None, "--explore", help="Places kept for teams/enterprises with no outcome history yet "
                       "(default CXY_EXPLORE, else 1; 0: none).")


@match_app.command("need")
def match_need(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="Need ids or titles (a fragment does)."),
               top: int = TOP, fmt: str = FORMAT,
               level: str = TEAM_LEVEL,
               diversity: str = DIVERSITY, province: str = PROVINCE, city: str = CITY,
               institution_type: str = INSTITUTION_TYPE,
               min_trl: int = MIN_TRL,
               exclude_proposed: bool = EXCLUDE,
               why: list[str] = TEAM_WHY, explore: int = EXPLORE
               ) -> None:
    """Teams for one or more needs, best first, each with its evidence and feature contributions."""
    opts = _options(top, level, diversity, province, city, None, institution_type, None, min_trl, exclude_proposed,
                    why, explore)
    _run(ctx, [lambda s, i=i: s.match_need(i, opts) for i in resolve_ids(ctx, "need", ids)], fmt)


@match_app.command("enterprise")
def match_enterprise(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="Enterprise ids or names "
                                                                   "(a fragment, short name, pinyin initials)."),
                     top: int = TOP, fmt: str = FORMAT,
                     level: str = TEAM_LEVEL,
                     diversity: str = DIVERSITY, province: str = PROVINCE, city: str = CITY,
                     institution_type: str = INSTITUTION_TYPE,
                     min_trl: int = MIN_TRL,
                     exclude_proposed: bool = EXCLUDE,
                     why: list[str] = TEAM_WHY, explore: int = EXPLORE) -> None:
    """Teams for all open needs of an enterprise, merged; each result says which need it serves."""
    opts = _options(top, level, diversity, province, city, None, institution_type, None, min_trl, exclude_proposed,
                    why, explore)
    _run(ctx, [lambda s, i=i: s.match_enterprise(i, opts) for i in resolve_ids(ctx, "enterprise", ids)], fmt)


@match_app.command("text")
def match_text(ctx: typer.Context, text: str = typer.Argument(None, help="A need in plain words."),
               queries: Path = QUERIES,
               top: int = TOP, fmt: str = FORMAT,
               level: str = TEAM_LEVEL,
               diversity: str = DIVERSITY, province: str = PROVINCE, city: str = CITY,
               institution_type: str = INSTITUTION_TYPE,
               min_trl: int = MIN_TRL,
               why: list[str] = TEAM_WHY, explore: int = EXPLORE) -> None:
    """Teams for a need typed in plain words (English abbreviations and traditional characters are fine)."""
    items = _text_queries(text, queries)
    opts = _options(top, level, diversity, province, city, None, institution_type, None, min_trl, False, why, explore)
    _run(ctx, [lambda s, q=q: s.match_text(q[1], opts, query_id=q[0]) for q in items], fmt)


def _text_queries(text: str | None, queries: Path | None) -> list[tuple[str | None, str]]:
    if (text is None) == (queries is None):
        _fail("give either a query text or --queries FILE", 2)
    return read_queries(queries) if queries is not None else [(None, text)]


@firms_app.command("team")
def firms_team(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="One or more team ids or names."),
               top: int = TOP, fmt: str = FORMAT,
               level: str = NEED_LEVEL,
               diversity: str = FIRM_DIVERSITY,
               province: str = PROVINCE, city: str = CITY,
               county: str = COUNTY,
               industry: str = INDUSTRY,
               exclude_proposed: bool = EXCLUDE,
               why: list[str] = NEED_WHY, explore: int = EXPLORE) -> None:
    """Open needs (and their enterprises) that a team's work fits, with the team's matching evidence."""
    opts = _options(top, level, diversity, province, city, county, None, industry, None, exclude_proposed, why, explore)
    _run(ctx, [lambda s, i=i: s.firms_team(i, opts) for i in resolve_ids(ctx, "team", ids)], fmt)


@firms_app.command("text")
def firms_text(ctx: typer.Context, text: str = typer.Argument(None, help="What the team can do, in plain words."),
               queries: Path = QUERIES,
               top: int = TOP, fmt: str = FORMAT,
               level: str = NEED_LEVEL,
               diversity: str = FIRM_DIVERSITY,
               province: str = PROVINCE, city: str = CITY,
               county: str = COUNTY,
               industry: str = INDUSTRY,
               why: list[str] = NEED_WHY, explore: int = EXPLORE) -> None:
    """Open needs for a description of a capability."""
    items = _text_queries(text, queries)
    opts = _options(top, level, diversity, province, city, county, None, industry, None, False, why, explore)
    _run(ctx, [lambda s, q=q: s.firms_text(q[1], opts, query_id=q[0]) for q in items], fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(match_app, name="match")
    app.add_typer(firms_app, name="firms")
