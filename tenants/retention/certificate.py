"""The deletion certificate (削除証明書): the deletion records of a period, as CSV and as a
PDF the owner downloads and keeps. Built from the records alone: never a number.

The PDF uses reportlab's built-in Japanese CID font (HeiseiKakuGo-W5), so no font file ships
with the product; readers substitute a local Japanese Gothic font."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.utils import timezone

from .models import DATA_TYPE_LABELS, DeletionMethod, DeletionRecord, DeletionTrigger

CSV_COLUMNS = (
    "deletion_id", "deleted_at_jst", "person_id", "person_name", "person_kind", "data_types",
    "documents_deleted", "rule_code", "rule_name", "relationship_ended_on", "due_on",
    "deleted_by", "trigger", "method",
)  # fmt: skip
FONT = "HeiseiKakuGo-W5"


def _jst(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def csv_rows(records: Iterable[DeletionRecord]) -> Iterator[tuple]:
    for r in records:
        yield (
            r.pk, _jst(r.deleted_at), r.person_id, r.person_name, r.person_kind,
            " ".join(r.data_types), r.documents_deleted, r.rule_code, r.rule_name,
            r.ended_on or "", r.due_on or "", r.deleted_by, r.trigger, r.method,
        )  # fmt: skip


def _period(since: date | None, until: date | None) -> str:
    return f"{since or '—'} 〜 {until or '—'}"


def certificate_pdf(
    *, firm_name: str, records: list[DeletionRecord], since: date | None, until: date | None
) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1)
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=10)
    issued = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title="削除証明書",
        author="マイナンバー保管サービス",
        # Plain text in the document information, so a reader (or a test) can see the scope
        # without rendering the page.
        subject=f"deletion certificate {since or ''}..{until or ''}: {len(records)} records",
    )
    story: list = [
        Paragraph("削除証明書", title),
        Spacer(1, 4 * mm),
        Paragraph(f"事業者: {firm_name}", body),
        Paragraph(f"対象期間: {_period(since, until)}（日本時間）　件数: {len(records)}件", body),
        Paragraph(f"発行日時: {issued}（日本時間）", body),
        Spacer(1, 3 * mm),
        Paragraph(
            "下記の個人番号（特定個人情報）は、保存期間の経過後、当サービスにおいて"
            "暗号文および検索用ハッシュを消去し、本人確認書類のファイルを削除しました。"
            "削除したデータは復元できません。本証明書には個人番号を記載していません。",
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    header = ["ID", "削除日時", "対象者ID", "氏名", "削除したデータ", "適用した規則",
              "削除期限", "削除者", "契機・方法"]  # fmt: skip
    rows: list[list] = [[Paragraph(h, cell) for h in header]]
    for r in records:
        kinds = "、".join(str(DATA_TYPE_LABELS.get(k, k)) for k in r.data_types)
        if r.documents_deleted:
            kinds += f"（書類{r.documents_deleted}件）"
        how = f"{DeletionTrigger(r.trigger).label} / {DeletionMethod(r.method).label}"
        values = [r.pk, _jst(r.deleted_at), r.person_id, r.person_name, kinds,
                  r.rule_name or r.rule_code, r.due_on or "", r.deleted_by, how]  # fmt: skip
        rows.append([Paragraph(str(v), cell) for v in values])
    if len(rows) == 1:
        rows.append([Paragraph("対象期間に削除の記録はありません。", cell)] + [""] * 8)
    widths = [12, 28, 16, 30, 44, 44, 20, 40, 39]
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    document.build(story)
    return buffer.getvalue()
