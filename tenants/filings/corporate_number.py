"""法人番号: the 13-digit corporate number a firm files under. Public, not secret (the NTA
publishes them), so it is kept in the firm's settings in plaintext and written into the
filer's column (提出義務者の個人番号又は法人番号) of a filing when that column is blank.

The first digit is the check digit: 9 − (Σ Pn·Qn mod 9) over the other 12 digits, Pn the nth
digit counted from the right, Qn 1 for odd n and 2 for even n (the NTA's published rule;
国税庁's own 7000012050002 checks, tests/filings/test_corporate_number.py).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s\-ー－‐―]")


def check_digit(base: str) -> int:
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return 9 - total % 9


def normalize(raw: str) -> str:
    """Digits as people type them (full width, spaces, hyphens), checked: 13 ASCII digits."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if not (len(text) == 13 and text.isascii() and text.isdigit()):
        raise ValidationError(_("法人番号は13桁の数字で入力してください。"), code="length")
    if int(text[0]) != check_digit(text[1:]):
        raise ValidationError(
            _("法人番号の検査用数字（先頭の1桁）が合いません。入力を確かめてください。"),
            code="check_digit",
        )
    return text


def validate(value: str) -> None:
    if value:
        normalize(value)
