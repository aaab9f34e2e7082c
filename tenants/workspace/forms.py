from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("メールアドレス"))
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices, initial=Role.HANDLER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)
