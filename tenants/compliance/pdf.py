"""One A4 Japanese PDF layout for every compliance document: a title, the firm, the version
and its dates, then headings, paragraphs and tables. reportlab's built-in Japanese CID font
(HeiseiKakuGo-W5), as the supervision report and the deletion certificate, so no font file
ships with the product."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone

FONT = "HeiseiKakuGo-W5"


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Grid:
    header: list[str]
    rows: list[list[Any]]
    widths: list[float]  # millimetres, summing to at most 186 (A4 less the margins)
    empty: str = "なし"


@dataclass(frozen=True)
class Stamp:
    """The version's identity, printed under the title."""

    firm_name: str
    kind_title: str
    version: int
    generated_at: datetime
    generated_by: str
    adopted_at: datetime | None = None
    adopted_by: str = ""
    notes: list[str] = field(default_factory=list)


def jst(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def render(stamp: Stamp, blocks: list[Heading | Para | Grid]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=21, alignment=1)
    heading = ParagraphStyle("heading", parent=body, fontSize=11, leading=16, spaceBefore=8)
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=10)
    style = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def text(value: Any) -> str:
        # Paragraph reads markup: every value is escaped (a name may hold "&" or "<"), and
        # line breaks within a cell are kept.
        return escape(str(value)).replace("\n", "<br/>")

    def grid(block: Grid) -> Any:
        data = [[Paragraph(text(h), cell) for h in block.header]]
        data += [[Paragraph(text(v), cell) for v in row] for row in block.rows]
        if not block.rows:
            data.append([Paragraph(text(block.empty), cell)] + [""] * (len(block.header) - 1))
        made = Table(data, colWidths=[w * mm for w in block.widths], repeatRows=1)
        made.setStyle(style)
        return made

    adopted = stamp.adopted_at
    adoption = f"採択: {jst(adopted)}（日本時間） {stamp.adopted_by}" if adopted else ""
    story: list[Any] = [
        Paragraph(text(stamp.kind_title), title),
        Spacer(1, 3 * mm),
        Paragraph(f"事業者: {text(stamp.firm_name)}", body),
        Paragraph(
            f"第{stamp.version}版　作成: {jst(stamp.generated_at)}（日本時間） "
            f"{text(stamp.generated_by)}",
            body,
        ),
    ]
    if adoption:
        story.append(Paragraph(text(adoption), body))
    story += [Paragraph(text(note), body) for note in stamp.notes]
    story.append(Paragraph("本書には個人番号を記載していません。", body))
    for block in blocks:
        if isinstance(block, Heading):
            story.append(Paragraph(text(block.text), heading))
        elif isinstance(block, Para):
            story.append(Paragraph(text(block.text), body))
        else:
            story.append(grid(block))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=stamp.kind_title, author="マイナンバー保管サービス",
        subject=f"{stamp.kind_title} v{stamp.version}",
    )  # fmt: skip
    document.build(story)
    return buffer.getvalue()
