"""Charts drawn on the server as inline SVG: no script, no inline style (the CSP forbids
both), colours from classes in app.css (`chart-fill-{key}`). Each chart is a <figure> with an
SVG labelled for screen readers (role="img", <title>, <desc>) and a visually hidden table of
its figures. Three shapes, enough for the product's pages:

- `column_chart`: vertical columns, one per category (a month, a week), stacked when there
  are several series, with a legend;
- `bar_list`: horizontal bars, one per labelled figure (the states of collection requests);
- `mini_bar`: a progress bar to sit beside a figure in a table cell (decorative).

Every label and figure goes through Django's escaping. Geometry is in SVG user units, which
are CSS pixels at the chart's own size; on a narrower screen CSS shrinks the SVG to fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Series:
    """One kind of figure: `key` names its colour class, `chart-fill-{key}`."""

    key: str
    label: str


@dataclass(frozen=True)
class Column:
    """One category of a column chart: its short axis label, an optional second line (a year),
    the label of its row in the table, and one value per series."""

    label: str
    long_label: str
    values: tuple[int, ...]
    sub_label: str = ""

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    key: str


def nice_scale(maximum: int, ticks: int = 4) -> tuple[int, int]:
    """The axis top and tick step for values up to `maximum`: steps of 1, 2 or 5 times a
    power of ten, about `ticks` of them."""
    if maximum <= 0:
        return 1, 1
    raw = maximum / ticks
    power = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * math.ceil(maximum / step), step


def _n(value: int) -> str:
    return number_format(value, force_grouping=True)


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg_open(chart_id: str, width: int, height: int, title: str, summary: str) -> SafeString:
    # Drawn at its own size (width/height), shrunk to fit narrower screens by CSS, never
    # enlarged: its text keeps the size app.css gives it.
    return format_html(
        '<svg class="chart-svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'focusable="false" aria-labelledby="{}-title {}-desc"><title id="{}-title">{}</title>'
        '<desc id="{}-desc">{}</desc>',
        width,
        height,
        width,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        summary,
    )


def _legend(series: Sequence[Series]) -> SafeString:
    return format_html(
        '<ul class="chart-legend" aria-hidden="true">{}</ul>',
        format_html_join(
            "",
            '<li><span class="chart-key chart-fill-{}"></span>{}</li>',
            ((s.key, s.label) for s in series),
        ),
    )


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> SafeString:
    """The chart's figures as a table for screen readers (and for the tests): the first cell of
    each row is its header."""
    return format_html(
        '<table class="visually-hidden chart-data"><caption>{}</caption>'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        caption,
        format_html_join("", '<th scope="col">{}</th>', ((h,) for h in head)),
        mark_safe(  # noqa: S308 (every cell is escaped by format_html below)
            "".join(
                format_html(
                    '<tr><th scope="row">{}</th>{}</tr>',
                    row[0],
                    format_html_join("", "<td>{}</td>", ((cell,) for cell in row[1:])),
                )
                for row in rows
            )
        ),
    )


LEFT, RIGHT, TOP, BOTTOM = 36, 6, 22, 42


def column_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    category_label: str,
    series: Sequence[Series],
    columns: Sequence[Column],
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Columns (stacked by series) with a y axis, value labels on top, a legend when there is
    more than one series, and the table of figures. `width` and `height` are the size it is
    drawn at (in CSS pixels)."""
    top_value, step = nice_scale(max((c.total for c in columns), default=0))
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    band = plot_w / max(len(columns), 1)
    bar_w = band * 0.62
    parts: list[str] = [_svg_open(chart_id, width, height, title, summary)]
    for tick in range(0, top_value + 1, step):
        y = TOP + plot_h - plot_h * tick / top_value
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                width - RIGHT,
                _f(y),
                _f(y),
                LEFT - 6,
                _f(y + 4),
                _n(tick),
            )
        )
    for index, column in enumerate(columns):
        x = LEFT + band * index + (band - bar_w) / 2
        base: float = TOP + plot_h
        for serie, value in zip(series, column.values, strict=True):
            if value <= 0:
                continue
            bar_h = plot_h * value / top_value
            base -= bar_h
            parts.append(
                format_html(
                    '<rect class="chart-fill chart-fill-{}" x="{}" y="{}" width="{}" '
                    'height="{}"><title>{}: {}</title></rect>',
                    serie.key,
                    _f(x),
                    _f(base),
                    _f(bar_w),
                    _f(bar_h),
                    f"{column.long_label} {serie.label}" if len(series) > 1 else column.long_label,
                    _n(value),
                )
            )
        middle = x + bar_w / 2
        if column.total:
            parts.append(
                format_html(
                    '<text class="chart-value" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _f(middle),
                    _f(base - 5),
                    _n(column.total),
                )
            )
        parts.append(
            format_html(
                '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                _f(middle),
                TOP + plot_h + 16,
                column.label,
            )
        )
        if column.sub_label:
            parts.append(
                format_html(
                    '<text class="chart-axis chart-sub" x="{}" y="{}" text-anchor="middle">{}'
                    "</text>",
                    _f(middle),
                    TOP + plot_h + 32,
                    column.sub_label,
                )
            )
    parts.append(
        format_html(
            '<line class="chart-baseline" x1="{}" x2="{}" y1="{}" y2="{}"></line></svg>',
            LEFT,
            width - RIGHT,
            TOP + plot_h,
            TOP + plot_h,
        )
    )
    several = len(series) > 1
    head = [category_label, *(s.label for s in series)] + ([_("合計")] if several else [])
    rows = [
        [c.long_label, *(_n(v) for v in c.values)] + ([_n(c.total)] if several else [])
        for c in columns
    ]
    return format_html(
        # On a phone the columns keep their drawn size and scroll sideways (tabindex: a
        # scrollable region must be reachable by keyboard), instead of shrinking the axis
        # labels to unreadable.
        '<figure class="chart" id="{}"><div class="chart-scroll" tabindex="0">{}</div>{}{}'
        "</figure>",
        chart_id,
        mark_safe("".join(parts)),  # noqa: S308 (each part built by format_html)
        _legend(series) if several else "",
        _table(title, head, rows),
    )


BAR_ROW, BAR_VALUE = 30, 48


def bar_list(
    *,
    chart_id: str,
    title: str,
    summary: str,
    label_header: str,
    bars: Sequence[Bar],
    width: int = 460,
    label_width: int = 160,
) -> SafeString:
    """Horizontal bars, one per figure, each labelled on the left and valued on the right."""
    top_value = max((b.value for b in bars), default=0) or 1
    track = width - label_width - BAR_VALUE
    height = BAR_ROW * len(bars) + 4
    parts: list[str] = [_svg_open(chart_id, width, height, title, summary)]
    for index, bar in enumerate(bars):
        y = 4 + BAR_ROW * index
        length = track * bar.value / top_value
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="chart-track" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<rect class="chart-fill chart-fill-{}" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}: {}</title></rect>"
                '<text class="chart-value" x="{}" y="{}">{}</text>',
                label_width - 10,
                y + 18,
                bar.label,
                label_width,
                y + 4,
                track,
                BAR_ROW - 10,
                bar.key,
                label_width,
                y + 4,
                _f(max(length, 2 if bar.value else 0)),
                BAR_ROW - 10,
                bar.label,
                _n(bar.value),
                _f(label_width + track + 8),
                y + 18,
                _n(bar.value),
            )
        )
    parts.append(mark_safe("</svg>"))  # noqa: S308 (a constant)
    return format_html(
        '<figure class="chart" id="{}">{}{}</figure>',
        chart_id,
        mark_safe("".join(parts)),  # noqa: S308 (each part built by format_html)
        _table(title, [label_header, _("件数")], [[b.label, _n(b.value)] for b in bars]),
    )


def mini_bar(value: int, total: int) -> SafeString:
    """A thin progress bar, value out of total. Decorative (aria-hidden): the figures sit
    beside it in the text."""
    share = 0.0 if total <= 0 else min(1.0, value / total)
    return format_html(
        '<svg class="mini-bar" viewBox="0 0 100 8" aria-hidden="true" focusable="false">'
        '<rect class="mini-bar-track" width="100" height="8" rx="4"></rect>'
        '<rect class="mini-bar-fill{}" width="{}" height="8" rx="4"></rect></svg>',
        " complete" if total and value >= total else "",
        _f(100 * share),
    )
