"""A person's address (郵便番号 and 住所): what the register of 扶養控除等申告書 numbers
(tenants.custody.dependents_register) lists beside each name. Every door that sets one (the
person form, the API, the CSV import and the services under them) reads it here, the same way:

- `clean_postal_code(raw)`: NFKC (full-width digits and "－" are fine), the dashes an IME
  types for "-" read as "-", spaces and a leading "〒" dropped; then exactly 7 digits, with
  or without one hyphen after the third ("123-4567", "1234567"). Stored as the 7 digits;
  `Person.postal_code_shown` puts the hyphen back. Anything else: `postal_code` error. Blank stays
  blank.
- `clean_address(raw)`: NFKC (full-width digits and letters become half-width, half-width
  kana full-width), runs of spaces and line breaks become one space, spaces at either end
  dropped; at most 200 characters (`length`). A run of 12 digits, alone or grouped 4-4-4, as
  the log's scrubber sees a number (`number_shaped`), is refused as person_code refuses it:
  an address is never a place a My Number may hide in plaintext (D33). Blank stays blank.

Messages never repeat what was typed. No database.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenants.auditlog.privacy import looks_like_my_number

ADDRESS_MAX = 200
POSTAL_CODE = re.compile(r"(\d{3})-?(\d{4})")
# What an IME writes when "-" is typed in Japanese mode, and the dashes that look like it
# (NFKC already folds the full-width hyphen-minus "－"), as person_code reads them.
DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))

POSTAL_CODE_LABEL = _("郵便番号")
ADDRESS_LABEL = _("住所")
POSTAL_CODE_HELP = _("7桁。ハイフンはあってもなくても構いません（例: 100-0001）。")
ADDRESS_HELP = _(
    "都道府県から。扶養控除等申告書の個人番号の記載を省略するための帳簿に載ります。200文字まで。"
)
POSTAL_CODE_INVALID = _(
    "郵便番号は7桁の数字で入力してください（例: 100-0001。ハイフンはあってもなくても構いません）。"
)
ADDRESS_LENGTH = _("住所は%(max)d文字以内にしてください（入力は%(count)d文字でした）。")
ADDRESS_NUMBER_SHAPED = _(
    "12桁続く数字はマイナンバーと見分けがつかないため、住所には使えません"
    "（マイナンバーを暗号化せずに保存しないためです）。住所を確かめてください。"
)


def clean_postal_code(raw: str | None) -> str:
    """The 7 digits, or ValidationError (code: postal_code). Blank is allowed."""
    text = unicodedata.normalize("NFKC", str(raw or "")).translate(DASHES)
    text = "".join(text.split()).removeprefix("〒")
    if not text:
        return ""
    match = POSTAL_CODE.fullmatch(text)
    if match is None:
        raise ValidationError(POSTAL_CODE_INVALID, code="postal_code")
    return match.group(1) + match.group(2)


def clean_address(raw: str | None) -> str:
    """The address as stored, or ValidationError (code: number_shaped, length). Blank is
    allowed."""
    text = " ".join(unicodedata.normalize("NFKC", str(raw or "")).split())
    if not text:
        return ""
    if looks_like_my_number(text):
        # First: refused for what it may be, and never stored or echoed.
        raise ValidationError(ADDRESS_NUMBER_SHAPED, code="number_shaped")
    if len(text) > ADDRESS_MAX:
        raise ValidationError(
            ADDRESS_LENGTH, code="length", params={"max": ADDRESS_MAX, "count": len(text)}
        )
    return text
