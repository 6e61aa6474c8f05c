"""Finding records by name (matcher.lookup): fragments, short names with places, typos, pinyin initials
and ids on the sample's real names; ambiguous names; command-line arguments resolved before any model."""

import json

import pytest

from matcher.lookup.forms import forms
from matcher.lookup.names import Hit, NameIndex
from matcher.lookup.records import name_pairs
from matcher.store.db import open_database
from tests.conftest import SAMPLE, Cli, new_db

XINRUI = "萍乡市湘东区鑫瑞化工填料有限公司"  # in the sample twice: E101 and E301 (the same firm entered twice)
HUIDING = "萍乡市汇鼎环保陶瓷有限公司"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Cli:
    """The sample imported (no index: nothing here needs the model)."""
    cli = new_db(tmp_path_factory.mktemp("names"), "names.db")
    cli("import", "all", SAMPLE)
    return cli


@pytest.fixture(scope="module")
def firms(sample) -> NameIndex:
    engine = open_database(sample.url)
    pairs = name_pairs(engine, "enterprise")
    engine.dispose()
    assert len(pairs) == 90
    return NameIndex(pairs)


def found(index: NameIndex, query: str, limit: int = 20) -> list[tuple[str, str]]:
    return [(h.id, h.how) for h in index.search(query, limit)]


def test_a_fragment_of_the_name_finds_the_enterprise(firms):
    assert found(firms, "鑫瑞") == [("E101", "名称包含"), ("E301", "名称包含")]
    assert found(firms, "鑫瑞化工")[:2] == [("E101", "名称包含"), ("E301", "名称包含")]
    assert found(firms, "华泰") == [("E203", "名称包含")]
    hit = firms.search("汇鼎环保")[0]
    assert hit == Hit("E102", HUIDING, hit.score, "名称包含") and 0.7 <= hit.score <= 0.95


def test_the_full_name_in_any_spelling_is_the_same_name(firms):
    spellings = (XINRUI, "鑫瑞化工填料有限公司", "萍鄉市湘東區鑫瑞化工填料有限公司",
                 " 萍乡市湘东区 鑫瑞化工填料（有限公司） ")
    for query in spellings:
        hits = firms.search(query)
        assert [(h.id, h.how) for h in hits[:2]] == [("E101", "名称相同"), ("E301", "名称相同")], query
        assert all(h.how == "近似名称" for h in hits[2:])


def test_a_place_and_a_short_name_find_names_that_spell_the_place_out_or_put_it_elsewhere(firms):
    assert found(firms, "芦溪华源") == [("E112", "名称包含")]  # 萍乡市芦溪县华源粉体材料有限公司
    assert found(firms, "芦溪翼联") == [("E602", "名称包含")]  # 江西芦溪翼联复合材料科技有限公司
    assert found(firms, "湘东鑫瑞") == [("E101", "名称包含"), ("E301", "名称包含")]
    # 华源 is in 芦溪县, not 莲花县: only a near name then, scored below the same query with the right place
    wrong, right = firms.search("莲花华源"), firms.search("芦溪华源")
    assert [(h.id, h.how) for h in wrong] == [("E112", "近似名称")] and wrong[0].score < 0.6 < right[0].score
    # The sample has no 华电: nothing, rather than every firm in 芦溪 with a 华 or a 电 in its name.
    assert firms.search("芦溪华电") == []
    index = NameIndex([("E9", "江西芦溪华电电瓷有限公司"), ("E8", "萍乡市芦溪县华电电力设备有限公司"),
                       ("E7", "江西华电检修公司")])
    assert found(index, "芦溪华电") == [("E9", "名称包含"), ("E8", "名称包含"), ("E7", "近似名称")]  # E7: not in 芦溪
    assert forms("江西芦溪华电电瓷有限公司").core == "华电电瓷" and forms("芦溪华电").places == ("芦溪",)


def test_typos_find_the_enterprise_by_sound_or_by_characters(firms):
    hits = firms.search("汇鼎环宝")  # 宝 for 保: same sound
    assert (hits[0].id, hits[0].how) == ("E102", "近似名称") and hits[0].score < 0.6
    assert firms.resolve("汇鼎环宝", "企业") == "E102"
    assert found(firms, "鑫锐化工")[:2] == [("E101", "近似名称"), ("E301", "近似名称")]
    assert found(firms, "鑫端化工")[:2] == [("E101", "近似名称"), ("E301", "近似名称")]  # another character
    assert found(firms, "台升电子")[0] == ("E405", "名称包含")  # 昇 and 升 are one character in simplified
    assert found(firms, "鑫锐") == [("E101", "近似名称"), ("E301", "近似名称")]  # two characters: homophones only


def test_pinyin_initials(firms):
    assert found(firms, "xrhg") == [("E101", "拼音首字母"), ("E301", "拼音首字母")]
    assert found(firms, "HDHB") == [("E102", "拼音首字母")]
    assert firms.resolve("hdhb", "企业") == "E102"
    # every reading of a polyphonic character counts: 重庆 is cq, 银行 yh
    index = NameIndex([("B1", "重庆银行股份有限公司"), ("B2", "重型机械厂")])
    assert found(index, "cqyh") == [("B1", "拼音首字母")] and found(index, "zxjx") == [("B2", "拼音首字母")]


def test_ids_work_as_before_and_rank_first(firms):
    assert firms.search("E101") [0] == Hit("E101", XINRUI, 1.0, "编号")
    assert firms.search("e102")[0].id == "E102"
    assert firms.resolve("E101", "企业") == "E101" and firms.resolve(" e301 ", "企业") == "E301"
    assert firms.search("") == [] and firms.search("   ") == [] and firms.search("鑫瑞", limit=1)[0].id == "E101"


def test_an_ambiguous_name_raises_with_the_candidates(firms):
    with pytest.raises(LookupError) as raised:
        firms.resolve("恒钰", "企业")
    message = str(raised.value)
    assert "江西恒钰精密陶瓷有限公司 (E103)" in message and "萍乡恒钰锂业科技有限公司 (E502)" in message
    assert "不止一个" in message
    with pytest.raises(LookupError, match=r"E101\).*E301\).*名称完全相同"):
        firms.resolve("鑫瑞化工", "企业")
    with pytest.raises(LookupError) as raised:
        firms.resolve("萍乡", "企业")  # most names: five shown, and how many there are
    assert str(raised.value).count(" (E") + str(raised.value).count(" (SV-") == 5 and "等 " in str(raised.value)
    with pytest.raises(LookupError, match="没有找到与「芦溪华电」相符的企业"):
        firms.resolve("芦溪华电", "企业")
    assert firms.resolve("芦溪华源", "企业") == "E112"


def test_need_team_and_challenge_titles_resolve_by_fragment(sample):
    engine = open_database(sample.url)
    try:
        needs, teams, challenges = (NameIndex(name_pairs(engine, k)) for k in ("need", "team", "challenge"))
    finally:
        engine.dispose()
    assert needs.resolve("硫酸干吸塔", "需求") == "N101"
    assert teams.resolve("化工陶瓷填料", "团队") == "T107"
    assert challenges.resolve("氮化硅陶瓷球", "榜单") == "C12"


# ---- the command line -----------------------------------------------------------------------------
def test_the_command_line_resolves_names_before_loading_anything(sample):
    # The sample copy has no index: a name that resolves gets as far as the missing index, and says which
    # record it took; an ambiguous or unknown name stops before that, with the candidates.
    out = sample("match", "enterprise", "汇鼎环宝", ok=False)
    assert out.exit_code == 1 and f"企业「汇鼎环宝」→ {HUIDING} (E102)" in out.stderr and "index build" in out.stderr
    out = sample("match", "enterprise", "恒钰", ok=False)
    assert out.exit_code == 1 and "(E103)" in out.stderr and "(E502)" in out.stderr and "index" not in out.stderr
    out = sample("match", "need", "硫酸干吸塔", ok=False)
    assert "需求「硫酸干吸塔」→ 陶瓷填料在硫酸干吸塔里碎环、掉渣 (N101)" in out.stderr
    out = sample("firms", "team", "化工陶瓷填料", ok=False)
    assert "团队「化工陶瓷填料」→ 化工陶瓷填料研究团队 (T107)" in out.stderr
    out = sample("challenge", "candidates", "氮化硅陶瓷球", ok=False)
    assert "榜单「氮化硅陶瓷球」→" in out.stderr and "(C12)" in out.stderr
    out = sample("challenge", "consortium", "华电", ok=False)
    assert out.exit_code == 1 and "没有找到与「华电」相符的榜单" in out.stderr
    # Ids go through untouched, unknown ones reported by the command as before.
    out = sample("match", "enterprise", "E102", ok=False)
    assert "→" not in out.stderr and "index build" in out.stderr
    out = sample("match", "enterprise", "E999", ok=False)
    assert out.exit_code == 1 and "E999" in out.stderr and "→" not in out.stderr and "相符" not in out.stderr


def test_a_name_gives_the_same_list_as_its_id(sample_db):
    cli = Cli(sample_db)
    out = cli("match", "enterprise", "E102", "汇鼎环保", "--top", "3", "--format", "json")
    by_id, by_name = (json.loads(line) for line in out.stdout.strip().splitlines())
    assert by_id["query"]["enterprise_id"] == by_name["query"]["enterprise_id"] == "E102"
    assert [r["team_id"] for r in by_id["results"]] == [r["team_id"] for r in by_name["results"]]
    assert len(by_id["results"]) == 3
