"""The ``cxy`` command line. Each command group lives in its own module; this one wires them up."""

from dataclasses import dataclass

import typer

from matcher.settings import Settings, database_url

app = typer.Typer(
    help="cxy-matcher: 产学研 matchmaking for science & technology bureaus.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class State:
    db_url: str

    def engine(self):
        from matcher.store.db import open_database

        return open_database(self.db_url)


@app.callback()
def _root(
    ctx: typer.Context,
    db: str = typer.Option(None, "--db", help="Database URL or SQLite file path (env CXY_DB; default cxy.db)."),
) -> None:
    ctx.obj = State(database_url(db or Settings().db))


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
