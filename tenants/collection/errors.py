"""Errors of collection. Messages say what happened and what to do next, and never contain a
number."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tenants.custody.errors import CustodyError


class CollectionError(CustodyError):
    message = _("依頼を処理できませんでした。時間をおいてもう一度お試しください。")


class LinkInvalid(CollectionError):
    message = _(
        "このリンクは無効です。URLが途中で切れていないか確認し、"
        "わからない場合は依頼した担当者にお問い合わせください。"
    )


class LinkExpired(CollectionError):
    message = _(
        "このリンクの有効期限が切れています。担当者に新しいリンクの発行を依頼してください。"
    )


class LinkRevoked(CollectionError):
    message = _("この依頼は取り消されました。ご不明な点は担当者にお問い合わせください。")


class LinkUsed(CollectionError):
    message = _("この依頼には既に回答いただいています。ありがとうございました。")


class AlreadyRequested(CollectionError):
    message = _("この方には回答待ちの依頼が既にあります。依頼の一覧から確認してください。")


class DependentDirectly(CollectionError):
    message = _("扶養親族の番号は、扶養する従業員への依頼で一緒に提出してもらいます。")


class NoDocumentsChosen(CollectionError):
    message = _("必要書類を1つ以上選んでください。")


class WrongState(CollectionError):
    message = _("この依頼は現在の状態ではその操作ができません。画面を再読み込みしてください。")


class MissingMethod(CollectionError):
    message = _("本人確認の方法を選んでください。「その他」の場合は備考に内容を書いてください。")


class MissingReason(CollectionError):
    message = _("理由を入力してください。")


class ReasonHasNumber(CollectionError):
    message = _("理由にマイナンバーを書かないでください。番号は記録に残せません。")


class SubmissionInvalid(CollectionError):
    """The person's answer has problems; `errors` maps a form field to messages."""

    message = _("入力内容を確認してください。")

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__()
