"""Give the dense encoder a representation for technical characters its vocabulary lacks.

multilingual-e5's sentencepiece vocabulary has no piece for many element and chemistry characters
(镝 铈 镓 锆 砼 喹 啉 ...): each becomes ``<unk>``, so 氮化镓 and 氮化铈 encode alike, in exactly the
rare-earth, new-material and chemistry texts of Jiangxi's priority industries. ``dense_text`` rewrites
them for the encoder only (the lexical retrievers and what people read keep the original text):

- an element becomes its symbol (镝 -> Dy, 钐钴 -> Sm钴, 氮化镓 -> 氮化Ga), which the vocabulary knows
  and which technical writing uses beside the name; the English name was measured as the alternative
  (bench/rare_chars.py, cross-validated on the blind set);
- a few chemistry words become their English name (喹啉 -> quinoline), a few characters their common
  synonym (砼 -> 混凝土, 煅烧 -> 焙烧).

Source of the tables: the characters below are every element name (Z <= 103) and every technical
character of the sample, the blind needs and CSL dev that the bundled model's tokenizer maps to
``<unk>`` (checked by tests/test_rare_chars.py against the tokenizer); symbols and English names are
IUPAC's, the chemistry words standard nomenclature (吡啶 pyridine, 哌嗪 piperazine ...).
Non-technical rare characters (蜜饯 扦插 颞叶 ...) are left alone: no mapping was measured for them.
"""

import re

# element character -> (symbol, English name); only those without a vocabulary piece
ELEMENTS: dict[str, tuple[str, str]] = {
    "铍": ("Be", "beryllium"), "氖": ("Ne", "neon"), "氩": ("Ar", "argon"), "钪": ("Sc", "scandium"),
    "镓": ("Ga", "gallium"), "铷": ("Rb", "rubidium"), "锶": ("Sr", "strontium"), "钇": ("Y", "yttrium"),
    "锆": ("Zr", "zirconium"), "锝": ("Tc", "technetium"), "钌": ("Ru", "ruthenium"), "铑": ("Rh", "rhodium"),
    "碲": ("Te", "tellurium"), "铯": ("Cs", "caesium"), "钡": ("Ba", "barium"), "镧": ("La", "lanthanum"),
    "铈": ("Ce", "cerium"), "镨": ("Pr", "praseodymium"), "钷": ("Pm", "promethium"), "钐": ("Sm", "samarium"),
    "铕": ("Eu", "europium"), "钆": ("Gd", "gadolinium"), "铽": ("Tb", "terbium"), "镝": ("Dy", "dysprosium"),
    "钬": ("Ho", "holmium"), "铒": ("Er", "erbium"), "铥": ("Tm", "thulium"), "镱": ("Yb", "ytterbium"),
    "镥": ("Lu", "lutetium"), "铪": ("Hf", "hafnium"), "钽": ("Ta", "tantalum"), "铼": ("Re", "rhenium"),
    "锇": ("Os", "osmium"), "铱": ("Ir", "iridium"), "铋": ("Bi", "bismuth"), "钋": ("Po", "polonium"),
    "砹": ("At", "astatine"), "钫": ("Fr", "francium"), "锕": ("Ac", "actinium"), "镤": ("Pa", "protactinium"),
    "镎": ("Np", "neptunium"), "钚": ("Pu", "plutonium"), "镅": ("Am", "americium"), "锔": ("Cm", "curium"),
    "锫": ("Bk", "berkelium"), "锎": ("Cf", "californium"), "锿": ("Es", "einsteinium"), "镄": ("Fm", "fermium"),
    "钔": ("Md", "mendelevium"), "锘": ("No", "nobelium"), "铹": ("Lr", "lawrencium"),
}
# chemistry words (longest match first) and single characters; the words come before the characters
TERMS: dict[str, str] = {
    "邻菲罗啉": "phenanthroline", "菲罗啉": "phenanthroline", "吡虫啉": "imidacloprid", "啶虫脒": "acetamiprid",
    "喹啉": "quinoline", "卟啉": "porphyrin", "吗啉": "morpholine", "哌嗪": "piperazine", "哌啶": "piperidine",
    "嘧啶": "pyrimidine", "亚砜": "sulfoxide", "巯基": "mercapto", "羰基": "carbonyl",
    "砼": "混凝土", "煅": "焙", "砜": "sulfone", "肼": "hydrazine", "羰": "carbonyl", "肟": "oxime",
    "脒": "amidine", "巯": "mercapto", "朊": "prion", "焓": "enthalpy",
}
STYLES = ("symbol", "name")
DEFAULT_STYLE = "symbol"
_WORDS = re.compile("|".join(sorted(map(re.escape, [*TERMS, *ELEMENTS]), key=len, reverse=True)))
_LATIN = re.compile(r"[A-Za-z]")


def _replacement(piece: str, style: str) -> str:
    if piece in TERMS:
        return TERMS[piece]
    symbol, name = ELEMENTS[piece]
    return symbol if style == "symbol" else name


def dense_text(text: str, style: str = DEFAULT_STYLE) -> str:
    """``text`` with the encoder-invisible characters rewritten. A Latin replacement that would touch
    another Latin letter is set off by a space (铈镧 -> "Ce La", 氧化锆YSZ -> "氧化Zr YSZ")."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    if not text or not _WORDS.search(text):
        return text
    out: list[str] = []
    last = 0
    for match in _WORDS.finditer(text):
        out.append(text[last : match.start()])
        word = _replacement(match[0], style)
        if _LATIN.match(word):
            before = "".join(out)[-1:]
            after = text[match.end() : match.end() + 1]
            word = (" " if _LATIN.match(before) else "") + word + (" " if _LATIN.match(after) else "")
        out.append(word)
        last = match.end()
    out.append(text[last:])
    return "".join(out)
