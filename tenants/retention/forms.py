from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.custody.models import Person, Purpose

from .models import ABROAD_DOCUMENTS_RULE, RetentionRule


class RuleForm(forms.Form):
    extra_months = forms.IntegerField(label=_("延長（月）"), min_value=0)
    purposes = forms.ModelMultipleChoiceField(
        label=_("対象の利用目的"),
        queryset=Purpose.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        to_field_name="code",
    )

    def __init__(self, *args, rule: RetentionRule, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule = rule
        # Never shorter than the law, never longer than it allows.
        self.fields["extra_months"] = forms.IntegerField(
            label=_("延長（月）"), min_value=0, max_value=rule.max_extra_months
        )
        if rule.code == ABROAD_DOCUMENTS_RULE:
            del self.fields["purposes"]  # applies to documents by tax year, not by purpose


class HoldForm(forms.Form):
    person = forms.ModelChoiceField(
        label=_("対象者（空欄で事業者全体）"), queryset=Person.objects.all(), required=False
    )
    reason = forms.CharField(label=_("理由"), max_length=500)


class PeriodForm(forms.Form):
    since = forms.DateField(label=_("開始日"), required=False)
    until = forms.DateField(label=_("終了日"), required=False)
