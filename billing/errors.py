"""Refusals of new data for billing reasons. They are custody errors, so every custody view,
the collection pages and the API show their message like any other refusal; the API answers
them with 402 Payment Required (tenants.api.errors)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tenants.custody.errors import CustodyError


class BillingBlocked(CustodyError):
    """New data refused: `code` is "plan_limit" (Free is full) or "read_only" (unpaid past
    the grace period, or canceled). Reveal, export and deletion are never refused."""

    code = "read_only"
    message: str | Promise = _(
        "ご契約が停止しているため、新しい登録はできません。番号の表示・出力・削除はご利用いただけます。"
        "ご契約の再開は「ご契約」ページから行えます。"
    )

    def __init__(self, code: str, message: str | Promise | None = None):
        self.code = code
        super().__init__(message)


PLAN_LIMIT_MESSAGE = _(
    "フリープランで登録できるのは%(limit)s名までです。%(next)s人目以降を登録するには、"
    "「ご契約」ページからスタンダードプランにお申し込みください。"
)
PAST_DUE_READ_ONLY_MESSAGE = _(
    "お支払いが確認できないまま猶予期間が終わったため、新しい登録はできません。"
    "番号の表示・出力・削除はご利用いただけます。「ご契約」ページでお支払い方法を更新してください。"
)
CANCELED_READ_ONLY_MESSAGE = _(
    "ご契約が解約されているため、新しい登録はできません。番号の表示・出力・削除はご利用いただけます。"
    "再開するには「ご契約」ページからお申し込みください。"
)


class BillingError(Exception):
    """A billing page's action could not be done; `message` is safe to show."""

    message: str | Promise = _(
        "ご契約の手続きを完了できませんでした。"
        "時間をおいてもう一度お試しください。続く場合はサポートにお問い合わせください。"
    )

    def __init__(self, message: str | Promise | None = None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class BillingOff(BillingError):
    message = _("このサービスでは現在オンライン決済を利用していません。")


class UnknownPlan(BillingError):
    message = _("お申し込みできるプランから選んでください。")


class AlreadySubscribed(BillingError):
    message = _(
        "既にご契約中です。プランの変更やお支払い方法の更新は「カード・請求書の管理」から行えます。"
    )


class NoCustomer(BillingError):
    message = _("まだご契約がありません。先にプランをお申し込みください。")


class StripeUnavailable(BillingError):
    message = _(
        "決済サービスに接続できませんでした。時間をおいて再度お試しください。何も変更されていません。"
    )


class WebhookRejected(Exception):
    """The webhook's signature (or its secret) is missing, forged or stale; answered 400."""
