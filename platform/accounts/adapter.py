"""django-allauth hooks: lockout, and provisioning the firm once the owner's email is verified."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from . import lockout


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        user = lockout.find_user(credentials.get("email"))
        if user is not None and user.is_locked:
            until = formats.time_format(timezone.localtime(user.locked_until), "H:i")
            raise ValidationError(
                _(
                    "ログインの失敗が続いたため、このアカウントは %(until)s までロックされています。"
                    "時間をおいて再度お試しいただくか、パスワードを再設定してください。"
                )
                % {"until": until}
            )
        super().pre_authenticate(request, **credentials)

    def authenticate(self, request: HttpRequest, **credentials: Any):
        user = super().authenticate(request, **credentials)
        if user is not None:
            lockout.record_success(user)
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        user = lockout.find_user(credentials.get("email"))
        if user is not None:
            lockout.record_failure(user)

    def confirm_email(self, request: HttpRequest, email_address) -> bool:
        from firms.provisioning import provision_reserved_firms

        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            provision_reserved_firms(email_address.user)
        return confirmed

    def format_email_subject(self, subject: str) -> str:
        return _("[マイナンバー保管] ") + str(subject)

    def get_email_verification_redirect_url(self, email_address) -> str:
        return "/home/"
