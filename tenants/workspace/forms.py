from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiScope, Role
from tenants.filings import corporate_number

from .models import DeletionMode, FirmSettings


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("メールアドレス"))
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices, initial=Role.HANDLER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("名前（用途）"), max_length=100)
    # Not shown: a token is minted in its holder's own name. A post naming another member is
    # refused by the service (accounts.api_tokens), one naming no member here by this field.
    user = forms.ChoiceField(
        label=_("このトークンで操作する利用者"), required=False, widget=forms.HiddenInput
    )
    scopes = forms.MultipleChoiceField(
        label=_("権限"), widget=forms.CheckboxSelectMultiple, choices=ApiScope.choices
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(m.user_id, m.user.email) for m in members]  # type: ignore[attr-defined]


class KeptWhenMissing(forms.ChoiceField):
    """A choice a POST may leave out (a form rendered before the field existed, a script):
    the setting then keeps its value and is not reported as changed."""

    def has_changed(self, initial, data) -> bool:
        return data not in (None, "") and super().has_changed(initial, data)


class FirmSettingsForm(forms.ModelForm):
    deletion_mode = KeptWhenMissing(
        label=FirmSettings._meta.get_field("deletion_mode").verbose_name,
        choices=DeletionMode.choices,
        required=False,
    )

    def clean_deletion_mode(self) -> str:
        return self.cleaned_data.get("deletion_mode") or self.instance.deletion_mode

    # Typed as people write it (hyphens, full width): longer than the 13 digits it keeps.
    corporate_number = forms.CharField(
        label=FirmSettings._meta.get_field("corporate_number").verbose_name,
        help_text=FirmSettings._meta.get_field("corporate_number").help_text,
        max_length=32,
        required=False,
    )

    def clean_corporate_number(self) -> str:
        raw = self.cleaned_data.get("corporate_number", "")
        return corporate_number.normalize(raw) if raw.strip() else ""

    class Meta:
        model = FirmSettings
        fields = [
            "accountants_may_reveal",
            "delete_documents_after_approval",
            "deletion_mode",
            "corporate_number",
        ]
