"""``cxy dedupe`` (probable duplicate enterprises, institutions and teams) and ``cxy merge KEEP DROP``."""

import json

import typer


def dedupe(ctx: typer.Context,
           fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）、json 或 csv"
                                   "（带 BOM 的 UTF-8，Excel/WPS 可直接打开）。"),
           top: int = typer.Option(200, "--top", help="最多列出多少对。")) -> None:
    """列出疑似重复的企业、高校院所和团队。

    依据：信用代码相同、名称相同或几乎相同。
    """
    from matcher.ingest.dedupe import KIND_LABELS, find_duplicates
    from matcher.reports.cells import safe_cell
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        pairs = find_duplicates(session)[:top]
    if fmt == "json":
        typer.echo(json.dumps([p.__dict__ for p in pairs], ensure_ascii=False))
        return
    if fmt == "csv":
        import csv
        import sys

        sys.stdout.write("\ufeff")
        writer = csv.writer(sys.stdout)
        writer.writerow(["类型", "保留编号", "保留名称", "合并编号", "合并名称", "相似度", "依据"])
        for p in pairs:  # names come from imported files: one starting with = must stay text in Excel
            writer.writerow([safe_cell(v) for v in (KIND_LABELS[p.kind], p.keep_id, p.keep_name, p.drop_id,
                                                     p.drop_name, p.score, p.evidence)])
        return
    if not pairs:
        typer.echo("没有发现疑似重复的企业、高校院所或团队。")
        return
    typer.echo(f"疑似重复 {len(pairs)} 对（确认后运行 cxy merge 保留编号 合并编号）：")
    for p in pairs:
        typer.echo(f"{KIND_LABELS[p.kind]}  {p.keep_id} {p.keep_name}  ←  {p.drop_id} {p.drop_name}  "
                   f"[{p.score:.0f}] {p.evidence}")
        typer.echo(f"    cxy merge {p.keep_id} {p.drop_id}")


def merge(ctx: typer.Context, keep_id: str = typer.Argument(..., help="保留的编号。"),
          drop_id: str = typer.Argument(..., help="并入前者后删除的编号。")) -> None:
    """把两条重复记录合并为一条：DROP_ID 并入 KEEP_ID。

    需求、跟进记录、推荐记录等所有引用都转到 KEEP_ID，一次完成（要么全做，要么不做）。
    """
    from matcher.ingest.merge import MergeError, merge_records
    from matcher.store.db import write_session

    try:
        with write_session(ctx.obj.engine()) as session:
            detail = merge_records(session, None, keep_id, drop_id)
    except MergeError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None
    moved = "，".join(f"{table} {count} 条" for table, count in detail["moved"].items()) or "没有引用"
    typer.echo(f"已把 {drop_id}（{detail['drop_name']}）合并到 {keep_id}：转移 {moved}"
               + (f"；补全字段 {'、'.join(detail['filled'])}" if detail["filled"] else ""))
