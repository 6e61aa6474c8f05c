"""The Jinja environment (autoescaped, strict about undefined names) and the filters every page uses
to show values as a Chinese office reader expects them: 万元 amounts, dates, stage and role names,
"—" for what is unknown (never "None" or "nan")."""

import datetime as dt
import math
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from matcher.matching.explain import STAGE_LABELS

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
DASH = "—"


def _missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def dash(value):
    return DASH if _missing(value) else value


def wan(value, digits: int = 1) -> str:
    """An amount in 万元: 30 -> "30", 12.5 -> "12.5", None -> "—"."""
    if _missing(value):
        return DASH
    text = f"{float(value):,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def day(value) -> str:
    if _missing(value):
        return DASH
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 10 and value[10] == "T":  # an ISO time as stored in JSON rows
        try:
            return day(dt.datetime.fromisoformat(value))
        except ValueError:
            pass
    return str(value)


def stage(value) -> str:
    return STAGE_LABELS.get(value, dash(value))


def highlight(text) -> Markup:
    """Evidence sentences mark shared terms with 【】: shown as <mark>, everything else escaped."""
    if _missing(text):
        return Markup(DASH)
    escaped = str(escape(text))
    return Markup(escaped.replace("【", "<mark>").replace("】", "</mark>"))


def yes_no(value) -> str:
    return DASH if value is None else ("是" if value else "否")


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html", "xml")),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(dash=dash, wan=wan, day=day, stage=stage, highlight=highlight, yes_no=yes_no)
    return env


@cache
def stylesheet() -> str:
    """The console's stylesheet, for pages that must carry it inline (the mailed monthly report)."""
    return (STATIC / "console.css").read_text(encoding="utf-8")
