"""The supervision report as a PDF the firm keeps (監督の記録). Same content as the page;
reportlab's built-in Japanese CID font (HeiseiKakuGo-W5), as the deletion certificate
(tenants.retention.certificate), so no font file ships with the product."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone

from .supervision import SupervisionReport

FONT = "HeiseiKakuGo-W5"


def _jst(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def supervision_pdf(report: SupervisionReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1)
    heading = ParagraphStyle("heading", parent=body, fontSize=11, leading=16, spaceBefore=8)
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=10)
    style = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def table(header: list[str], rows: list[list[Any]], widths: list[float], empty: str) -> Any:
        data = [[Paragraph(h, cell) for h in header]]
        # Paragraph reads markup: every value is escaped (an email may hold "&" or "<").
        data += [[Paragraph(escape(str(v)), cell) for v in row] for row in rows]
        if not rows:
            data.append([Paragraph(empty, cell)] + [""] * (len(header) - 1))
        made = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        made.setStyle(style)
        return made

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title="委託先監督報告", author="マイナンバー保管サービス",
        subject=f"supervision report {report.firm_slug} {report.month_text}",
    )  # fmt: skip
    operators = (
        "当月、運用者（サポートを含む）による事業者データへのアクセスはありませんでした。"
        if report.operator_free
        else f"当月、運用者によるアクセスが {report.operator_access_count} 件ありました（下表）。"
    )
    story: list[Any] = [
        Paragraph("委託先監督報告（特定個人情報の取扱状況）", title),
        Spacer(1, 3 * mm),
        Paragraph(f"事業者: {escape(report.firm_name)}（{report.firm_slug}）", body),
        Paragraph(f"対象月: {report.month_text}（日本時間）", body),
        Paragraph(f"作成日時: {_jst(report.generated_at)}（日本時間）", body),
        Paragraph(f"アクセス記録の連鎖の先頭: #{report.head_seq} {report.head_hash[:16]}…", body),
        Paragraph("本報告書には個人番号を記載していません。", body),
        Paragraph("1. 役割ごとのアクセス件数", heading),
        table(
            ["役割", "操作", "許可", "拒否"],
            [[r.label, a.label, a.allowed, a.denied] for r in report.by_role for a in r.actions],
            [40, 80, 30, 30],
            "当月のアクセスはありません。",
        ),
        Paragraph(f"合計 {report.entries} 件（うち拒否 {report.denied} 件）", body),
        Paragraph("2. 運用者によるアクセス（本来は0件）", heading),
        Paragraph(operators, body),
        table(
            ["#", "日時", "運用者", "役割", "操作", "結果", "対象者ID"],
            [
                [
                    a.seq,
                    _jst(a.at),
                    a.actor_email,
                    a.actor_role,
                    a.action_label,
                    a.result,
                    a.person_id or "",
                ]
                for a in report.operator_accesses
            ],  # fmt: skip
            [14, 30, 50, 20, 30, 16, 20],
            "なし",
        ),
        Paragraph("運用者の記録（事業者に関する運用操作）", body),
        table(
            ["日時", "運用者", "操作"],
            [[_jst(o.at), o.actor_email, o.action] for o in report.operator_actions],
            [40, 70, 70],
            "なし",
        ),
        Paragraph("3. 鍵の操作", heading),
        Paragraph(f"鍵の管理方式: {report.key_provider}　件数: {report.key_event_count}", body),
        table(
            ["#", "日時", "実行者", "内容", "結果", "詳細"],
            [
                [k.seq, _jst(k.at), k.actor_email, k.action_label, k.result, k.summary]
                for k in report.key_events
            ],  # fmt: skip
            [14, 30, 45, 30, 16, 51],
            "なし",
        ),
        Paragraph(f"4. 削除（{report.deletion_count}件）", heading),
        table(
            ["削除日時", "対象者ID", "削除したデータ", "書類", "契機", "規則", "削除者"],
            [
                [
                    _jst(d.deleted_at),
                    d.person_id,
                    " ".join(d.data_types),
                    d.documents_deleted,
                    d.trigger,
                    d.rule_code,
                    d.deleted_by,
                ]
                for d in report.deletions
            ],  # fmt: skip
            [30, 16, 36, 12, 22, 28, 42],
            "なし",
        ),
        Paragraph("5. 利用している再委託先", heading),
        table(
            ["名称", "目的", "所在地"],
            [[s.name, s.purpose, s.location] for s in report.subprocessors],
            [60, 80, 46],
            "なし",
        ),
    ]
    document.build(story)
    return buffer.getvalue()
