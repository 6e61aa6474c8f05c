"""Small inline-SVG charts for the monthly report page.

The page is mailed around and opened offline, often on locked-down office machines, so the charts are
plain SVG strings: no script, no external font or stylesheet, nothing to load. Text widths are estimated
(a CJK character is about one em wide, Latin about half) because there is no layout engine to ask.
Every text that comes from the data is escaped; missing values (None, NaN) are never drawn as "nan".
"""

import math
from collections.abc import Sequence
from html import escape

# Fonts present on Windows, macOS and most Linux desktops that carry Chinese glyphs.
FONT = "'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif"
PALETTE = ("#2f6db5", "#e08a2e", "#3a9a5b", "#c0504d", "#8064a2", "#4bacc6")
NO_DATA = "暂无数据"
INK, MUTED, GRID = "#333", "#777", "#e3e3e3"


# ---- values -----------------------------------------------------------------------------------------
def number(value) -> float | None:
    """The value as a float, or None when it is missing (None, NaN, pd.NA) or not a number."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) or math.isinf(out) else out


def fmt_number(value, digits: int = 1) -> str:
    """Counts without a decimal point, other values with ``digits`` decimals; "" when missing."""
    v = number(value)
    if v is None:
        return ""
    if v.is_integer():
        return str(int(v))
    return f"{v:.{digits}f}"


def text_width(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def truncate(text: str, width: float, size: float) -> str:
    """``text`` cut to fit ``width`` pixels, ending in "…" when cut."""
    if text_width(text, size) <= width:
        return text
    out, used = "", size  # room for the ellipsis
    for ch in text:
        used += text_width(ch, size)
        if used > width:
            break
        out += ch
    return out + "…"


def _c(x: float) -> str:
    """A coordinate with one decimal at most: keeps a chart with hundreds of bars small."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, size: float = 12, anchor: str = "start", fill: str = INK,
          max_width: float | None = None, weight: str | None = None) -> str:
    """A text element; when cut to ``max_width`` the full text stays available as its tooltip."""
    shown = truncate(text, max_width, size) if max_width is not None else text
    tip = f"<title>{escape(text)}</title>" if shown != text else ""
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_c(x)}" y="{_c(y)}" font-size="{_c(size)}" text-anchor="{anchor}" fill="{fill}"{bold}>'
            f"{tip}{escape(shown)}</text>")


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    # No xmlns: the SVG lives inline in an HTML document, where the parser supplies the namespace.
    return (f'<svg class="chart" viewBox="0 0 {_c(width)} {_c(height)}" width="{_c(width)}" height="{_c(height)}" '
            f'role="img" aria-label="{escape(title)}" font-family="{FONT}">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def empty_chart(title: str = "", width: float = 480, height: float = 120) -> str:
    return _svg(width, height, title or NO_DATA, [
        f'<rect x="0.5" y="0.5" width="{_c(width - 1)}" height="{_c(height - 1)}" fill="#fafafa" stroke="{GRID}"/>',
        _text(width / 2, height / 2 + 5, NO_DATA, size=14, anchor="middle", fill=MUTED)])


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least ``top`` (1, 2, 2.5 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _wrapped(x: float, y: float, text: str, width: float, size: float = 11) -> list[str]:
    """A centred label on up to two lines: printed pages have no tooltip, so long names wrap before
    they are cut."""
    if text_width(text, size) <= width:
        return [_text(x, y, text, size=size, anchor="middle")]
    cut = 1
    while cut < len(text) and text_width(text[:cut + 1], size) <= width:
        cut += 1
    first, rest = text[:cut], text[cut:]
    line2 = _text(x, y + size + 2, rest, size=size, anchor="middle", max_width=width)
    if truncate(rest, width, size) != rest:  # the whole name stays available as a tooltip
        line2 = line2.replace("<title>" + escape(rest), "<title>" + escape(text), 1)
    return [_text(x, y, first, size=size, anchor="middle"), line2]


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[list[str], float]:
    """Swatches and names in rows from (x, y); returns the elements and the height used."""
    out, cx, cy = [], x, y
    for i, name in enumerate(names):
        label = truncate(name, 140, 11)
        w = 16 + text_width(label, 11) + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        out.append(f'<rect x="{_c(cx)}" y="{_c(cy - 9)}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(_text(cx + 14, cy, name, size=11, max_width=140))
        cx += w
    return out, cy - y + 16


# ---- charts -----------------------------------------------------------------------------------------
def hbar_chart(items: Sequence[tuple[str, object]], *, title: str = "", notes: Sequence[str] | None = None,
               width: float = 560, label_width: float = 150, row: float = 22, color: str = PALETTE[0]) -> str:
    """Horizontal bars, one per (label, value), value printed at the bar's end; ``notes`` adds a grey
    remark after each value (e.g. how many of an institution's teams got proposals)."""
    values = [number(v) for _, v in items]
    if not items or all(v is None for v in values):
        return empty_chart(title, width)
    notes = list(notes or [""] * len(items))
    tails = [(fmt_number(v) if v is not None else "—") + (f"  {n}" if n else "") for v, n in zip(values, notes,
                                                                                                 strict=True)]
    tail_width = min(max(text_width(t, 11) for t in tails) + 10, width * 0.4)
    x0, x1, top = label_width + 8, width - tail_width, 6
    ticks = nice_ticks(max((v for v in values if v is not None), default=0))
    scale = (x1 - x0) / ticks[-1]
    height = top + row * len(items) + 22
    bottom = top + row * len(items)
    body = []
    for t in ticks:
        x = x0 + t * scale
        body.append(f'<line x1="{_c(x)}" y1="{top}" x2="{_c(x)}" y2="{_c(bottom)}" stroke="{GRID}"/>')
        body.append(_text(x, bottom + 15, fmt_number(t, 2), size=10, anchor="middle", fill=MUTED))
    for i, ((label, _), v, tail) in enumerate(zip(items, values, tails, strict=True)):
        y = top + i * row
        body.append(_text(label_width, y + row / 2 + 4, str(label), anchor="end", max_width=label_width))
        length = max(v or 0, 0) * scale
        if length > 0:
            body.append(f'<rect x="{_c(x0)}" y="{_c(y + 3)}" width="{_c(length)}" height="{_c(row - 6)}" '
                        f'fill="{color}"><title>{escape(f"{label}：{tail}")}</title></rect>')
        body.append(_text(x0 + length + 4, y + row / 2 + 4, tail, size=11, fill=INK if v is not None else MUTED))
    body.append(f'<line x1="{_c(x0)}" y1="{top}" x2="{_c(x0)}" y2="{_c(bottom)}" stroke="{MUTED}"/>')
    return _svg(width, height, title, body)


def column_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence]], *, title: str = "",
                 width: float = 560, height: float = 260) -> str:
    """Vertical bars, grouped by category with one bar per series, each value printed above its bar."""
    cleaned = [(name, [number(v) for v in values]) for name, values in series]
    if not categories or all(v is None for _, values in cleaned for v in values):
        return empty_chart(title, width)
    body, top = [], 8.0
    if len(cleaned) > 1:
        legend, used = _legend([name for name, _ in cleaned], 44, 18, width - 50)
        body += legend
        top += used + 6
    x0, x1, bottom = 44.0, width - 8, height - 42
    ticks = nice_ticks(max((v for _, values in cleaned for v in values if v is not None), default=0))
    scale = (bottom - top - 14) / ticks[-1]  # 14: room for the value above the highest bar
    for t in ticks:
        y = bottom - t * scale
        body.append(f'<line x1="{_c(x0)}" y1="{_c(y)}" x2="{_c(x1)}" y2="{_c(y)}" stroke="{GRID}"/>')
        body.append(_text(x0 - 4, y + 4, fmt_number(t, 2), size=10, anchor="end", fill=MUTED))
    group = (x1 - x0) / len(categories)
    bar = min(group * 0.8 / len(cleaned), 36)
    for i, category in enumerate(categories):
        left = x0 + i * group + (group - bar * len(cleaned)) / 2
        for k, (name, values) in enumerate(cleaned):
            v = values[i] if i < len(values) else None
            x = left + k * bar
            shown = fmt_number(v) if v is not None else "—"
            h = max(v or 0, 0) * scale
            if h > 0:
                body.append(f'<rect x="{_c(x + 1)}" y="{_c(bottom - h)}" width="{_c(bar - 2)}" height="{_c(h)}" '
                            f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(f"{category} {name}：{shown}")}</title>'
                            "</rect>")
            body.append(_text(x + bar / 2, bottom - h - 3, shown, size=10, anchor="middle",
                              fill=INK if v is not None else MUTED))
        body += _wrapped(x0 + (i + 0.5) * group, bottom + 16, str(category), group - 4)
    body.append(f'<line x1="{_c(x0)}" y1="{_c(bottom)}" x2="{_c(x1)}" y2="{_c(bottom)}" stroke="{MUTED}"/>')
    return _svg(width, height, title, body)


def line_chart(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence]], *, title: str = "",
               width: float = 640, height: float = 280) -> str:
    """Several series over the same x labels (months). A missing value breaks its line; each series'
    last value is printed at the right edge, where the reader looks for "this month"."""
    cleaned = [(name, [number(v) for v in values]) for name, values in series]
    if not x_labels or all(v is None for _, values in cleaned for v in values):
        return empty_chart(title, width)
    legend, used = _legend([name for name, _ in cleaned], 44, 18, width - 50)
    top, x0, x1, bottom = 8 + used + 6, 44.0, width - 44, height - 28
    ticks = nice_ticks(max(v for _, values in cleaned for v in values if v is not None))
    scale = (bottom - top) / ticks[-1]
    step = (x1 - x0) / max(len(x_labels) - 1, 1)
    body = list(legend)
    for t in ticks:
        y = bottom - t * scale
        body.append(f'<line x1="{_c(x0)}" y1="{_c(y)}" x2="{_c(x1)}" y2="{_c(y)}" stroke="{GRID}"/>')
        body.append(_text(x0 - 4, y + 4, fmt_number(t, 2), size=10, anchor="end", fill=MUTED))
    every = max(1, math.ceil(max(text_width(str(x), 10) for x in x_labels) / (step * 0.9)))
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == len(x_labels) - 1:
            body.append(_text(x0 + i * step, bottom + 16, str(label), size=10, anchor="middle", fill=MUTED))
    ends = []
    for k, (name, values) in enumerate(cleaned):
        colour = PALETTE[k % len(PALETTE)]
        points = [(x0 + i * step, bottom - v * scale, v, i) for i, v in enumerate(values[:len(x_labels)])
                  if v is not None]
        runs, current, last = [], [], None
        for p in points:
            if last is not None and p[3] != last + 1:
                runs.append(current)
                current = []
            current.append(p)
            last = p[3]
        runs.append(current)
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{_c(x)},{_c(y)}" for x, y, _, _ in run)
                body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, v, i in points:
            body.append(f'<circle cx="{_c(x)}" cy="{_c(y)}" r="2.5" fill="{colour}">'
                        f"<title>{escape(f'{x_labels[i]} {name}：{fmt_number(v)}')}</title></circle>")
        if points:
            ends.append([points[-1][1], fmt_number(points[-1][2]), colour, points[-1][0]])
    ends.sort(key=lambda e: -e[0])
    for a, b in zip(ends, ends[1:], strict=False):  # lift end values that would overlap (never below the axis)
        b[0] = min(b[0], a[0] - 11)
    for y, text, colour, x in ends:
        body.append(_text(max(x, x1) + 5, y + 4, text, size=10, fill=colour, weight="bold"))
    body.append(f'<line x1="{_c(x0)}" y1="{_c(bottom)}" x2="{_c(x1)}" y2="{_c(bottom)}" stroke="{MUTED}"/>')
    return _svg(width, height, title, body)


def funnel_chart(stages: Sequence[tuple[str, object]], *, title: str = "", width: float = 460,
                 row: float = 30, gap: float = 16) -> str:
    """Centred bars narrowing stage by stage, each with its count and its share of the first stage; the
    band between two bars carries the step conversion (how many of the previous stage got this far)."""
    values = [number(v) for _, v in stages]
    first = values[0] if values else None
    if not first or first <= 0:  # nothing entered the funnel: any rate would divide by zero
        return empty_chart(title, width)
    label_width, tail = 64.0, 118.0
    x0, x1 = label_width + 8, width - tail
    centre, full = (x0 + x1) / 2, x1 - x0
    height = len(stages) * row + (len(stages) - 1) * gap + 4
    body, previous = [], None
    for i, ((label, _), v) in enumerate(zip(stages, values, strict=True)):
        y = 2 + i * (row + gap)
        w = max(full * max(v or 0, 0) / first, 2 if v else 0)
        if previous is not None:
            pw, pv = previous
            body.append(f'<polygon points="{_c(centre - pw / 2)},{_c(y - gap)} {_c(centre + pw / 2)},{_c(y - gap)} '
                        f'{_c(centre + w / 2)},{_c(y)} {_c(centre - w / 2)},{_c(y)}" fill="#dfe8f3"/>')
            if pv and v is not None:
                body.append(_text(centre, y - gap / 2 + 4, f"↓ {v / pv:.1%}", size=10, anchor="middle",
                                  fill=MUTED))
        body.append(_text(label_width, y + row / 2 + 4, str(label), anchor="end", max_width=label_width))
        count = fmt_number(v) if v is not None else "—"
        share = f"（{v / first:.1%}）" if v is not None else ""
        if w > 0:
            body.append(f'<rect x="{_c(centre - w / 2)}" y="{_c(y)}" width="{_c(w)}" height="{_c(row)}" '
                        f'fill="{PALETTE[0]}" fill-opacity="{_c(1 - 0.15 * min(i, 4))}">'
                        f"<title>{escape(f'{label}：{count}{share}')}</title></rect>")
        body.append(_text(x1 + 6, y + row / 2 + 4, count, weight="bold"))
        body.append(_text(x1 + 6 + text_width(count, 12) + 2, y + row / 2 + 4, share, size=11, fill=MUTED))
        previous = (w, v)
    return _svg(width, height, title, body)
