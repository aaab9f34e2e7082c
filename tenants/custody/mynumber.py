"""My Number (個人番号): normalising what people type, and checking it.

A number is 11 digits P and a check digit (DESIGN.md). We accept what people really type:
full-width digits, hyphens and spaces of either width. We refuse anything else, including
zero-width characters and digits of other scripts that merely look like digits, rather than
guess. Error messages never repeat the number.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LENGTH = 12
# Separators people type between digit groups: ASCII and full-width hyphens and spaces, and
# the dashes Japanese IMEs produce for "-".
SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー－]")
ASCII_DIGITS = re.compile(r"^[0-9]+$")


class InvalidMyNumber(ValidationError):
    """A bad number. `code` says why: empty, characters, length or check_digit."""


FULL_WIDTH_DIGITS = frozenset("０１２３４５６７８９")


def _foreign_numeral(char: str) -> bool:
    return (
        unicodedata.category(char) in ("Nd", "No", "Nl")
        and not ("0" <= char <= "9")
        and char not in FULL_WIDTH_DIGITS
    )


def normalize(raw: str) -> str:
    """The 12 ASCII digits of `raw`, or InvalidMyNumber. Does not check the check digit."""
    if raw is None or not str(raw).strip():
        raise InvalidMyNumber(_("マイナンバーを入力してください。"), code="empty")
    # Only ASCII and full-width digits are digits here. NFKC would also fold mathematical,
    # superscript, circled and other compatibility digits (and ⑳ into two), so anything
    # numeric that is not one of ours is refused before folding.
    if any(_foreign_numeral(char) for char in str(raw)):
        raise InvalidMyNumber(
            _("マイナンバーは数字12桁で入力してください（数字以外の文字が含まれています）。"),
            code="characters",
        )
    # NFKC turns full-width digits and spaces into ASCII; it leaves zero-width characters
    # alone, so they fail the ASCII check below.
    text = unicodedata.normalize("NFKC", str(raw))
    text = SEPARATORS.sub("", text)
    if not ASCII_DIGITS.match(text):
        raise InvalidMyNumber(
            _("マイナンバーは数字12桁で入力してください（数字以外の文字が含まれています）。"),
            code="characters",
        )
    if len(text) != LENGTH:
        raise InvalidMyNumber(
            _(
                "マイナンバーは12桁です（入力は%(count)d桁でした）。番号を確かめて入力し直してください。"
            )
            % {"count": len(text)},
            code="length",
        )
    return text


def check_digit(first_eleven: str) -> int:
    """The check digit of 11 digits. P1 is the rightmost; Qn = n+1 (n ≤ 6), n-5 (n ≥ 7)."""
    total = 0
    for n, char in enumerate(reversed(first_eleven), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(char) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def validate(raw: str) -> str:
    """Normalise and check; returns the 12 digits or raises InvalidMyNumber."""
    number = normalize(raw)
    if check_digit(number[:11]) != int(number[11]):
        raise InvalidMyNumber(
            _("マイナンバーの検査用数字が一致しません。入力に誤りがないか確認してください。"),
            code="check_digit",
        )
    return number


# How a number is shown by default: nothing of it. Even the last digits are part of the
# number, and showing them is a use of it (docs/decisions.md D13).
MASK = "****-****-****"
