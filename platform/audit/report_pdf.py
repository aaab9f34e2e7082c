"""The supervision report as a PDF the firm keeps (監督の記録). Same content as the page,
drawn as every PDF of the product is (config.pdf)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from config import pdf

from .supervision import SupervisionReport


def _jst(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def supervision_pdf(report: SupervisionReport) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    style = pdf.styles()
    body, heading = style.body, style.heading

    def table(header: list[str], rows: list[list[Any]], widths: list[float], empty: str) -> Any:
        return pdf.table(header, rows, widths, style.cell, empty=empty)

    operators = (
        "当月、運用者（サポートを含む）による事業者データへのアクセスはありませんでした。"
        if report.operator_free
        else f"当月、運用者によるアクセスが {report.operator_access_count} 件ありました（下表）。"
    )
    story: list[Any] = [
        pdf.para("委託先監督報告（特定個人情報の取扱状況）", style.title),
        Spacer(1, 3 * mm),
        pdf.para(f"事業者: {report.firm_name}（{report.firm_slug}）", body),
        pdf.para(f"対象月: {report.month_text}（日本時間）", body),
        pdf.para(f"作成日時: {_jst(report.generated_at)}（日本時間）", body),
        pdf.para(f"アクセス記録の連鎖の先頭: #{report.head_seq} {report.head_hash[:16]}…", body),
        pdf.para("本報告書には個人番号を記載していません。", body),
        pdf.para("1. 役割ごとのアクセス件数", heading),
        table(
            ["役割", "操作", "許可", "拒否"],
            [[r.label, a.label, a.allowed, a.denied] for r in report.by_role for a in r.actions],
            [40, 80, 30, 30],
            "当月のアクセスはありません。",
        ),
        pdf.para(f"合計 {report.entries} 件（うち拒否 {report.denied} 件）", body),
        pdf.para("2. 運用者によるアクセス（本来は0件）", heading),
        pdf.para(operators, body),
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
        pdf.para("運用者の記録（事業者に関する運用操作）", body),
        table(
            ["日時", "運用者", "操作"],
            [[_jst(o.at), o.actor_email, o.action] for o in report.operator_actions],
            [40, 70, 70],
            "なし",
        ),
        pdf.para("3. 鍵の操作", heading),
        pdf.para(f"鍵の管理方式: {report.key_provider}　件数: {report.key_event_count}", body),
        table(
            ["#", "日時", "実行者", "内容", "結果", "詳細"],
            [
                [k.seq, _jst(k.at), k.actor_email, k.action_label, k.result, k.summary]
                for k in report.key_events
            ],  # fmt: skip
            [14, 30, 45, 30, 16, 51],
            "なし",
        ),
        pdf.para(f"4. 削除（{report.deletion_count}件）", heading),
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
        pdf.para("5. 利用している再委託先", heading),
        table(
            ["名称", "目的", "所在地"],
            [[s.name, s.purpose, s.location] for s in report.subprocessors],
            [60, 80, 46],
            "なし",
        ),
    ]
    return pdf.build(story, title="委託先監督報告",
                     subject=f"supervision report {report.firm_slug} {report.month_text}")  # fmt: skip
