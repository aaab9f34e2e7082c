from django import forms
from django.utils.translation import gettext_lazy as _


class FilingFileForm(forms.Form):
    """A filing file: what it is is read from its bytes (records.parse), never from its name
    or its type, so only its presence is checked here; an empty file is refused by parse."""

    file = forms.FileField(
        label=_("CSVファイル"),
        allow_empty_file=True,
        error_messages={"required": _("アップロードするCSVファイルを選んでください。")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
