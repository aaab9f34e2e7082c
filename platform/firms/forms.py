"""The sign-up form: allauth's email + password, plus the firm and terms acceptance."""

from __future__ import annotations

from allauth.account.forms import SignupForm
from allauth.core import context as allauth_context
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import firm_url
from .provisioning import reserve_slug
from .slugs import SLUG_MAX, validate_slug_available, validate_slug_format

# Set by the invitation page: someone joining an existing firm does not create one.
INVITATION_SESSION_KEY = "pending_invitation"


class FirmSignupForm(SignupForm):
    firm_name = forms.CharField(label=_("事業者名"), max_length=200)
    firm_slug = forms.CharField(
        label=_("サブドメイン"),
        # Length is checked by validate_slug_format, with the message that names both bounds.
        widget=forms.TextInput(attrs={"maxlength": SLUG_MAX, "autocapitalize": "none"}),
        help_text=_(
            "半角英小文字・数字・ハイフン。例: yamada-shoji → yamada-shoji.（サービスのドメイン）"
        ),
    )
    accept_terms = forms.BooleanField(
        label=_("利用規約と個人情報の取扱いに同意します"),
        error_messages={"required": _("利用規約への同意が必要です。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # allauth does not hand the request to its sign-up form; its middleware keeps it here.
        request = getattr(self, "request", None) or allauth_context.request
        self.joining_by_invitation = bool(
            request is not None and request.session.get(INVITATION_SESSION_KEY)
        )
        if self.joining_by_invitation:
            del self.fields["firm_name"]
            del self.fields["firm_slug"]
        else:
            self.fields["firm_slug"].help_text = _(
                "半角英小文字・数字・ハイフン（3〜30文字）。事業者専用のアドレスになります。"
                "例: yamada-shoji → %(example)s"
            ) % {"example": firm_url("yamada-shoji")}
        self.order_fields(["email", "password1", "firm_name", "firm_slug", "accept_terms"])

    def clean_firm_slug(self) -> str:
        slug = self.cleaned_data["firm_slug"].strip()
        validate_slug_format(slug)
        validate_slug_available(slug)
        return slug

    def clean_firm_name(self) -> str:
        name = self.cleaned_data["firm_name"].strip()
        if not name:
            raise ValidationError(_("事業者名を入力してください。"))
        return name

    def custom_signup(self, request, user) -> None:
        if not self.joining_by_invitation:
            reserve_slug(
                owner=user,
                firm_name=self.cleaned_data["firm_name"],
                slug=self.cleaned_data["firm_slug"],
            )
