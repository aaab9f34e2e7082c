"""Reading pages the way a person (or a screen reader) would: a chart's figures from its
hidden table, a table row by its id, the visible text of a fragment."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text(html: str) -> str:
    """The text of an HTML fragment, whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def fragment(html: str, element_id: str, tag: str) -> str:
    """The element with this id, up to its first closing tag of that name (no nesting of the
    same tag inside: figures, sections, rows)."""
    start = html.index(f'id="{element_id}"')
    start = html.rindex(f"<{tag}", 0, start)
    return html[start : html.index(f"</{tag}>", start) + len(tag) + 3]


class _Table(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.caption = ""
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.caption += data


def chart_table(html: str, chart_id: str) -> tuple[list[str], dict[str, list[str]]]:
    """A chart's hidden table of figures: its header row, and each row by its first cell."""
    figure = fragment(html, chart_id, "figure")
    table = figure[figure.index('<table class="visually-hidden chart-data">') :]
    parser = _Table()
    parser.feed(table)
    head, *body = parser.rows
    return head, {row[0]: row[1:] for row in body}


def svg_of(html: str, chart_id: str) -> str:
    figure = fragment(html, chart_id, "figure")
    return figure[figure.index("<svg") : figure.index("</svg>") + 6]
