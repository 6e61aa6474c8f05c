"""The ``cxy`` command line. Each command group lives in its own module; this one wires them up."""

from dataclasses import dataclass

import typer

from matcher.cli.chinese import install as install_chinese
from matcher.cli.constants import database_url, default_db

install_chinese()  # typer's own words too: help panel titles, [default: …], the error panel

app = typer.Typer(
    help="cxy-matcher：为科技局做产学研对接，给企业技术需求找合适的高校院所团队，也给团队找有需求的企业。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class State:
    db_url: str
    verbose: bool = False  # say on stderr who computed a list (a running server or this process)

    def engine(self):
        """The database; a command that has to wait for another writer says so instead of hanging silently."""
        from matcher.store.db import BUSY_TIMEOUT_MS, open_database

        def say_waiting() -> None:
            typer.echo(
                f"数据库正被另一个导入或写入占用，正在等待它完成（最多 {BUSY_TIMEOUT_MS // 1000} 秒）…", err=True
            )

        return open_database(self.db_url).execution_options(on_wait=say_waiting)


@app.callback()
def _root(
    ctx: typer.Context,
    db: str = typer.Option(
        None, "--db", help="数据库地址或 SQLite 文件路径（也可用环境变量 CXY_DB；默认是当前文件夹的 cxy.db）。"
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="在标准错误上说明推荐结果由谁计算：正在运行的 cxy serve，还是本进程。"
    ),
) -> None:
    ctx.obj = State(database_url(db or default_db()), verbose)


from matcher.cli import challenge, data, feedback, index, learn, match, report, serve, users  # noqa: E402  (each registers its commands on ``app``)

data.register(app)
index.register(app)
match.register(app)
challenge.register(app)
feedback.register(app)
learn.register(app)
report.register(app)
serve.register(app)
users.register(app)


def main() -> None:
    app()
