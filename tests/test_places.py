"""Place names: cities are stored in one form (萍乡, not 萍乡市) so "same city" can be seen, and ranking
compares cities the same way even in databases imported before that."""


import pytest

from matcher.ingest.values import city_name
from matcher.matching.catalog import Catalog
from matcher.matching.features import region_value
from matcher.store.db import open_database, session_factory
from tests.conftest import write_csv, write_xlsx


@pytest.mark.parametrize(("raw", "expected"), [
    ("萍乡市", "萍乡"), ("萍乡", "萍乡"), (" 南昌市　", "南昌"), ("南昌", "南昌"), ("萍乡 市", "萍乡"),
    ("阿克苏地区", "阿克苏"), ("大兴安岭地区", "大兴安岭"),
    ("沙市", "沙市"), ("市", "市"), ("地区", "地区"),  # fewer than two characters would remain
    ("湘西土家族苗族自治州", "湘西土家族苗族自治州"), ("湘西州", "湘西州"), ("锡林郭勒盟", "锡林郭勒盟"),
    ("上海", "上海"), ("上海市", "上海"), ("Ｐｉｎｇｘｉａｎｇ", "Pingxiang"),
    (None, None), ("", None), ("-", None), ("  ", None),
])
def test_city_name_drops_only_the_generic_suffix(raw, expected):
    assert city_name(raw) == expected


def import_pair(cli, tmp_path, institution_city: str, enterprise_city: str) -> None:
    cli("import", "institutions", write_csv(tmp_path / "institutions.csv", [
        ["id", "name", "type", "province", "city", "tier"],
        ["I1", "萍乡学院", "university", "江西", institution_city, "地方本科"],
        ["I2", "南昌大学", "university", "江西省", "南昌市", "双一流"],
    ]))
    cli("import", "teams", write_csv(tmp_path / "teams.csv", [
        ["id", "institution_id", "name"], ["T1", "I1", "电瓷团队"], ["T2", "I2", "材料团队"]]))
    # Chinese headers under a title row, as the bureau's ledger has them.
    cli("import", "enterprises", write_xlsx(tmp_path / "enterprises.xlsx", {"台账": [
        ["萍乡市企业科技创新工作台账"],
        ["企业编号", "企业名称", "省份", "城市", "所属县区"],
        ["E1", "萍乡市某某电瓷有限公司", "江西", enterprise_city, "芦溪县"],
        ["E2", "萍乡市某某填料有限公司", "江西省", None, "湘东区"],
    ]}))


def test_imported_cities_are_stored_without_the_city_suffix(cli, tmp_path):
    import_pair(cli, tmp_path, "萍乡", "萍乡市")

    assert cli.query("SELECT id, province, city FROM institutions ORDER BY id") == [
        ("I1", "江西", "萍乡"), ("I2", "江西", "南昌")]
    assert cli.query("SELECT id, province, city FROM enterprises ORDER BY id") == [
        ("E1", "江西", "萍乡"), ("E2", "江西", "萍乡")]  # E2's city filled in from its county, 湘东区


def region_values(cli) -> dict[tuple[str, str], float]:
    with session_factory(open_database(cli.url))() as session:
        catalog = Catalog.load(session)
    return {(t, e): region_value(catalog, t, e) for t in ("T1", "T2") for e in ("E1", "E2")}


def test_same_city_counts_after_import(cli, tmp_path):
    import_pair(cli, tmp_path, "萍乡", "萍乡市")

    assert region_values(cli) == {("T1", "E1"): 1.0, ("T2", "E1"): 0.5, ("T1", "E2"): 1.0, ("T2", "E2"): 0.5}


def test_same_city_counts_in_a_database_imported_before_cities_were_normalised(cli, tmp_path):
    import_pair(cli, tmp_path, "萍乡", "萍乡市")
    # what an older import stored: the cells as written
    cli.query("UPDATE enterprises SET city='萍乡市' WHERE id='E1'")
    cli.query("UPDATE institutions SET city='南昌市' WHERE id='I2'")

    assert cli.query("SELECT city FROM enterprises WHERE id='E1'") == [("萍乡市",)]
    assert region_values(cli) == {("T1", "E1"): 1.0, ("T2", "E1"): 0.5, ("T1", "E2"): 1.0, ("T2", "E2"): 0.5}


def test_place_filters_accept_either_spelling(sample_db):
    import json

    from tests.conftest import Cli

    cli = Cli(sample_db)
    for province, city in (("江西省", "萍乡市"), ("江西", "萍乡")):
        out = json.loads(cli("match", "need", "N101", "--province", province, "--city", city,
                             "--format", "json").output)
        assert out["results"] and {(r["explanation"]["team"]["province"], r["explanation"]["team"]["city"])
                                    for r in out["results"]} == {("江西", "萍乡")}
    firms = json.loads(cli("firms", "team", "T101", "--city", "萍乡市", "--format", "json").output)
    assert firms["results"]


def test_a_selective_place_filter_searches_inside_the_place_and_fills_the_list(sample_db, encoder, monkeypatch):
    """The filter is applied to retrieval (a WHERE clause in pgvector), not to the unfiltered candidates: with
    only 10 candidates scored per query, 萍乡's teams hardly ever make them, yet the filtered list is full of
    萍乡 teams at the scores they have in the list of every team."""
    import matcher.matching.teams_for_needs as teams_for_needs
    from matcher.matching.options import MatchOptions
    from matcher.matching.service import MatchService
    from matcher.settings import database_url

    service = MatchService(open_database(database_url(str(sample_db))), encoder, store_runs=False)
    text = "高压电瓷绝缘子的釉面开裂与烧成"
    everything = MatchOptions(top=60, diversity="none", explore=0)
    whole = {r["team_id"]: r["score"] for r in service.match_text(text, everything).as_dict()["results"]}
    monkeypatch.setattr(teams_for_needs, "CANDIDATES", 10)
    unfiltered_top = [r["team_id"] for r in service.match_text(text, everything).as_dict()["results"]]
    in_city = MatchOptions(top=5, city="萍乡", diversity="none", explore=0)
    listed = service.match_text(text, in_city).as_dict()["results"]
    assert len(listed) == 5 and {r["explanation"]["team"]["city"] for r in listed} == {"萍乡"}
    assert sum(service.catalog.institution_of(t).city == "萍乡" for t in unfiltered_top) < 5
    assert all(r["score"] == whole[r["team_id"]] for r in listed if r["team_id"] in whole)
    assert [r["score"] for r in listed] == sorted((r["score"] for r in listed), reverse=True)
