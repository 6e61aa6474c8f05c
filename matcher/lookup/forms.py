"""The forms a name is compared in.

* ``full``: the project's normal form (``embeddings.normalize``: traditional -> simplified, full-width ->
  half-width) lower-cased, without spaces and punctuation: 萍乡市湘东区鑫瑞化工填料有限公司.
* ``body``: ``full`` without the legal form at its end (有限公司, 股份有限公司, 集团 ...; 团队, 课题组 for teams).
* ``core``: ``body`` without the places it starts with (江西, 萍乡市, 湘东区, 芦溪 ... from the official list of
  administrative divisions), so 芦溪华电 meets 江西芦溪华电电瓷有限公司 and 鑫瑞化工 meets 萍乡市湘东区鑫瑞化工填料;
  the places stripped are kept (their short names) so a query's place can be checked against the name.
* ``sounds``: a text with each Chinese character replaced by one symbol per toneless syllable, so a
  homophone typo (鑫锐 for 鑫瑞, the usual slip of a pinyin keyboard) differs from the name in nothing.
* ``initials``: the pinyin initials of a text (xrhgtl); a character with several readings of different
  initials (重: z, c, t) counts as any of them.

Everything works on lists, so an index of 20,000 names is prepared with a few C-level passes (one
normaliser call, ``str.translate`` tables) instead of a Python loop per character.
"""

import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

from embeddings.normalize import normalize_text

_JOIN = "\ue000"  # joins a batch for one normaliser call: kept by NFKC and OpenCC, neither space nor word
_DROP = re.compile(r"[^\w\ue000]+|_+")  # spaces, punctuation, brackets, symbols
LEGAL = tuple(sorted({f"{group}{shares}有限{liability}公司" for group in ("", "集团") for shares in ("", "股份")
                      for liability in ("", "责任")}
                     | {"股份公司", "总公司", "分公司", "集团公司", "有限合伙", "合伙企业", "公司", "集团", "厂",
                        "研究团队", "团队", "课题组"}, key=len, reverse=True))
_LEGAL_SET, _LEGAL_LENGTHS = frozenset(LEGAL), tuple(sorted({len(s) for s in LEGAL}, reverse=True))
ZONES = ("经济技术开发区", "经济开发区", "经开区", "高新技术产业开发区", "高新区", "开发区")
_SUFFIX = re.compile(r"(?:特别行政区|壮族自治区|回族自治区|维吾尔自治区|自治区|自治州|自治县|地区|省|市|县|区|盟|旗)$")


class Forms(NamedTuple):  # a tuple: an index makes one per name
    full: str
    body: str
    core: str
    places: tuple[str, ...]  # short names of the places stripped from the front

    def fits_places(self, text: str) -> bool:
        """Whether every place this (query) form was stripped of is named in ``text`` (a name's full form)."""
        return all(place in text for place in self.places)


def full_forms(texts: list[str | None]) -> list[str]:
    texts = [t or "" for t in texts]
    if any(_JOIN in t for t in texts):
        return [_DROP.sub("", normalize_text(t).lower()) for t in texts]
    return _DROP.sub("", normalize_text(_JOIN.join(texts)).lower()).split(_JOIN) if texts else []


@dataclass(frozen=True)
class _Place:
    short: str
    level: int  # 1 province, 2 city, 3 county, 4 development zone
    code: str  # the division code's digits for its level ("36", "3603", "360323"); "" for a zone

    def may_follow(self, other: "_Place | None") -> bool:
        """Places are read in order, each inside the one before (江西 萍乡 芦溪): 振兴 after 萍乡市湘东区
        is part of the name (振兴区 is in 丹东), not a place."""
        if other is None:
            return True
        return self.level > other.level and (self.level == 4 or self.code.startswith(other.code))


@cache
def _places() -> dict[str, tuple[_Place, ...]]:
    """Every spelling of a province, city or county (full and short) -> the divisions it may name."""
    from matcher.ingest.places import divisions

    d = divisions()
    out: dict[str, list[_Place]] = {}
    for level, group in ((1, d.provinces.values()), (2, d.cities.values()), (3, d.counties)):
        for division in group:
            short = _SUFFIX.sub("", division.name)
            short = short if len(short) >= 2 else division.name
            place = _Place(short, level, division.code[:2 * level])
            for spelling in {division.name, short}:
                out.setdefault(spelling, []).append(place)
    for zone in ZONES:
        out[zone] = [_Place(zone, 4, "")]
    return {spelling: tuple(found) for spelling, found in out.items()}


@cache
def _place_lengths() -> dict[str, tuple[int, ...]]:
    """The first two characters of every place spelling -> the lengths of those spellings, longest first."""
    lengths: dict[str, set[int]] = {}
    for place in _places():
        lengths.setdefault(place[:2], set()).add(len(place))
    return {start: tuple(sorted(found, reverse=True)) for start, found in lengths.items()}


def _strip_places(body: str) -> tuple[str, tuple[str, ...]]:
    core, last, places, spellings, lengths = body, None, [], _places(), _place_lengths()
    while core[:2] in lengths:
        found = None
        for n in lengths[core[:2]]:
            if len(core) - n >= 2 and core[:n] in spellings:
                found = next((p for p in spellings[core[:n]] if p.may_follow(last)), None)
                if found is not None:
                    break
        if found is None:
            break
        core, last = core[n:], found
        places.append(found.short)
    return core, tuple(places)


def _split(full: str) -> Forms:
    body = full
    while body.endswith(LEGAL):  # 集团有限公司, 有限公司 ...; a name is never stripped below two characters
        for size in _LEGAL_LENGTHS:
            if len(body) - size >= 2 and body[-size:] in _LEGAL_SET:
                body = body[:-size]
                break
        else:
            break
    core, places = _strip_places(body)
    return Forms(full, body, core, places)


def forms_of(texts: list[str | None]) -> list[Forms]:
    return [_split(full) for full in full_forms(texts)]


def forms(text: str | None) -> Forms:
    return _split(full_forms([text])[0])


# ---- pinyin ------------------------------------------------------------------------------------------
@cache
def _pinyin_table() -> dict[str, str]:
    """pypinyin's character table (code point -> "pīn,yīn"), read from its data file: importing the package
    itself also loads its phrase tables (~1 s) that a name index does not use."""
    spec = importlib.util.find_spec("pypinyin")
    path = Path(next(iter(spec.submodule_search_locations or []), "")) / "pinyin_dict.json" if spec else None
    if path is not None and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    from pypinyin.pinyin_dict import pinyin_dict

    return {str(code): value for code, value in pinyin_dict.items()}


def _toneless(reading: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", reading) if c.isascii())


@cache
def _readings(char: str) -> tuple[str, ...]:
    value = _pinyin_table().get(str(ord(char)))
    return tuple(dict.fromkeys(_toneless(r) for r in value.split(","))) if value else ()


_SYLLABLES: dict[str, str] = {}  # syllable -> its private-use symbol
_SOUND: dict[int, str] = {}  # translate tables, grown as new characters are seen
_INITIAL: dict[int, str] = {}  # character -> its initial, or a symbol standing for its several initials
_SEVERAL: dict[str, frozenset[str]] = {}  # such a symbol -> the initials it stands for


def _learn(texts: list[str]) -> None:
    several = {letters: symbol for symbol, letters in _SEVERAL.items()}
    for char in set("".join(texts)) - {chr(code) for code in _SOUND}:
        readings = _readings(char)
        if not readings:
            _SOUND[ord(char)] = _INITIAL[ord(char)] = char
            continue
        # one symbol per syllable, so a sound string is as long as its text and fuzzy scores compare
        _SOUND[ord(char)] = _SYLLABLES.setdefault(readings[0], chr(0xE000 + len(_SYLLABLES)))
        letters = frozenset(r[0] for r in readings if r)
        if len(letters) == 1:
            _INITIAL[ord(char)] = readings[0][0]
        else:
            if letters not in several:
                several[letters] = chr(0xF0000 + len(_SEVERAL))
                _SEVERAL[several[letters]] = letters
            _INITIAL[ord(char)] = several[letters]


def sounds_of(texts: list[str]) -> list[str]:
    _learn(texts)
    return [t.translate(_SOUND) for t in texts]


def initials_of(texts: list[str]) -> list[str]:
    """Each text as its pinyin initials, a character with readings of different initials (重: z, c, t) as
    a symbol that ``initials_pattern`` lets stand for any of them."""
    _learn(texts)
    return [t.translate(_INITIAL) for t in texts]


def initials_pattern(letters: str) -> re.Pattern:
    """A pattern for typed initials over ``initials_of`` strings: each letter matches itself or a
    character one of whose readings starts with it."""
    parts = []
    for letter in letters.lower():
        symbols = "".join(symbol for symbol, options in _SEVERAL.items() if letter in options)
        parts.append(f"[{re.escape(letter)}{symbols}]" if symbols else re.escape(letter))
    return re.compile("".join(parts))


def is_initials_query(text: str) -> bool:
    return len(text) >= 2 and text.isascii() and text.isalpha()
