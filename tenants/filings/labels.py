"""What the pages call a filing's parts, in the language of the request: the form a layout
is, its year, whose number a column holds, and why a column is in the review.

The layouts' own names (layouts.Layout.name) are the official Japanese ones, kept for the
code and the logs; these are the catalogue's (English in frontend/locale)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .layouts import Layout, Slot, layout_for
from .services import Reason

FORMS: dict[str, Promise] = {
    "375": _("給与所得の源泉徴収票"),
    "309": _("報酬、料金、契約金及び賞金の支払調書"),
    "313": _("不動産の使用料等の支払調書"),
    "316": _("退職所得の源泉徴収票"),
    "315": _("給与支払報告書・源泉徴収票（eLTAX 統一CSV）"),
}

EDITIONS: dict[str, Promise] = {
    "令和7年分": _("令和7年分"),
    "令和6年分": _("令和6年分"),
}

REASONS: dict[str, Promise] = {
    Reason.NOBODY: _("該当者なし"),
    Reason.AMBIGUOUS: _("複数の候補"),
    Reason.NO_NUMBER: _("番号未登録"),
    Reason.NOT_NOTIFIED: _("利用目的の未通知"),
    Reason.PRESENT_MATCHES: _("番号あり（一致）"),
    Reason.PRESENT_DIFFERS: _("番号あり（不一致）"),
    Reason.ABROAD: _("国外居住親族（番号なし）"),
}

# What the handler can do about each reason, under the review line.
HINTS: dict[str, Promise] = {
    Reason.NOBODY: _(
        "ファイルの氏名（と生年月日）に一致する方が登録されていません。該当する方を選ぶか、"
        "記入しない理由を記録してください。"
    ),
    Reason.AMBIGUOUS: _(
        "同じ氏名の方が複数登録されています。候補から選ぶか、記入しない理由を記録してください。"
    ),
    Reason.NO_NUMBER: _(
        "この方の番号が登録されていません。番号を登録するとこの欄は記入の対象になります。"
        "登録しない場合は、記入しない理由を記録してください。"
    ),
    Reason.NOT_NOTIFIED: _(
        "この方にはこの様式の利用目的を通知していません。通知を記録するとこの欄は記入の対象に"
        "なります。記録しない場合は、記入しない理由を記録してください。"
    ),
    Reason.PRESENT_MATCHES: _(
        "アップロードしたファイルにこの方の番号が既に入っています（登録済みの番号と一致）。"
        "そのまま残します。"
    ),
    Reason.PRESENT_DIFFERS: _(
        "アップロードしたファイルに、登録済みの番号と異なる番号が入っています。この欄は書き換えず、"
        "ファイルの番号がそのまま残ります。給与ソフト側の番号を確かめ、理由を記録してください。"
    ),
    Reason.ABROAD: _(
        "国外に住む扶養親族（番号なし）として登録されている方です。この欄は空欄のまま提出します。"
        "答える必要はありません。"
    ),
}


def form_name(code: str) -> str:
    return str(FORMS.get(code, code))


def edition_name(edition: str) -> str:
    return str(EDITIONS.get(edition, edition))


def reason_name(reason: str) -> str:
    return str(REASONS.get(reason, reason))


def slot_name(layout: Layout | None, field: int) -> str:
    """本人, 配偶者, 扶養親族n or 16歳未満の扶養親族n: whose number the column holds."""
    column = next((c for c in layout.numbers if c.field == field), None) if layout else None
    if column is None:
        return ""
    if column.slot is Slot.PERSON:
        return gettext("本人")
    if column.slot is Slot.SPOUSE:
        return gettext("配偶者")
    if column.slot is Slot.DEPENDANT:
        return gettext("扶養親族%(n)d") % {"n": column.index}
    if column.slot is Slot.UNDER16:
        return gettext("16歳未満の扶養親族%(n)d") % {"n": column.index}
    return ""


def layout_of(layout_code: str, field_count: int) -> Layout | None:
    return layout_for(layout_code, field_count)
