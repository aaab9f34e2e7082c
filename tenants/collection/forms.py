from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tenants.custody import person_language
from tenants.custody.forms import NeverEchoedInput
from tenants.custody.models import Person, PersonKind, Purpose

from .models import NUMBER_KINDS, DocumentKind, IdentityMethod


def _number_document_choices() -> list[tuple[str, object]]:
    return [(kind, DocumentKind(kind).label) for kind in NUMBER_KINDS]


def _purpose_choices() -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in Purpose.objects.filter(active=True)]


class PeopleField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        registered = _("（登録済み）") if obj.has_number else ""
        label = _("%(family)s %(given)s（%(kind)s）") % {
            "family": obj.family_name, "given": obj.given_name, "kind": obj.get_kind_display()
        }  # fmt: skip
        return label + registered


class RequestForm(forms.Form):
    """A request to one or more people; purposes left empty mean each person's defaults."""

    people = PeopleField(
        label=_("依頼する方"),
        queryset=Person.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("依頼する方を1人以上選んでください。")},
    )
    email = forms.EmailField(
        label=_("送付先メールアドレス"),
        required=False,
        help_text=_("1人に依頼するときだけ使います。空欄ならリンクとQRコードを手渡しします。"),
    )
    # Each language named in itself. The page sets the person's language as the initial
    # choice when it is opened for one person; blank: each person's own (emails in Japanese
    # for someone without one). A language picked is remembered as the person's.
    language = forms.ChoiceField(
        label=person_language.LABEL,
        choices=[("", _("本人の言語（未設定ならメールは日本語）")), *settings.PERSON_LANGUAGES],
        initial="",
        required=False,
        help_text=_(
            "依頼のメール、再送、確認完了のお知らせをこの言語で送ります。"
            "選んだ言語は本人の言語として記録し、次からの依頼でも使います。"
        ),
    )
    purposes = forms.MultipleChoiceField(
        label=_("利用目的"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("選ばない場合は、区分ごとの既定の利用目的を通知します。"),
    )
    documents = forms.MultipleChoiceField(
        label=_("必要書類"),
        choices=_number_document_choices,
        initial=[DocumentKind.NUMBER_CHECK, DocumentKind.IDENTITY_CHECK],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("必要書類を1つ以上選んでください。")},
    )
    tax_year = forms.IntegerField(
        label=_("対象年（国外居住親族の書類）"),
        required=False,
        min_value=2016,
        max_value=2100,
        help_text=_(
            "国外に住む扶養親族の親族関係書類・送金関係書類等が何年分か。空欄なら今年です。"
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = self.fields["people"]
        assert isinstance(people, forms.ModelMultipleChoiceField)
        people.queryset = Person.objects.exclude(kind=PersonKind.DEPENDENT).select_related(
            "my_number"
        )
        purposes = self.fields["purposes"]
        assert isinstance(purposes, forms.MultipleChoiceField)
        purposes.choices = _purpose_choices()

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("email") and len(cleaned.get("people") or []) > 1:
            self.add_error(
                "email",
                _(
                    "メールアドレスは1人に依頼するときだけ指定できます。複数の方にはCSVで指定してください。"
                ),
            )
        return cleaned


class RequestCsvForm(forms.Form):
    file = forms.FileField(
        label=_("CSVファイル"),
        help_text=_("列: person_id, email（UTF-8 または Shift_JIS）。1行に1人です。"),
    )
    documents = forms.MultipleChoiceField(
        label=_("必要書類"),
        choices=_number_document_choices,
        initial=[DocumentKind.NUMBER_CHECK, DocumentKind.IDENTITY_CHECK],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("必要書類を1つ以上選んでください。")},
    )


class ApproveForm(forms.Form):
    method = forms.ChoiceField(
        label=_("本人確認の方法"),
        choices=IdentityMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("本人確認の方法を選んでください。")},
    )
    note = forms.CharField(
        label=_("備考"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("理由を入力してください。")},
    )


class PaperEntryForm(forms.Form):
    """A number handed over on paper, entered with the identity check already done."""

    my_number = forms.CharField(
        label=_("マイナンバー（12桁）"),
        max_length=64,
        strip=False,
        # A refused number is never sent back in the page.
        widget=NeverEchoedInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "spellcheck": "false",
                "data-mynumber": "",
            }
        ),
    )
    purposes = forms.MultipleChoiceField(
        label=_("通知した利用目的"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("選ばない場合は、区分ごとの既定の利用目的を通知したものとします。"),
    )
    method = ApproveForm.base_fields["method"]
    note = ApproveForm.base_fields["note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        purposes = self.fields["purposes"]
        assert isinstance(purposes, forms.MultipleChoiceField)
        purposes.choices = _purpose_choices()
