"""Errors of the custody services. None of their messages ever contains a number."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class CustodyError(Exception):
    """Base class; `message` is safe to show the user."""

    message: str | Promise = _("処理できませんでした。時間をおいてもう一度お試しください。")

    def __init__(self, message: str | Promise | None = None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class DuplicateMyNumber(CustodyError):
    message = _("このマイナンバーは既に別の方に登録されています。登録済みの方を確認してください。")


class UnknownPurpose(CustodyError):
    message = _("利用目的を事業者の一覧から選んでください。")


class PurposeNotNotified(CustodyError):
    message = _(
        "この方に通知していない利用目的では表示・出力できません。"
        "通知済みの利用目的を選ぶか、先に本人に利用目的を通知して登録してください。"
    )


class NoNumber(CustodyError):
    message = _("この方のマイナンバーはまだ登録されていません。")


class NotAllowed(CustodyError):
    message = _("この操作を行う権限がありません。")


class CsvRejected(CustodyError):
    """A CSV file refused as a whole (encoding, columns, size, row count), before any row is
    checked. `code` names the problem for the log: encoding, empty, columns, rows, bytes,
    format."""

    message = _("CSVファイルを読み込めませんでした。")

    def __init__(self, message: str | Promise | None = None, *, code: str = "format"):
        self.code = code
        super().__init__(message)


class UploadExpired(CustodyError):
    message = _(
        "アップロードしたファイルの有効期限（1時間）が切れました。もう一度アップロードしてください。"
    )


class AlreadyImported(CustodyError):
    message = _("このファイルは既に登録済みです。二重には登録していません。")


class UnderLegalHold(CustodyError):
    message = _(
        "法的保全が設定されているため削除できません。保全を解除してから削除してください"
        "（保全は「削除」ページで確認できます）。"
    )


class HasDependents(CustodyError):
    """An employee whose dependents are still registered: their records hang off the
    employee, each with its own retention period and possibly its own legal hold, so they
    are never deleted as a side effect (docs/decisions.md, the error layer's decision)."""

    message = _(
        "扶養親族が登録されているため、この従業員は削除していません。"
        "先に扶養親族を削除するか、別の従業員に付け替えてから、もう一度削除してください。"
    )


class IntegrityFailure(CustodyError):
    """A sealed value failed authentication (keys.errors.CiphertextInvalid): tampered with,
    or copied from another person, field or firm. The attempt is logged as a denied access;
    the message says what to do and never holds the number."""

    message = _(
        "保存されている暗号データが改ざんされているか、別の記録のデータに置き換えられているため、"
        "表示・出力できませんでした（完全性の検証に失敗しました）。番号は表示されていません。"
        "この試みはアクセス記録に残りました。オーナーとサポートに連絡してください。"
    )
