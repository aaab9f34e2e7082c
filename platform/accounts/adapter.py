"""django-allauth hooks: lockout, provisioning the firm once the owner's email is verified,
and allauth's emails, sent through our own templates in the recipient's language
(accounts.mail, docs/email.md)."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from . import lockout, mail
from .models import User

logger = logging.getLogger(__name__)

# allauth's emails that the configured flows send (mandatory verification, sign-up with
# enumeration prevention, password reset by link; notifications and codes are off), and our
# message for each: frontend/templates/email/<name>/.
ALLAUTH_MESSAGES = {
    "account/email/email_confirmation_signup": "account/email_confirmation_signup",
    "account/email/email_confirmation": "account/email_confirmation",
    "account/email/account_already_exists": "account/account_already_exists",
    "account/email/unknown_account": "account/unknown_account",
    "account/email/password_reset_key": "account/password_reset_key",
}


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

    def save_user(self, request: HttpRequest, user, form, commit: bool = True):
        # A new account's emails are in the language the person signed up in.
        user.language = mail.language_of(translation.get_language())
        return super().save_user(request, user, form, commit=commit)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        language = self._recipient_language(email, context)
        name = ALLAUTH_MESSAGES.get(template_prefix)
        if name is None:
            # A flow turned on without a message of ours (e.g. ACCOUNT_EMAIL_NOTIFICATIONS):
            # allauth's own templates, still in the recipient's language and still guarded.
            logger.warning("allauth email %s has no template of ours", template_prefix)
            request = allauth_context.request
            ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
            with translation.override(language):
                message = self.render_mail(template_prefix, email, {**ctx, **context})
            parts = [str(message.subject), str(message.body)]
            parts += [str(alt[0]) for alt in getattr(message, "alternatives", [])]
            mail.refuse_numbers(template_prefix, *parts)
            message.send()
            return
        expire_days = account_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS
        mail.send_templated(
            name, {"email": email, "expire_days": expire_days, **context}, [email], language
        )

    @staticmethod
    def _recipient_language(email: str, context: dict) -> str:
        """The account's language when the address has one, else the page's (an unknown
        address asking for a password reset)."""
        user = context.get("user")
        if not isinstance(user, User):
            user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            return user.language
        return mail.language_of(translation.get_language())

    def format_email_subject(self, subject: str) -> str:
        return _("[マイナンバー保管] ") + str(subject)

    def get_email_verification_redirect_url(self, email_address) -> str:
        return "/home/"
