from __future__ import annotations

from io import BytesIO

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext_lazy as _

from tenants.auditlog.privacy import looks_like_my_number

from . import person_address, person_code, person_language
from .models import Person, PersonKind, Purpose


class DateInput(forms.DateInput):
    input_type = "date"


class NumberFreeInput(forms.TextInput):
    """A text input that does not write back a value shaped like a My Number: an address
    refused for holding one is shown again empty, so the page never carries it."""

    def format_value(self, value):
        return None if value and looks_like_my_number(str(value)) else super().format_value(value)


class PersonForm(forms.ModelForm):
    # Declared, not derived from the model: its rules (and their messages) are person_code's,
    # checked on what was typed after normalising it (full-width input is fine).
    code = forms.CharField(
        label=person_code.LABEL,
        required=False,
        help_text=person_code.HELP_TEXT,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )

    # The language the person reads: each named in itself; blank (not picked) follows the
    # person's browser. Dependents may have one too.
    language = forms.ChoiceField(
        label=person_language.LABEL,
        required=False,
        choices=[("", _("未設定（本人のブラウザの言語）")), *settings.PERSON_LANGUAGES],
        help_text=person_language.HELP_TEXT,
    )

    # Declared: person_address reads what was typed ("〒１００－０００１" is fine), and its
    # messages say what is wrong.
    postal_code = forms.CharField(
        label=person_address.POSTAL_CODE_LABEL,
        required=False,
        help_text=person_address.POSTAL_CODE_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    address = forms.CharField(
        label=person_address.ADDRESS_LABEL,
        required=False,
        help_text=person_address.ADDRESS_HELP,
        widget=NumberFreeInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Person
        fields = list(Person.EDITABLE_FIELDS)
        widgets = {
            "birth_date": DateInput,
            "relationship_start": DateInput,
            "relationship_end": DateInput,
        }

    def clean_code(self):
        # `kind` comes before `code` in the form, so it is cleaned by now (or missing, when
        # it has its own error: then only the kind-free rules apply).
        return person_code.check(
            self.cleaned_data.get("code"),
            kind=self.cleaned_data.get("kind"),
            person_id=self.instance.pk,
        )

    def clean_postal_code(self):
        return person_address.clean_postal_code(self.cleaned_data.get("postal_code"))

    def clean_address(self):
        return person_address.clean_address(self.cleaned_data.get("address"))

    def clean(self):
        data = super().clean() or {}
        if data.get("kind") == PersonKind.DEPENDENT and not data.get("employee"):
            self.add_error("employee", _("扶養親族には扶養する従業員を選んでください。"))
        if data.get("kind") != PersonKind.DEPENDENT and data.get("employee"):
            self.add_error(
                "employee",
                _(
                    "扶養する従業員を選べるのは扶養親族だけです。区分を「扶養親族」にするか、扶養する従業員を空欄にしてください。"
                ),
            )
        return data


def purpose_choices():
    return [(p.code, p.name) for p in Purpose.objects.filter(active=True)]


class NeverEchoedInput(forms.TextInput):
    """A text input that never writes its value back into the page: a form shown again
    after an error must not carry the number in its HTML."""

    def format_value(self, value):
        return None


class NumberForm(forms.Form):
    my_number = forms.CharField(
        label=_("マイナンバー（12桁）"),
        max_length=64,
        strip=False,
        widget=NeverEchoedInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    purposes = forms.MultipleChoiceField(
        label=_("本人に通知した利用目的"), widget=forms.CheckboxSelectMultiple, required=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purposes"].choices = purpose_choices()  # type: ignore[attr-defined]


class PurposeChoiceForm(forms.Form):
    purpose = forms.ChoiceField(label=_("利用目的"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [("", _("目的を選んでください")), *purpose_choices()]  # type: ignore[attr-defined]


class PurposeForm(forms.ModelForm):
    default_for = forms.MultipleChoiceField(
        label=_("既定で通知する対象"),
        choices=PersonKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Purpose
        fields = ["code", "name_ja", "name_en", "default_for"]
        help_texts = {"code": _("半角英小文字・数字・アンダースコア。APIで使います。")}


class ImportFileForm(forms.Form):
    file = forms.FileField(
        label=_("CSVファイル"),
        help_text=_("UTF-8 または Shift_JIS。1行目は見出し行です。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class BoundedMemoryUploadHandler(FileUploadHandler):
    """Keeps an uploaded file in memory only, never in a temporary file on disk (an import
    CSV holds plaintext numbers), and stops reading it past `limit` bytes: `too_large` is
    then set and the file is dropped. The rest of the body is read and discarded."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.too_large = False
        self.buffer = BytesIO()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.too_large = True
            self.buffer = BytesIO()
            raise StopUpload(connection_reset=False)
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


class RegisterPrintForm(forms.Form):
    """Printing the 扶養控除等申告書 register with numbers (for a tax audit): the format, and a
    confirmation that this is an export of numbers that will be on record."""

    format = forms.ChoiceField(
        label=_("形式"),
        choices=[("pdf", _("PDF（印刷用）")), ("csv", _("CSV"))],
        initial="pdf",
        widget=forms.RadioSelect,
    )
    confirm = forms.BooleanField(
        label=_(
            "税務調査等のため、扶養控除等申告書の利用目的で番号を出力します。"
            "出力は一人ずつアクセス記録に残ります。"
        ),
        error_messages={
            "required": _("番号付きで出力するには、確認欄にチェックを入れてください。")
        },
    )
