"""What every PDF of the product shares: the deletion certificate, the offboarding
certificate, the supervision report, the compliance documents and the 扶養控除等申告書
register.

They are drawn by reportlab with its built-in Japanese CID font (no font file to ship or
embed; every PDF reader has it), in the same text styles and table grid. Every value drawn
goes through `text()`: reportlab's Paragraph reads markup, so a name holding "<" would either
vanish from a certificate or stop the PDF with a parse error.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

FONT = "HeiseiKakuGo-W5"
AUTHOR = "マイナンバー保管サービス"
GRID_GREY = 0.3  # line width, points
HEADER_TINT = "#eef1f5"


@dataclass(frozen=True)
class Styles:
    body: Any
    title: Any
    heading: Any
    cell: Any


def styles(*, body: float = 9, title: float = 16, cell: float = 7.5) -> Styles:
    """Paragraph styles in the Japanese font, font sizes in points (leading 1.4 times)."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("body", fontName=FONT, fontSize=body, leading=round(body * 1.4))
    return Styles(
        body=base,
        title=ParagraphStyle(
            "title", parent=base, fontSize=title, leading=round(title * 1.4), alignment=1
        ),  # fmt: skip
        heading=ParagraphStyle("heading", parent=base, fontSize=11, leading=16, spaceBefore=8),
        cell=ParagraphStyle("cell", parent=base, fontSize=cell, leading=round(cell * 1.4)),
    )


def text(value: Any) -> str:
    """A value as Paragraph markup: escaped, its line breaks kept."""
    return escape(str(value)).replace("\n", "<br/>")


def para(value: Any, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(text(value), style)


def grid(
    data: list[list[Any]],
    widths_mm: list[float] | tuple[float, ...],
    *,
    labels: Literal["row", "column"] = "row",
    extra: list[tuple] | None = None,
) -> Any:
    """A table with a thin grey grid, its labels tinted: the first row (repeated on every
    page) or, for a form of label and value, the first column."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    tinted = ((0, 0), (-1, 0)) if labels == "row" else ((0, 0), (0, -1))
    made = Table(data, colWidths=[w * mm for w in widths_mm],
                 repeatRows=1 if labels == "row" else 0)  # fmt: skip
    made.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), GRID_GREY, colors.grey),
                ("BACKGROUND", *tinted, colors.HexColor(HEADER_TINT)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                *(extra or []),
            ]
        )
    )
    return made


def table(
    header: list[str],
    rows: list[list[Any]],
    widths_mm: list[float] | tuple[float, ...],
    style: Any,
    *,
    empty: str,
) -> Any:
    """A header row and the rows, every cell escaped; `empty` in the first cell when there
    are no rows."""
    data = [[para(h, style) for h in header]]
    data += [[para(v, style) for v in row] for row in rows]
    if not rows:
        data.append([para(empty, style)] + [""] * (len(header) - 1))
    return grid(data, widths_mm)


def build(
    story: list[Any], *, title: str, subject: str = "", landscape: bool = False,
    margin_mm: float = 12,
) -> bytes:  # fmt: skip
    """The PDF of `story` on A4. `subject` is plain text in the document information, so a
    reader (or a test) can see what it covers without rendering a page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pagesizes import landscape as turned
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    margin = margin_mm * mm
    SimpleDocTemplate(
        buffer, pagesize=turned(A4) if landscape else A4, leftMargin=margin,
        rightMargin=margin, topMargin=margin, bottomMargin=margin, title=title, author=AUTHOR,
        subject=subject,
    ).build(story)  # fmt: skip
    return buffer.getvalue()
