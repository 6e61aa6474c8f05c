"""The synthetic corpus generator: reproducible by seed, sized as asked, importable."""

from matcher.synthetic import CorpusSize, generate_corpus


def test_same_seed_writes_the_same_corpus_and_another_seed_does_not(tmp_path):
    size = CorpusSize(achievements=300)
    generate_corpus(tmp_path / "a", size, seed=7)
    generate_corpus(tmp_path / "b", size, seed=7)
    generate_corpus(tmp_path / "c", size, seed=8)
    text = {name: (tmp_path / name / "achievements.jsonl").read_text(encoding="utf-8") for name in "abc"}
    assert text["a"] == text["b"] != text["c"]


def test_a_generated_corpus_imports_with_the_requested_sizes(cli, tmp_path):
    result = cli("generate", tmp_path / "syn", "--achievements", 500, "--enterprises", 40, "--seed", 3)
    assert "团队 100，成果 500，企业 40，需求 60" in result.output
    cli("import", "all", tmp_path / "syn")

    assert cli.query("SELECT count(*) FROM achievements") == [(500,)]
    assert cli.query("SELECT count(*) FROM teams WHERE id NOT IN (SELECT team_id FROM achievements)") == [(0,)]
    assert cli.query("SELECT count(DISTINCT enterprise_id) FROM needs") == [(40,)]
