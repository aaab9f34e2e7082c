"""One A4 Japanese PDF layout for every compliance document: a title, the firm, the version
and its dates, then headings, paragraphs and tables, drawn as every PDF of the product is
(config.pdf)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from config import pdf


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
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    style = pdf.styles(title=15)
    adopted = stamp.adopted_at
    story: list[Any] = [
        pdf.para(stamp.kind_title, style.title),
        Spacer(1, 3 * mm),
        pdf.para(f"事業者: {stamp.firm_name}", style.body),
        pdf.para(
            f"第{stamp.version}版　作成: {jst(stamp.generated_at)}（日本時間） "
            f"{stamp.generated_by}",
            style.body,
        ),  # fmt: skip
    ]
    if adopted:
        story.append(pdf.para(f"採択: {jst(adopted)}（日本時間） {stamp.adopted_by}", style.body))
    story += [pdf.para(note, style.body) for note in stamp.notes]
    story.append(pdf.para("本書には個人番号を記載していません。", style.body))
    for block in blocks:
        if isinstance(block, Heading):
            story.append(pdf.para(block.text, style.heading))
        elif isinstance(block, Para):
            story.append(pdf.para(block.text, style.body))
        else:
            story.append(pdf.table(block.header, block.rows, block.widths, style.cell,
                                   empty=block.empty))  # fmt: skip
    return pdf.build(story, title=stamp.kind_title,
                     subject=f"{stamp.kind_title} v{stamp.version}")  # fmt: skip
