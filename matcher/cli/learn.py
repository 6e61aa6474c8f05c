"""``cxy train`` and ``cxy models``: learn a ranker from the outcomes and list the stored ones."""

import json

import typer

# What the training report's counts and rankers are, in the words a clerk reads (the JSON keeps the keys).
COUNT_WORDS = {"events": "跟进记录", "train_pairs": "训练配对", "train_preferences": "训练中的优劣对比",
               "test_pairs": "检验配对", "test_contracted": "检验期签约"}
RANKER_WORDS = {"scorer": "规则打分", "learned": "学习模型"}


def train_command(ctx: typer.Context,
                  test_months: int = typer.Option(3, "--test-months",
                                                  help="留出最近几个自然月的跟进记录，用来检验效果。"),
                  position_bias: float = typer.Option(None, "--position-bias",
                                                      help="位置偏差系数 eta：排第 k 位被看到的概率按 k^-eta 计"
                                                      "（默认从跟进记录估计）。"),
                  fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）或 json。")) -> None:
    """训练排序模型并保存。

    从哪些推荐最终签约中学习，用最近几个月的记录检验。

    服务使用最新的、效果超过规则打分的模型；没有这样的模型时仍用规则打分。
    """
    from matcher.learning.registry import choose_ranker
    from matcher.learning.train import train
    from matcher.store.db import session_factory

    engine = ctx.obj.engine()
    report = train(engine, test_months=test_months, eta=position_bias)
    with session_factory(engine)() as session:
        serving, note = choose_ranker(session)
    if fmt == "json":
        typer.echo(json.dumps({**report.as_dict(), "serving": serving.version, "serving_note": note},
                              ensure_ascii=False, indent=1, default=str))
        return
    w = report.window
    if w:
        typer.echo(f"跟进记录 {w['first_event']} 至 {w['last_event']}；{w['train_until']} 之前的用于训练，"
                   f"{w['test_from']} 起的用于检验（{w['test_months']} 个月）")
    typer.echo("数量：" + "，".join(f"{COUNT_WORDS.get(k, k)} {v}" for k, v in report.counts.items()))
    if report.eta is not None:
        typer.echo(f"位置偏差系数 eta：{report.eta:.2f}")
    if report.table:
        typer.echo("\n| 排序方式 | nDCG@10 | 签约配对的前 10 名召回率（recall@10） | 检验需求数 | 签约配对数 |")
        typer.echo("|---|---|---|---|---|")
        for row in report.table:
            ranker = RANKER_WORDS.get(row["ranker"], row["ranker"])
            typer.echo(f"| {ranker} | {row['nDCG@10']:.3f} | {row['recall@10']:.3f} | {row['needs']} | "
                       f"{row['contracted_pairs']} |")
    if report.weights:
        from matcher.matching.features import FEATURES

        typer.echo("\n| 特征 | 规则打分权重 | 学到的权重 |\n|---|---|---|")
        for name, value in report.weights.items():
            typer.echo(f"| {FEATURES.get(name, name)}（{name}） | {report.base_weights.get(name, 0.0):.3f} | "
                       f"{value:.3f} |")
    typer.echo(f"\n模型 {report.version}：{report.note}\n当前使用：{note}")


def models_command(ctx: typer.Context,
                   fmt: str = typer.Option("table", "--format", help="输出格式：table（表格）或 json。")) -> None:
    """已保存的排序模型，最新的在前。

    每个模型是否超过规则打分，以及检验指标和所用数据的时间段。
    """
    from matcher.learning.registry import list_models
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        stored = list_models(session)
    if fmt == "json":
        typer.echo(json.dumps(stored, ensure_ascii=False, indent=1))
        return
    if not stored:
        typer.echo("还没有训练过排序模型（训练：cxy train）")
    for m in stored:
        mark = "超过规则打分（是这类模型中最新的即被使用）" if m["beat_scorer"] else "未超过规则打分，不使用"
        typer.echo(f"{m['version']}  {m['created_at']}  {mark}\n    {m['note']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("models")(models_command)
