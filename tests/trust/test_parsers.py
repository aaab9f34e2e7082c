"""Property tests (hypothesis) of the number parser and the CSV parser.

What they prove: whatever is typed or uploaded, the parsers fail only with their own clear
error (InvalidMyNumber, CsvRejected), never repeat the number in a message, accept the ways
people really type a valid number, and refuse invisible characters and digits of other
scripts rather than guess.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tenants.custody.csv_import import parse_csv
from tenants.custody.errors import CsvRejected
from tenants.custody.mynumber import InvalidMyNumber, check_digit, normalize, validate

pytestmark = pytest.mark.trust
FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None)
LONG = settings(max_examples=5000, deadline=None, derandomize=True, database=None)

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]
# Decimal digits of other scripts: NFKC leaves them alone, so they are refused as characters.
OTHER_SCRIPTS = {
    "arabic-indic": 0x0660,
    "extended arabic-indic": 0x06F0,
    "devanagari": 0x0966,
    "bengali": 0x09E6,
    "thai": 0x0E50,
    "mongolian": 0x1810,
}
# Lookalikes that NFKC folds into ASCII digits (unlike full-width, nobody types these).
NFKC_LOOKALIKES = {
    "mathematical bold": 0x1D7CE,
    "mathematical double-struck": 0x1D7D8,
    "mathematical monospace": 0x1D7F6,
    "segmented": 0x1FBF0,
}
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def valid_numbers(draw) -> str:
    first = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=11, max_size=11)))
    return first + str(check_digit(first))


def messages(error: InvalidMyNumber) -> str:
    return " ".join(str(m) for m in error.messages)


def assert_no_digits_echoed(text: str, raw: str) -> None:
    """A message may say how many digits there were; it never repeats a run of them."""
    assert not re.search(r"\d{4,}", text), text
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", raw))
    if len(digits) >= 4:
        assert digits not in text


@FAST
@given(raw=st.text(max_size=50))
@example(raw="123456789018")
@example(raw="１２３４５６７８９０１２")
@example(raw="1234 5678 9012 3456")
def test_parser_raises_only_its_own_error_and_never_echoes_digits(raw):
    for parse in (normalize, validate):
        try:
            parse(raw)
        except InvalidMyNumber as error:
            assert error.code in {"empty", "characters", "length", "check_digit"}
            assert_no_digits_echoed(messages(error), raw)


@FAST
@given(raw=st.text(alphabet=st.characters(categories=["Nd", "No", "Pd", "Zs", "Cf"]), max_size=40))
def test_digit_like_input_raises_only_its_own_error(raw):
    test_parser_raises_only_its_own_error_and_never_echoes_digits.hypothesis.inner_test(raw)


def variants(number: str) -> list[str]:
    groups = [number[:4], number[4:8], number[8:]]
    wide = number.translate(FULLWIDTH)
    wide_groups = [wide[:4], wide[4:8], wide[8:]]
    return [
        number,
        wide,
        "-".join(groups),
        " ".join(groups),
        "－".join(wide_groups),  # full-width hyphen-minus
        "ー".join(wide_groups),  # the long-vowel mark IMEs produce for "-"
        "\u3000".join(wide_groups),  # ideographic space
        f"  {'‐'.join(groups)}\t",
    ]


@FAST
@given(number=valid_numbers())
def test_valid_numbers_round_trip_through_the_ways_people_type_them(number):
    for typed in variants(number):
        assert validate(typed) == number


@FAST
@given(number=valid_numbers(), position=st.integers(0, 12), char=st.sampled_from(ZERO_WIDTH))
def test_zero_width_characters_are_refused(number, position, char):
    with pytest.raises(InvalidMyNumber) as refused:
        validate(number[:position] + char + number[position:])
    assert refused.value.code == "characters"
    assert_no_digits_echoed(messages(refused.value), number)


@FAST
@given(
    number=valid_numbers(),
    position=st.integers(0, 11),
    zero=st.sampled_from(sorted(OTHER_SCRIPTS.values())),
)
def test_digits_of_other_scripts_are_refused(number, position, zero):
    lookalike = chr(zero + int(number[position]))
    with pytest.raises(InvalidMyNumber) as refused:
        validate(number[:position] + lookalike + number[position + 1 :])
    assert refused.value.code == "characters"


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(
    number=valid_numbers(),
    position=st.integers(0, 11),
    zero=st.sampled_from(sorted(NFKC_LOOKALIKES.values())),
)
def test_mathematical_and_other_compatibility_digits_are_refused(number, position, zero):
    lookalike = chr(zero + int(number[position]))
    with pytest.raises(InvalidMyNumber):
        validate(number[:position] + lookalike + number[position + 1 :])


# --- CSV --------------------------------------------------------------------------------

HEADER = "区分,姓,名,姓（カナ）,名（カナ）,生年月日,関係の開始日,個人番号,利用目的\r\n"


def parse_safely(data: bytes):
    try:
        return parse_csv(data, max_rows=50)
    except CsvRejected as error:
        return error


def assert_csv_errors_hide(result, number: str) -> None:
    if isinstance(result, CsvRejected):
        texts = [str(result.message), str(result)]
    else:
        texts = [f"{e.field} {e.reason}" for e in result.errors]
    for text in texts:
        assert number not in text
        assert number.translate(FULLWIDTH) not in text


@FAST
@given(data=st.binary(max_size=2000))
@example(data=b"\xff\xfe1\x002\x00")
@example(data=b'"unterminated,\r\n"')
def test_csv_parser_raises_only_csv_rejected_on_any_bytes(data):
    parse_safely(data)


@settings(FAST, suppress_health_check=[HealthCheck.too_slow])
@given(
    number=valid_numbers(),
    cells=st.lists(st.text(max_size=30), min_size=0, max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
    quote=st.booleans(),
)
def test_csv_errors_never_contain_the_number(number, cells, encoding, quote):
    shown = f'="{number}"' if quote else number
    row = ["従業員", *cells[:4], "1990-13-45", "not a date", shown, *cells[4:]]
    text = HEADER + ",".join(c.replace("\r", " ") for c in row) + "\r\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    assert_csv_errors_hide(parse_safely(data), number)


@pytest.mark.slow
@LONG
@given(raw=st.text(max_size=80))
def test_parser_long(raw):
    test_parser_raises_only_its_own_error_and_never_echoes_digits.hypothesis.inner_test(raw)


@pytest.mark.slow
@LONG
@given(data=st.binary(max_size=20000))
def test_csv_parser_long(data):
    parse_safely(data)
