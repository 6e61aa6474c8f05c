"""Match commands: ``cxy match need|enterprise|text`` (teams) and ``cxy firms team|text`` (firms)."""

import json
from pathlib import Path

import typer

from matcher.cli.constants import MAX_QUERIES, MAX_QUERY_TEXT
from matcher.cli.render import render

FORMATS = ("table", "json", "csv")

match_app = typer.Typer(help="为企业需求找团队。\n\n按需求、企业或一段文字，列出最合适的高校院所团队及理由。",
                        no_args_is_help=True)
firms_app = typer.Typer(help="为团队找企业。\n\n按团队或对其能力的描述，列出有相应技术需求的企业。",
                        no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(code)


def read_queries(path: Path) -> list[tuple[str | None, str]]:
    """Queries from a file: one text per line, or JSON Lines with ``id`` and ``text`` (blank lines skipped)."""
    if not path.exists():
        _fail(f"找不到查询文件 {path}")
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                _fail(f"{path} 第 {number} 行不是有效的 JSON（{exc.msg}）")
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                _fail(f"{path} 第 {number} 行：JSON 格式的查询需要非空的 \"text\"（查询内容）")
            queries.append((str(row["id"]) if row.get("id") is not None else None, row["text"]))
        else:
            queries.append((None, line))
        if len(queries[-1][1]) > MAX_QUERY_TEXT:
            _fail(f"{path} 第 {number} 行：查询有 {len(queries[-1][1])} 个字，每条最多 {MAX_QUERY_TEXT} 个字")
    if not queries:
        _fail(f"{path} 里没有任何查询")
    _check_count(len(queries), f"{path} 里的查询")
    return queries


def _check_count(count: int, what: str) -> None:
    if count > MAX_QUERIES:
        _fail(f"{what}有 {count} 个，一次最多 {MAX_QUERIES} 个（每个都会存为一条推荐记录）；请分批运行", 2)


def resolve_ids(ctx: typer.Context, kind: str, arguments: list[str]) -> list[str]:
    """Ids for arguments that may be names (鑫瑞化工 for E101), read from the database before any model
    loads (a SQLite file with plain SQL, matcher/cli/precheck.py); each name understood is said on
    stderr, an ambiguous or unknown name exits 1 with candidates."""
    from matcher.cli.precheck import name_pairs, resolve

    _check_count(len(arguments), "编号或名称")
    pairs = name_pairs(ctx.obj.db_url, kind)
    try:
        resolved = resolve(kind, arguments, pairs) if pairs is not None else _resolve_with_orm(ctx, kind, arguments)
    except LookupError as exc:
        _fail(str(exc))
    for _, note in resolved:
        if note:
            typer.echo(note, err=True)
    return [id_ for id_, _ in resolved]


def _resolve_with_orm(ctx: typer.Context, kind: str, arguments: list[str]) -> list[tuple[str, str | None]]:
    from matcher.lookup.records import resolve_arguments

    engine = ctx.obj.engine()
    try:
        return resolve_arguments(engine, kind, arguments)
    finally:
        engine.dispose()


def _options(top, level, diversity, province, city, county, institution_type, industry, min_trl, exclude_proposed,
             why, explore=None) -> dict:
    """MatchOptions' fields as given (explore left out when not given: MatchOptions reads CXY_EXPLORE)."""
    extra = {} if explore is None else {"explore": explore}
    return dict(top=top, level=level, diversity=diversity, province=province, city=city, county=county,
                institution_type=institution_type, industry=industry, min_trl=min_trl,
                exclude_proposed=exclude_proposed, why=list(why or []), **extra)


def _batch(direction: str, op: str, args: list, opts: dict):
    from matcher.list_requests import Batch, Request

    requests = [Request(op, a) if isinstance(a, str) else Request(op, a[1], a[0]) for a in args]
    return Batch(direction, requests, opts)


def run(ctx: typer.Context, batch, fmt: str, local: bool) -> None:
    """Answer every request of the batch and print them in the asked format: from a running `cxy serve`
    on this database when there is one (unless --local), else in this process."""
    from matcher.cli.remote import Declined, ask

    if fmt not in FORMATS:
        _fail(f"不认识的输出格式 {fmt!r}；可用：{'、'.join(FORMATS)}", 2)
    try:
        lists = None if local else ask(ctx.obj.db_url, batch, ctx.obj.verbose)
    except Declined as exc:
        _fail(str(exc))
    if lists is None:
        lists = _compute(ctx, batch)
    typer.echo(render(lists, fmt))


ID_KINDS = {"match_need": "need", "match_enterprise": "enterprise", "firms_team": "team",
            "challenge_candidates": "challenge", "challenge_consortium": "challenge"}


def _check(ctx: typer.Context, batch) -> None:
    """What the service would refuse at once, refused before the model loads: ids that are not stored
    (plain SQL, so a wrong id answers at once: checked before the options, whose module loads the ORM),
    then the options."""
    from matcher.cli.precheck import missing, name_pairs
    from matcher.list_requests import options

    kind = ID_KINDS.get(batch.requests[0].op) if batch.requests else None
    pairs = name_pairs(ctx.obj.db_url, kind) if kind else None
    message = pairs is not None and missing(kind, [r.arg for r in batch.requests], pairs)
    if message:
        _fail(message)
    if batch.direction != "challenge":  # ChallengeOptions lives beside faiss: the service checks them
        from matcher.matching.options import OptionError

        try:
            options(batch).check(batch.direction)
        except OptionError as exc:
            _fail(str(exc))


def _compute(ctx: typer.Context, batch) -> list[dict]:
    """Load the service once, answer every request, store the lists once all have succeeded."""
    _check(ctx, batch)
    if ctx.obj.verbose:
        typer.echo("提示：在本进程内计算（加载模型和索引）", err=True)
    from embeddings.dense_index import IndexModelMismatch
    from matcher.list_requests import answer
    from matcher.matching.options import OptionError
    from matcher.matching.search import IndexNotBuilt
    from matcher.matching.service import MatchService, NotFound

    service = MatchService(ctx.obj.engine(), store_runs=False)  # stored below, once every query has succeeded
    try:
        lists = answer(service, batch)
    except (NotFound, OptionError, IndexNotBuilt, IndexModelMismatch) as exc:
        _fail(str(exc))
    for match_list in lists:
        service.save(match_list)
    return [m.as_dict() for m in lists]


TOP = typer.Option(10, "--top", help="每个清单列出多少条结果。")
FORMAT = typer.Option("table", "--format", help="输出格式：table（表格）、json 或 csv（可用 Excel/WPS 打开）；"
                      "多个查询用 json 时每行一个结果（JSON Lines）。")
DIVERSITY = typer.Option("cap:3", "--diversity", help="结果多样性：cap:N 表示每个单位最多 N 条，"
                         "mmr:L 表示按相似度打散，none 表示不限。")
PROVINCE = typer.Option(None, "--province", help="只看这个省份（找团队时看院所所在地，找企业时看企业所在地）。")
CITY = typer.Option(None, "--city", help="只看这个城市。")
EXCLUDE = typer.Option(False, "--exclude-proposed", help="去掉已经有跟进记录的配对。")
QUERIES = typer.Option(None, "--queries", help="查询文件：每行一个查询，或每行一个含 id 和 text 的 JSON（JSONL）。")
TEAM_LEVEL = typer.Option("team", "--level", help="按 team（团队）还是 institution（院所）列出。")
INSTITUTION_TYPE = typer.Option(None, "--type", help="单位类型，如 university（高校）、"
                                "research_institute（科研院所）。")
MIN_TRL = typer.Option(None, "--min-trl", help="依据成果的技术成熟度（TRL，1-9）至少达到这一级。")
TEAM_WHY = typer.Option(None, "--why", help="说明这个团队排在哪里、为什么（可重复使用）。")
NEED_LEVEL = typer.Option("need", "--level", help="按 need（需求）还是 enterprise（企业）列出。")
FIRM_DIVERSITY = typer.Option("cap:3", "--diversity", help="结果多样性：cap:N 表示每家企业最多 N 条需求，"
                              "mmr:L 表示按相似度打散，none 表示不限。")
COUNTY = typer.Option(None, "--county", help="只看这个县区的企业。")
INDUSTRY = typer.Option(None, "--industry", help="只看行业名称中含有这个词的企业。")
NEED_WHY = typer.Option(None, "--why", help="说明这条需求排在哪里、为什么（可重复使用）。")
EXPLORE = typer.Option(None, "--explore", help="留给还没有跟进记录的团队或企业的试推名额"
                       "（默认取环境变量 CXY_EXPLORE，没有则为 1；0 表示不留）。")
LOCAL = typer.Option(False, "--local", help="不使用正在运行的服务，在本进程内计算。")


@match_app.command("need")
def match_need(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="需求编号或标题（写一部分也可以）。"),
               top: int = TOP, fmt: str = FORMAT,
               level: str = TEAM_LEVEL,
               diversity: str = DIVERSITY, province: str = PROVINCE, city: str = CITY,
               institution_type: str = INSTITUTION_TYPE,
               min_trl: int = MIN_TRL,
               exclude_proposed: bool = EXCLUDE,
               why: list[str] = TEAM_WHY, explore: int = EXPLORE, local: bool = LOCAL
               ) -> None:
    """为一条或几条需求找团队。

    最合适的在前，每条附依据成果和加减分理由。
    """
    opts = _options(top, level, diversity, province, city, None, institution_type, None, min_trl, exclude_proposed,
                    why, explore)
    run(ctx, _batch("match", "match_need", resolve_ids(ctx, "need", ids), opts), fmt, local)


@match_app.command("enterprise")
def match_enterprise(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="企业编号或名称"
                                                                   "（可写名称的一部分、简称或拼音首字母）。"),
                     top: int = TOP, fmt: str = FORMAT,
                     level: str = TEAM_LEVEL,
                     diversity: str = DIVERSITY, province: str = PROVINCE, city: str = CITY,
                     institution_type: str = INSTITUTION_TYPE,
                     min_trl: int = MIN_TRL,
                     exclude_proposed: bool = EXCLUDE,
                     why: list[str] = TEAM_WHY, explore: int = EXPLORE, local: bool = LOCAL) -> None:
    """为一家企业的全部在办需求找团队。

    合并成一个清单，每条注明对应哪条需求。
    """
    opts = _options(top, level, diversity, province, city, None, institution_type, None, min_trl, exclude_proposed,
                    why, explore)
    run(ctx, _batch("match", "match_enterprise", resolve_ids(ctx, "enterprise", ids), opts), fmt, local)


@match_app.command("text")
def match_text(ctx: typer.Context, text: str = typer.Argument(None, help="用大白话写的技术需求。"),
               queries: Path = QUERIES,
               top: int = TOP, fmt: str = FORMAT,
               level: str = TEAM_LEVEL,
               diversity: str = DIVERSITY, province: str = PROVINCE, city: str = CITY,
               institution_type: str = INSTITUTION_TYPE,
               min_trl: int = MIN_TRL,
               why: list[str] = TEAM_WHY, explore: int = EXPLORE, local: bool = LOCAL) -> None:
    """为一段文字描述的需求找团队（可夹英文缩写，繁体字也可以）。"""
    items = _text_queries(text, queries)
    opts = _options(top, level, diversity, province, city, None, institution_type, None, min_trl, False, why, explore)
    run(ctx, _batch("match", "match_text", items, opts), fmt, local)


def _text_queries(text: str | None, queries: Path | None) -> list[tuple[str | None, str]]:
    if (text is None) == (queries is None):
        _fail("请给出查询文字，或用 --queries 指定查询文件（二者选一）", 2)
    if queries is not None:
        return read_queries(queries)
    if len(text) > MAX_QUERY_TEXT:
        _fail(f"查询有 {len(text)} 个字，最多 {MAX_QUERY_TEXT} 个字；请只写需求本身", 2)
    return [(None, text)]


@firms_app.command("team")
def firms_team(ctx: typer.Context, ids: list[str] = typer.Argument(..., help="一个或几个团队编号或名称。"),
               top: int = TOP, fmt: str = FORMAT,
               level: str = NEED_LEVEL,
               diversity: str = FIRM_DIVERSITY,
               province: str = PROVINCE, city: str = CITY,
               county: str = COUNTY,
               industry: str = INDUSTRY,
               exclude_proposed: bool = EXCLUDE,
               why: list[str] = NEED_WHY, explore: int = EXPLORE, local: bool = LOCAL) -> None:
    """为团队找在办需求。

    列出与团队研究方向相符的需求及所属企业，附团队的相关成果作依据。
    """
    opts = _options(top, level, diversity, province, city, county, None, industry, None, exclude_proposed, why, explore)
    run(ctx, _batch("firms", "firms_team", resolve_ids(ctx, "team", ids), opts), fmt, local)


@firms_app.command("text")
def firms_text(ctx: typer.Context, text: str = typer.Argument(None, help="用大白话写团队能做什么。"),
               queries: Path = QUERIES,
               top: int = TOP, fmt: str = FORMAT,
               level: str = NEED_LEVEL,
               diversity: str = FIRM_DIVERSITY,
               province: str = PROVINCE, city: str = CITY,
               county: str = COUNTY,
               industry: str = INDUSTRY,
               why: list[str] = NEED_WHY, explore: int = EXPLORE, local: bool = LOCAL) -> None:
    """按一段能力描述，列出相符的企业在办需求。"""
    items = _text_queries(text, queries)
    opts = _options(top, level, diversity, province, city, county, None, industry, None, False, why, explore)
    run(ctx, _batch("firms", "firms_text", items, opts), fmt, local)


def register(app: typer.Typer) -> None:
    app.add_typer(match_app, name="match")
    app.add_typer(firms_app, name="firms")
