"""Parsers that turn one messy spreadsheet cell into a typed value, or raise ValueError saying why.

Cells arrive as str (CSV, JSONL), or as int/float/datetime (XLSX, JSONL). Empty cells and the usual
placeholders ("-", "/", "无" for text-free numbers, "面议") become None.
"""

import calendar
import math
import re
from datetime import date, datetime, timedelta

_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
EMPTY_MARKERS = {"", "-", "--", "—", "/", "\\", "n/a", "na", "null", "none", "nan"}
UNKNOWN_AMOUNT = {"面议", "待定", "不详", "未定", "待议", "协商"}


def halfwidth(text: str) -> str:
    """Full-width ASCII (ＡＢＣ１２３，) to half-width; Chinese characters are untouched."""
    return text.translate(_FULLWIDTH)


def clean_text(value: object) -> str | None:
    """Strip a cell; empty and placeholder cells become None. Whole numbers lose Excel's ``.0``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u00a0", " ").strip()
    return None if text.lower() in EMPTY_MARKERS else text


def parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = clean_text(value)
    if text is None:
        return None
    key = halfwidth(text).strip().lower()
    if key in {"是", "有", "true", "1", "yes", "y", "√", "✓", "t"}:
        return True
    if key in {"否", "无", "没有", "false", "0", "no", "n", "×", "✗", "f"}:
        return False
    raise ValueError("应填 是/否、有/无、true/false 或 1/0")


# A contract or budget above 一千亿元 is a typo or an attack (1e300 万元 was accepted and broke the funnel).
MAX_AMOUNT_WAN = 1e7
_AMOUNT_UNITS = (("亿元", 10000.0), ("亿", 10000.0), ("万元", 1.0), ("万", 1.0), ("元", 0.0001))


def parse_amount_wan(value: object) -> float | None:
    """An amount in 万元. Accepts 50, "50万元", "1,200", "1.2亿", "500000元"; 面议/待定 mean unknown."""
    if isinstance(value, bool):
        raise ValueError("应填金额（万元），不是 是/否")
    if isinstance(value, int | float):
        try:
            return _non_negative(float(value))
        except OverflowError:  # a JSON integer of hundreds of digits
            raise ValueError("金额" + NOT_FINITE) from None
    _refuse_nan_text(value)
    text = clean_text(value)
    if text is None or text in UNKNOWN_AMOUNT:
        return None
    text = halfwidth(text).replace(",", "").replace(" ", "")
    factor = 1.0
    for unit, unit_factor in _AMOUNT_UNITS:
        if text.endswith(unit):
            text, factor = text[: -len(unit)], unit_factor
            break
    try:
        number = float(text) * factor
    except ValueError:
        raise ValueError("应填金额（万元），如 50 或 50万元") from None
    return _non_negative(number)


NOT_FINITE = "应为有限的数字（不能是 NaN、Infinity 或 1e309 之类）"


def _refuse_nan_text(value: object) -> None:
    """"NaN" is an empty placeholder in a text column, but in a number column it is a broken number."""
    if isinstance(value, str) and value.strip().lower() == "nan":
        raise ValueError(NOT_FINITE)


def _non_negative(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError("金额" + NOT_FINITE)
    if number < 0:
        raise ValueError("金额不能为负")
    if number > MAX_AMOUNT_WAN:
        raise ValueError(f"金额 {number:g} 万元超过合理上限（{MAX_AMOUNT_WAN:g} 万元，即一千亿元），请检查单位")
    return number


def parse_int(value: object, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        raise ValueError(f"应填 {low} 到 {high} 之间的整数")
    _refuse_nan_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(NOT_FINITE)
    text = clean_text(value)
    if text is None:
        return None
    try:
        number = float(halfwidth(text))
    except ValueError:
        raise ValueError(f"应填 {low} 到 {high} 之间的整数") from None
    if not number.is_integer() or not low <= number <= high:
        raise ValueError(f"应填 {low} 到 {high} 之间的整数")
    return int(number)


_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(?:(\d{1,2})\s*日?)?|月)?(?:\s+\d{1,2}:\d{2}(:\d{2})?)?$"
)
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: object, month_end: bool = False) -> date | None:
    """2026-11-03, 2026/11/3, 2026.11.3, 2026年11月3日, an Excel date or serial number.

    A month without a day ("2027年6月") means its last day when ``month_end`` (deadlines), else its
    first day.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 20000 <= value <= 80000:
        return _EXCEL_EPOCH + timedelta(days=int(value))  # Excel serial day number
    text = clean_text(value)
    if text is None:
        return None
    match = _DATE.match(halfwidth(text))
    if not match:
        raise ValueError("应填日期，如 2026-11-03、2026/11/3 或 2026年11月3日")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ValueError(f"月份 {month} 不在 1 到 12 之间")
    day = int(match[3]) if match[3] else (calendar.monthrange(year, month)[1] if month_end else 1)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{year}-{month}-{day} 不是有效日期") from None


_LIST_SEPARATORS = re.compile(r"[;；、,，|\n]+")


def parse_list(value: object) -> list[str] | None:
    """A ``;`` separated list; the separators Chinese spreadsheets use (；、，) are accepted too."""
    if isinstance(value, list):
        items = [clean_text(item) for item in value]
    else:
        text = clean_text(value)
        if text is None:
            return None
        items = [item.strip() for item in _LIST_SEPARATORS.split(text)]
    return [item for item in items if item] or None


_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")


def province_name(value: object) -> str | None:
    """江西省 -> 江西, 北京市 -> 北京, so eligibility rules compare like with like."""
    text = clean_text(value)
    if text is None:
        return None
    return _PROVINCE_SUFFIX.sub("", text) or text


_CITY_SUFFIX = re.compile(r"(市|地区)$")


def city_name(value: object) -> str | None:
    """萍乡市 -> 萍乡, 阿克苏地区 -> 阿克苏, so "same city" compares like with like.

    Only the generic suffix goes, and only when at least two characters remain (沙市 stays 沙市);
    自治州/盟 names are kept as written, since their short forms (湘西州) are not a suffix rule.
    """
    text = clean_text(value)
    if text is None:
        return None
    text = halfwidth(text).strip()
    short = _CITY_SUFFIX.sub("", text).rstrip()
    return short if len(short) >= 2 else text


def parse_choice(value: object, choices: dict[str, str], what: str) -> str | None:
    """Map a cell onto one canonical choice; ``choices`` maps every accepted spelling to it."""
    text = clean_text(value)
    if text is None:
        return None
    key = halfwidth(text).strip().lower().replace(" ", "_").replace("-", "_")
    if key in choices:
        return choices[key]
    raise ValueError(f"未知的{what}；可填 {'、'.join(choice_words(choices))}")


def choice_words(choices: dict[str, str]) -> list[str]:
    """Each canonical choice with its first Chinese spelling: "contract_signed（已签约）"."""
    words = []
    for canonical in sorted(set(choices.values())):
        chinese = next((k for k, v in choices.items() if v == canonical and not k.isascii()), None)
        words.append(f"{canonical}（{chinese}）" if chinese else canonical)
    return words


# Deadlines staff write when there is none.
LONG_TERM = {"长期", "长期有效", "不限", "无限期", "无期限", "常年", "长期需求", "不限期"}


def parse_deadline(value: object) -> date | None:
    """A deadline: a date (a month alone is its last day); 长期/长期有效/不限 mean none."""
    text = clean_text(value) if isinstance(value, str) else None
    if text is not None and halfwidth(text).replace(" ", "") in LONG_TERM:
        return None
    return parse_date(value, month_end=True)


_UNIT = r"(万元|万|元|亿元|亿)?"
_RANGE = re.compile(rf"^\s*([\d.,]+)\s*{_UNIT}\s*(?:-|~|～|—|–|至|到)\s*([\d.,]+)\s*{_UNIT}\s*$")


def parse_amount_range(value: object) -> tuple[float | None, float | None]:
    """(low, high) in 万元: "20-30万" and "20~30万元" keep both ends; a single amount is (x, None)."""
    if isinstance(value, str):
        match = _RANGE.match(halfwidth(value))
        if match:
            unit = match[4] or match[2] or "万"
            low = parse_amount_wan(match[1] + (match[2] or unit))
            high = parse_amount_wan(match[3] + unit)
            if low is not None and high is not None and low > high:
                raise ValueError("预算区间的下限大于上限")
            return low, high
    return parse_amount_wan(value), None


_PHONE = re.compile(r"\+?\d[\d\- ]{4,}\d")


def parse_phones(value: object) -> str | None:
    """One or several phone numbers as written; full-width digits and spaces inside a number are fine.

    "138 0000 0000、0799－1234567" -> "13800000000；0799-1234567". Text without a number is kept.
    """
    text = clean_text(value)
    if text is None:
        return None
    numbers = [m[0].replace(" ", "") for m in _PHONE.finditer(halfwidth(text).replace("－", "-"))]
    return "；".join(numbers) if numbers else text


# Excel stores a long digit string typed into a number cell as a float: 15 significant digits survive,
# the rest become zeros (913601... -> 9.13601E+17), so the code cannot be recovered from the cell.
CREDIT_CODE_AS_NUMBER = ("统一社会信用代码被存成了数字，后几位已丢失（如 9.13601E+17）；"
                         "请把该列设为文本格式后重新填写")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def parse_credit_code(value: object) -> str | None:
    """A 统一社会信用代码: 18 characters (digits and capitals without I, O, S, V, Z), spaces ignored."""
    if isinstance(value, float) or (isinstance(value, str) and _SCIENTIFIC.match(value.strip())):
        raise ValueError(CREDIT_CODE_AS_NUMBER)
    text = clean_text(value)
    if text is None:
        return None
    code = halfwidth(text).replace(" ", "").upper()
    if not _CREDIT_CODE.match(code):
        raise ValueError("统一社会信用代码应为 18 位数字或大写字母")
    return code
