"""The number parser: what people type is accepted, everything else is refused clearly."""

from __future__ import annotations

import random

import pytest

from tenants.custody.mynumber import InvalidMyNumber, check_digit, normalize, validate

VALID = "123456789018"


@pytest.mark.parametrize(
    "typed",
    [
        "123456789018",
        "1234-5678-9018",
        "1234 5678 9018",
        "１２３４５６７８９０１８",  # full-width digits
        "１２３４－５６７８－９０１８",  # full-width hyphens
        "1234　5678　9018",  # full-width spaces
        "1234ー5678ー9018",  # the long-vowel mark IMEs give for "-"
        " 123456789018\n",
    ],
)
def test_what_people_type_is_normalised(typed):
    assert validate(typed) == VALID


def test_the_check_digit_of_the_design_example():
    assert check_digit("12345678901") == 8
    with pytest.raises(InvalidMyNumber) as error:
        validate("123456789012")
    assert error.value.code == "check_digit"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12345678901", "length"),
        ("1234567890189", "length"),
        ("12345678901a", "characters"),
        ("1234567890\u200b18", "characters"),  # zero-width space
        ("١٢٣٤٥٦٧٨٩٠١٨", "characters"),  # Arabic-Indic digits look like digits
        ("1234567890I8", "characters"),  # a capital I for a 1
        ("123456789O18", "characters"),  # a capital O for a 0
    ],
)
def test_bad_input_is_refused_with_a_reason_and_never_echoed(typed, code):
    with pytest.raises(InvalidMyNumber) as error:
        validate(typed)
    assert error.value.code == code
    digits = "".join(c for c in typed if c.isascii() and c.isdigit())
    for message in error.value.messages:
        if len(digits) >= 4:
            assert digits not in message


def spec_check(number: str) -> bool:
    """DESIGN.md's rule, written out a second way: Pn with P1 the rightmost of the first 11."""
    p = [int(c) for c in reversed(number[:11])]
    q = [n + 1 if n <= 6 else n - 5 for n in range(1, 12)]
    r = sum(pn * qn for pn, qn in zip(p, q, strict=True)) % 11
    return int(number[11]) == (0 if r <= 1 else 11 - r)


def test_the_parser_agrees_with_the_rule_on_random_numbers():
    rng = random.Random(2026)
    accepted = 0
    for _ in range(5000):
        number = "".join(rng.choice("0123456789") for _ in range(12))
        try:
            validate(number)
            ok = True
        except InvalidMyNumber:
            ok = False
        assert ok == spec_check(number), number
        accepted += ok
    assert 300 < accepted < 700  # about one in ten random numbers passes the check


def test_normalize_keeps_the_digits_only():
    assert normalize("１２３４-5678 ９０１２") == "123456789012"
