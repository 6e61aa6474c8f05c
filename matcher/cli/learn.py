"""``cxy train`` and ``cxy models``: learn a ranker from the outcomes and list the stored ones."""

import json

import typer


def train_command(ctx: typer.Context,
                  test_months: int = typer.Option(3, "--test-months", help="Calendar months held out as the test."),
                  position_bias: float = typer.Option(None, "--position-bias",
                                                      help="eta in P(looked at | rank) = rank^-eta "
                                                      "(default: estimated from the outcomes)."),
                  fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """Learn a ranker from which proposals became contracts; judge it on the last months; store it.
    The service uses the newest model that beat the transparent scorer, else the scorer."""
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
        typer.echo(f"events {w['first_event']} .. {w['last_event']}; train before {w['train_until']}, "
                   f"test from {w['test_from']} ({w['test_months']} months)")
    typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in report.counts.items()))
    if report.eta is not None:
        typer.echo(f"position bias eta: {report.eta:.2f}")
    if report.table:
        typer.echo("\n| ranker | nDCG@10 | recall@10 of contracted | test needs | contracted pairs |")
        typer.echo("|---|---|---|---|---|")
        for row in report.table:
            typer.echo(f"| {row['ranker']} | {row['nDCG@10']:.3f} | {row['recall@10']:.3f} | {row['needs']} | "
                       f"{row['contracted_pairs']} |")
    if report.weights:
        typer.echo("\n| feature | scorer | learned |\n|---|---|---|")
        for name, value in report.weights.items():
            typer.echo(f"| {name} | {report.base_weights.get(name, 0.0):.3f} | {value:.3f} |")
    typer.echo(f"\nmodel {report.version}: {report.note}\nserving: {note}")


def models_command(ctx: typer.Context, fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """Stored rankers, newest first: whether each beat the scorer, its metrics and data window."""
    from matcher.learning.registry import list_models
    from matcher.store.db import session_factory

    with session_factory(ctx.obj.engine())() as session:
        stored = list_models(session)
    if fmt == "json":
        typer.echo(json.dumps(stored, ensure_ascii=False, indent=1))
        return
    if not stored:
        typer.echo("no trained rankers yet (cxy train)")
    for m in stored:
        mark = "served if newest winner" if m["beat_scorer"] else "not served"
        typer.echo(f"{m['version']}  {m['created_at']}  {mark}\n    {m['note']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("models")(models_command)
