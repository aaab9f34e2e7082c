"""Filing files read and written as bytes (issue 17, first part): the layouts are detected
from field 1 and the field count, only number columns change, and every other byte (the
encoding, line endings, quoting, the last field's space) stays. The sample files are built
from the layouts in tenants/filings/layouts.py, never copied from a real file."""

from __future__ import annotations

import random

import pytest

from tenants.custody.mynumber import check_digit
from tenants.filings.layouts import FEES, LAYOUTS, RENTS, SALARY_R7, UNIFIED_R6, Layout, Slot
from tenants.filings.records import (
    FilingRejected,
    holds_numbers,
    parse,
    strip_numbers,
    write_numbers,
)

# Kanji of JIS X 0208 level 2 (Shift_JIS lead byte 0x98–0xEA), the ones a naive converter
# loses: checked below rather than trusted.
LEVEL_2 = "鰺蘊亟燿凜堯槇遙"


def number(serial: int) -> str:
    body = f"{serial:011d}"
    return body + str(check_digit(body))


def _cell(layout: Layout, field: int, rng: random.Random, row: int) -> str:
    if field == 1:
        return layout.code
    if field in layout.number_fields:
        return ""
    if field == layout.name_field:
        return f"山田{LEVEL_2[(row - 1) % len(LEVEL_2)]}{row}"
    if layout.birth_fields and field in layout.birth_fields:
        return ("4", "62", "04", "01")[layout.birth_fields.index(field)]
    return rng.choice(["", "1", "1200000", "ﾔﾏﾀﾞ", "東京都千代田区千代田１－１"])


def blank_file(layout: Layout, rows: int = 3, *, ending: str = "\r\n", encoding: str = "cp932",
               last_newline: bool = True) -> bytes:  # fmt: skip
    """A file as payroll software writes it: the number columns empty, the last field a
    half-width space when it is empty and the layout asks for one."""
    rng = random.Random(f"{layout.code}{layout.field_count}")  # noqa: S311 - sample data
    lines = []
    for row in range(1, rows + 1):
        cells = [_cell(layout, field, rng, row) for field in range(1, layout.field_count + 1)]
        if layout.last_field_space_when_empty and cells[-1] == "":
            cells[-1] = " "
        lines.append(",".join(cells))
    text = ending.join(lines) + (ending if last_newline else "")
    return text.encode(encoding)


def test_the_sample_names_use_level_2_kanji():
    for kanji in LEVEL_2:
        lead = kanji.encode("shift_jis")[0]
        assert 0x98 <= lead <= 0xEA, kanji


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: f"{lay.code}-{lay.field_count}")
def test_each_layout_is_detected_and_round_trips_byte_for_byte(layout):
    data = blank_file(layout)
    filing = parse(data)
    assert filing.layout is layout and filing.encoding == "cp932" and len(filing.records) == 3
    assert filing.to_bytes() == data
    assert write_numbers(filing, {}) == data
    assert holds_numbers(filing) == []


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: f"{lay.code}-{lay.field_count}")
def test_filling_changes_only_the_number_columns_and_stripping_gives_the_file_back(layout):
    data = blank_file(layout)
    filing = parse(data)
    values = {(row, column.field): number(row * 100 + i)
              for row in (1, 2, 3) for i, column in enumerate(layout.numbers)}  # fmt: skip
    filled = write_numbers(filing, values)
    refilled = parse(filled)
    for row in (1, 2, 3):
        for field in range(1, layout.field_count + 1):
            got = refilled.records[row - 1].text(field, "cp932")
            expected = values.get((row, field)) or filing.records[row - 1].text(field, "cp932")
            assert got == expected, (row, field)
    assert sorted(holds_numbers(refilled)) == sorted(values)
    assert strip_numbers(refilled) == data
    # Line endings and the Shift_JIS text around the numbers are the same bytes.
    assert filled.count(b"\r\n") == data.count(b"\r\n") == 3
    assert "山田鰺1".encode("cp932") in filled


def test_the_last_field_rule_a_number_replaces_the_space_and_emptying_puts_it_back():
    data = blank_file(FEES, rows=1)
    assert data.endswith(b", \r\n")  # the payee's number column (53) is the last field
    filing = parse(data)
    filled = write_numbers(filing, {(1, 53): number(7)})
    assert filled.endswith(f",{number(7)}\r\n".encode())
    assert strip_numbers(parse(filled)) == data
    # The 統一CSV's last field (作成区分) is required: no space rule there.
    unified = parse(blank_file(UNIFIED_R6, rows=1))
    assert unified.layout.last_field_space_when_empty is False


def test_lf_endings_no_final_newline_and_utf8_where_the_layout_allows_it():
    lf = blank_file(SALARY_R7, ending="\n", last_newline=False)
    filing = parse(lf)
    filled = write_numbers(filing, {(3, 95): number(3)})
    assert b"\r" not in filled and not filled.endswith(b"\n")
    assert strip_numbers(parse(filled)) == lf
    utf8 = b"\xef\xbb\xbf" + blank_file(UNIFIED_R6, encoding="utf-8")
    unified = parse(utf8)
    assert unified.encoding == "utf-8" and unified.bom
    assert strip_numbers(parse(write_numbers(unified, {(1, 119): number(9)}))) == utf8
    with pytest.raises(FilingRejected, match="Shift_JIS"):
        parse(blank_file(SALARY_R7, encoding="utf-8"))


def test_a_quoted_field_is_one_field_and_stays_quoted():
    cells = blank_file(RENTS, rows=1).decode("cp932").rstrip("\r\n").split(",")
    cells[13] = '"山田, 太郎"'  # a comma inside quotes: one field
    data = (",".join(cells) + "\r\n").encode("cp932")
    filing = parse(data)
    assert filing.records[0].text(14, "cp932") == "山田, 太郎"
    filled = write_numbers(filing, {(1, 41): number(41)})
    assert '"山田, 太郎"'.encode("cp932") in filled and strip_numbers(parse(filled)) == data


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda text: "区分,姓,名\r\n" + text, "対応していない様式"),  # a heading row
        (lambda text: text.replace(",", ",x,", 1), "項目数"),  # a field too many
        (lambda text: "", "空です"),
        (lambda text: text.replace("\r\n", "\r\n\r\n", 1), "空の行"),
    ],
)
def test_files_that_are_no_known_layout_are_refused_with_where_and_why(mangle, message):
    data = mangle(blank_file(SALARY_R7).decode("cp932")).encode("cp932")
    with pytest.raises(FilingRejected, match=message):
        parse(data)


def test_a_number_column_holding_something_else_is_reported_not_fixed():
    cells = blank_file(SALARY_R7, rows=2).decode("cp932").split("\r\n")[1].split(",")
    cells[94] = "1234-5678-9018"  # field 95 with hyphens, as someone typed it
    data = blank_file(SALARY_R7, rows=1) + (",".join(cells) + "\r\n").encode("cp932")
    with pytest.raises(FilingRejected) as refused:
        parse(data)
    assert (refused.value.row, refused.value.field) == (2, 95)
    assert "1234" not in str(refused.value)  # the message never repeats what was there


def test_a_second_layout_in_the_same_file_is_refused():
    data = blank_file(SALARY_R7, rows=1) + blank_file(FEES, rows=1)
    with pytest.raises(FilingRejected, match="1行目と様式が違います") as refused:
        parse(data)
    assert refused.value.row == 2


def test_only_number_columns_can_be_written():
    filing = parse(blank_file(SALARY_R7, rows=1))
    with pytest.raises(ValueError, match="not a number column"):
        write_numbers(filing, {(1, 14): "123456789018"})
    with pytest.raises(ValueError, match="digits"):
        write_numbers(filing, {(1, 95): "1234-5678-9018"})


def test_strip_can_keep_the_filers_corporate_number():
    filing = parse(blank_file(SALARY_R7, rows=1))
    filled = parse(write_numbers(filing, {(1, 94): "1234567890123", (1, 95): number(1)}))
    people_only = parse(strip_numbers(filled, [s for s in Slot if s != Slot.FILER]))
    assert holds_numbers(people_only) == [(1, 94)]


def test_a_record_keeps_offsets_not_fields_and_reads_every_kind_of_field_alike():
    """Records keep one integer per field (a 10,000-row file of 147 fields is 1.47 million
    fields); lines with a quote are read field by field, the others split at once, and both
    give the same fields, spans and bytes back."""
    cells = blank_file(RENTS, rows=1).decode("cp932").rstrip("\r\n").split(",")
    plain = cells.copy()
    plain[13], plain[14], plain[20] = "山田", 'ab"c', ""  # a quote inside an unquoted field
    quoted = plain.copy()
    quoted[13], quoted[20] = '"山田"', '""'  # the same values, quoted
    quoted[15] = '"say ""hi"", 1"'
    data = "\r\n".join([",".join(plain), ",".join(quoted)]).encode("cp932")  # no final newline
    filing = parse(data)
    first, second = filing.records
    assert first.field_count == second.field_count == RENTS.field_count
    assert [first.text(f, "cp932") for f in (14, 15, 21)] == ["山田", 'ab"c', ""]
    assert [second.text(f, "cp932") for f in (14, 15, 16, 21)] == [
        "山田",
        'ab"c',
        'say "hi", 1',
        "",
    ]
    assert second.raw(16) == b'say ""hi"", 1' and second.span(16)[2] and not first.span(16)[2]
    line = second.line
    for field, (start, end, quoted_field) in enumerate(second.spans, start=1):
        around = line[start - quoted_field : end + quoted_field]
        assert around == quoted[field - 1].encode("cp932")
    assert filing.to_bytes() == data and strip_numbers(filing) == data
    filled = write_numbers(filing, {(2, 41): number(41), (2, 42): number(42)})
    assert strip_numbers(parse(filled)) == data


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (b"a,,b,", [b"a", b"", b"b", b""]),
        (b'"x,y",', [b"x,y", b""]),
        (b'a,""', [b"a", b""]),
        (b'"",""', [b"", b""]),
        (b'a,"b""c"', [b"a", b'b""c']),
    ],
)
def test_fields_of_a_line_as_they_are_split(line, fields):
    from tenants.filings.records import Record, _offsets

    record = Record(line, b"", _offsets(line, 1))
    assert [record.raw(field) for field in range(1, record.field_count + 1)] == fields


@pytest.mark.parametrize(
    ("line", "field"), [(b'a,"b', 2), (b'"a"b,c', 1), (b'a,b,"c""', 3)]
)  # fmt: skip
def test_a_quote_that_does_not_close_a_field_is_refused_with_where(line, field):
    from tenants.filings.records import _offsets

    with pytest.raises(FilingRejected) as refused:
        _offsets(line, 7)
    assert (refused.value.row, refused.value.field) == (7, field)


def test_a_refusal_is_in_the_readers_language():
    from django.utils import translation

    cells = blank_file(SALARY_R7, rows=2).decode("cp932").split("\r\n")[1].split(",")
    cells[94] = "1234-5678-9018"
    data = blank_file(SALARY_R7, rows=1) + (",".join(cells) + "\r\n").encode("cp932")
    with pytest.raises(FilingRejected) as japanese:
        parse(data)
    with translation.override("en"), pytest.raises(FilingRejected) as english:
        parse(data)
    assert str(japanese.value).startswith("2行目95項目: 番号欄に")
    assert str(english.value).startswith("Row 2, field 95: A number column")
    assert "5678" not in str(english.value)
