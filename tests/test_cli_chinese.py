"""Everything a clerk reads from `cxy` is Simplified Chinese: every command's help, every option's and
argument's help, and the messages of the usual mistakes (with the exit code scripts rely on)."""

import re

import pytest
import typer
from typer.testing import CliRunner

from matcher.cli import app

CHINESE = re.compile(r"[\u4e00-\u9fff]")

def _walk(command, path=()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(typer.main.get_command(app)))


def test_the_walk_finds_every_command_of_the_contract():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {
        "import",
        "match need",
        "match enterprise",
        "match text",
        "firms team",
        "firms text",
        "challenge candidates",
        "feedback record",
        "train",
        "report monthly",
        "serve",
        "user create",
        "dedupe",
        "merge",
    } <= names


@pytest.mark.parametrize(
    "path, command",
    [
        pytest.param(path, command, id=" ".join(path) or "cxy")
        for path, command in COMMANDS
    ],
)
def test_help_of_every_command_option_and_argument_is_chinese(path, command, tmp_path):
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), *path, "--help"])
    assert result.exit_code == 0, result.output
    assert CHINESE.search(command.help or ""), f"cxy {' '.join(path)}: help {command.help!r}"
    assert command.help.split("\n")[0][:8] in result.output  # the help shown is this help
    untranslated = [(p.name, p.help) for p in command.params if not CHINESE.search(p.help or "")]
    assert not untranslated, f"cxy {' '.join(path)}: options/arguments without Chinese help: {untranslated}"
    # typer's own words (matcher/cli/chinese.py): the panel titles; "Usage:" and "--help"'s text are
    # English f-strings in typer's bundled click and stay so.
    assert "选项" in result.output and "Options" not in result.output
    if getattr(command, "commands", None):
        assert "命令" in result.output and "Commands" not in result.output


ERRORS = [
    ("unknown format", ["match", "text", "陶瓷", "--format", "xml"], 2, "不认识的输出格式 'xml'"),
    (
        "unknown format of a report",
        ["report", "monthly", "--month", "2026-11", "--format", "csv"],
        2,
        "不认识的输出格式 'csv'",
    ),
    ("missing query", ["match", "text"], 2, "请给出查询文字，或用 --queries 指定查询文件"),
    ("query and file both", ["firms", "text", "陶瓷", "--queries", "q.txt"], 2, "二者选一"),
    ("missing query file", ["match", "text", "--queries", "nowhere.txt"], 1, "找不到查询文件"),
    ("unknown id", ["match", "need", "N999"], 1, "没有编号为 N999 的需求"),
    ("unknown kind", ["import", "people", "x.csv"], 2, "未知的数据类型「people」"),
    ("a bad --month", ["report", "monthly", "--month", "2026-13"], 2, "月份 '2026-13' 写法不对：请写成 YYYY-MM"),
    ("a bad funnel grouping", ["funnel", "--by", "weather"], 2, "不能按 'weather' 分组"),
    ("unknown command", ["matsch"], 2, "没有 'matsch' 这个命令"),
]


@pytest.mark.parametrize("args, code, message", [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_mistakes_are_told_in_chinese_with_the_exit_code(cli, args, code, message):
    result = cli(*args, ok=False)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Error" not in result.output  # neither our "Error: …" nor typer's error panel title


def test_a_mistyped_password_is_asked_for_again_in_chinese(tmp_path):
    typed = "clerk-pass-1\nclerk-pass-2\nclerk-pass-1\nclerk-pass-1\n"
    result = CliRunner().invoke(
        app, ["--db", str(tmp_path / "x.db"), "user", "create", "张三", "--role", "bureau"], input=typed
    )
    assert result.exit_code == 0, result.output
    assert "两次输入的密码不一致，请重新输入。" in result.output and "已新建账号 张三" in result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["match", "need", *[f"N{i}" for i in range(1001)]], "编号或名称有 1001 个，一次最多 1000 个"),
        (["match", "text", "陶" * 5001], "查询有 5001 个字，最多 5000 个字"),
    ],
    ids=["too many ids", "too long a text"],
)
def test_limits_are_said_before_anything_loads(args, said, tmp_path):
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), *args])
    assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "x.db.index").exists()


def test_a_queries_file_over_the_limits_is_refused_with_its_line(tmp_path):
    long_line = tmp_path / "long.txt"
    long_line.write_text("窑炉余热\n" + "陶" * 5001 + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), "match", "text", "--queries", str(long_line)])
    assert result.exit_code == 1 and "第 2 行：查询有 5001 个字，每条最多 5000 个字" in result.output
    many = tmp_path / "many.txt"
    many.write_text("\n".join(f"需求 {i}" for i in range(1001)), encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), "firms", "text", "--queries", str(many)])
    assert result.exit_code == 2 and "里的查询有 1001 个，一次最多 1000 个" in result.output
