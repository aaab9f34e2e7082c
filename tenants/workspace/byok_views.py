"""Bring your own key, from the owner's side: point the firm's key-encryption key at a key in
the firm's own AWS account (keys.byok). Owners only; the attempt, allowed or refused, is in
the firm's log and the operator log."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from authz.actions import Action
from authz.decide import permits
from authz.web import allows
from keys.byok import ByokRejected, set_firm_byok_key
from keys.errors import KeyUnavailable

REASONS = {
    "bad_arn": _(
        "キーの ARN の形式が正しくありません（arn:aws:kms:リージョン:アカウント:key/キーID）。"
    ),
    "wrong_region": _(
        "キーのリージョンが当サービスのリージョンと違います。同じリージョンでキーを作成してください。"
    ),
    "wrong_key_type": _("対称暗号化キー（SYMMETRIC_DEFAULT、ENCRYPT_DECRYPT）を指定してください。"),
    "key_not_enabled": _(
        "キーが有効ではありません。AWS でキーを有効にしてから、もう一度お試しください。"
    ),
    "round_trip": _(
        "当サービスがこのキーを使えませんでした。グラント（またはキーポリシー）で当サービスの"
        "ロールに許可が与えられているか確認してください。"
    ),
}


@allows(Action.FIRM_SETTINGS)
def byok(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if not permits(membership.role, Action.FIRM_SETTINGS):
        raise Http404
    firm = request.tenant  # type: ignore[attr-defined]
    if request.method == "POST":
        arn = request.POST.get("key_arn", "")
        try:
            set_firm_byok_key(firm, arn, actor_email=request.user.email,  # type: ignore[union-attr]
                              actor_user_id=request.user.pk)  # fmt: skip
        except ByokRejected as rejected:
            messages.error(request, str(REASONS.get(rejected.code, REASONS["round_trip"])))
        except KeyUnavailable:
            messages.error(
                request,
                _(
                    "鍵管理サービスに接続できませんでした。鍵は変更されていません。時間をおいてお試しください。"
                ),
            )
        else:
            messages.success(
                request,
                _(
                    "自社のキーに切り替えました。キーを無効にすると、当サービスは番号を復号できなくなります。"
                ),
            )
        return redirect("byok")
    return render(
        request,
        "workspace/byok.html",
        {
            "firm_key": firm.key,
            "region": settings.AWS_REGION,
            "schema": firm.schema_name,
            "aws_enabled": settings.KEY_PROVIDER == "aws" or firm.key.provider == "aws",
        },
    )
