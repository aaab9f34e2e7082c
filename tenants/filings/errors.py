"""Errors of filings. Each is a custody error, so the one error layer (config.error_layer)
answers it with its status, code and message; no message ever holds a number."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.custody.errors import CustodyError


class FilingError(CustodyError):
    message = _("ファイルを処理できませんでした。何も出力していません。")


class FilingRejected(FilingError):
    """The file cannot be filled as it is. `row` and `field` (1-based) say where, when the
    problem is at one place; the message never contains a number from the file."""

    def __init__(self, message: str, *, row: int | None = None, field: int | None = None):
        self.row, self.field = row, field
        if row and field:
            where = gettext("%(row)s行目%(field)s項目: ") % {"row": row, "field": field}
        elif row:
            where = gettext("%(row)s行目: ") % {"row": row}
        elif field:
            where = gettext("%(field)s項目: ") % {"field": field}
        else:
            where = ""
        super().__init__(where + message)


class FilingTooLarge(FilingError):
    message = _("ファイルが大きすぎます。1ファイル40MBまでです。分けてアップロードしてください。")


class FilingGone(FilingError):
    """Its sealed copy was deleted: 24 hours passed, or someone deleted it."""

    message = _(
        "このファイルは保管期限（24時間）を過ぎたか削除されたため、もうダウンロードできません。"
        "もう一度アップロードしてください。"
    )


class FilingNeedsReview(FilingError):
    message = _(
        "確認が必要な欄が残っています。すべての欄について、人を選ぶか空欄のままにする理由を"
        "記録してから、ダウンロードしてください。"
    )


class ChoiceRefused(FilingError):
    message = _(
        "選んだ方はこの欄に指定できません（支払を受ける者は該当する区分の方から、"
        "配偶者・扶養親族はその従業員の扶養親族から選んでください）。"
    )


class ReasonRefused(FilingError):
    message = _(
        "空欄のままにする理由を200文字以内で入力してください"
        "（番号や12桁以上の数字は書かないでください）。"
    )
