"""The deletion certificate (削除証明書): the deletion records of a period, as CSV and as a
PDF the owner downloads and keeps. Built from the records alone: never a number.

The PDF is drawn as every PDF of the product is (config.pdf)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.utils import timezone

from config import pdf

from .models import DATA_TYPE_LABELS, DeletionMethod, DeletionRecord, DeletionTrigger

CSV_COLUMNS = (
    "deletion_id", "deleted_at_jst", "person_id", "person_name", "person_kind", "data_types",
    "documents_deleted", "rule_code", "rule_name", "relationship_ended_on", "due_on",
    "deleted_by", "trigger", "method",
)  # fmt: skip


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
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    style = pdf.styles()
    issued = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    rows = []
    for r in records:
        kinds = "、".join(str(DATA_TYPE_LABELS.get(k, k)) for k in r.data_types)
        if r.documents_deleted:
            kinds += f"（書類{r.documents_deleted}件）"
        how = f"{DeletionTrigger(r.trigger).label} / {DeletionMethod(r.method).label}"
        rows.append([r.pk, _jst(r.deleted_at), r.person_id, r.person_name, kinds,
                     r.rule_name or r.rule_code, r.due_on or "", r.deleted_by, how])  # fmt: skip
    story: list = [
        pdf.para("削除証明書", style.title),
        Spacer(1, 4 * mm),
        pdf.para(f"事業者: {firm_name}", style.body),
        pdf.para(
            f"対象期間: {_period(since, until)}（日本時間）　件数: {len(records)}件", style.body
        ),
        pdf.para(f"発行日時: {issued}（日本時間）", style.body),
        Spacer(1, 3 * mm),
        pdf.para(
            "下記の個人番号（特定個人情報）は、保存期間の経過後、当サービスにおいて"
            "暗号文および検索用ハッシュを消去し、本人確認書類のファイルを削除しました。"
            "削除したデータは復元できません。本証明書には個人番号を記載していません。",
            style.body,
        ),
        Spacer(1, 4 * mm),
        pdf.table(
            [
                "ID",
                "削除日時",
                "対象者ID",
                "氏名",
                "削除したデータ",
                "適用した規則",
                "削除期限",
                "削除者",
                "契機・方法",
            ],
            rows,
            [12, 28, 16, 30, 44, 44, 20, 40, 39],
            style.cell,
            empty="対象期間に削除の記録はありません。",
        ),  # fmt: skip
    ]
    return pdf.build(
        story,
        title="削除証明書",
        # The scope, readable without rendering the page.
        subject=f"deletion certificate {since or ''}..{until or ''}: {len(records)} records",
        landscape=True,
    )
