"""Reading a filing file as bytes and writing back only its number columns.

Every other byte stays as it was: the encoding (Shift_JIS/CP932, or UTF-8 where the layout
allows it), each line's ending (CRLF, LF, or none on the last line), the field count, quoting,
and the single space of an empty last field. Fields are found on the bytes themselves: a
half-width comma (0x2C) is never part of a CP932 double-byte character (second bytes are
0x40–0xFC) nor of a UTF-8 sequence, so splitting bytes splits characters correctly.

The layouts forbid commas inside values [S5] and no producer is known to quote, but a quoted
field (`"…"`, `""` for a quote) is read as one field and written back quoted.

A file is refused as a whole (FilingRejected, with the row and field) when its records are
not all one known layout, or a number column holds something other than nothing, the last
field's space, or a number of the right shape: the file is reported, never "fixed".
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate

from django.utils.translation import gettext as _

from .errors import FilingRejected
from .layouts import Layout, NumberColumn, known_counts, layout_for

BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
EMPTY_LAST = b" "
_QUOTE = ord('"')


class Record:
    """One line: where its fields are, and the line's own ending.

    A 10,000-row file of 147 fields is 1.47 million fields, so a record keeps no object per
    field, only `offsets`, an array of field_count + 1 integers: offsets[k] is the length of
    fields 1..k together, commas left out, so field k's bytes (its quotes included, if it is
    quoted) are line[offsets[k - 1] + k - 1 : offsets[k] + k - 1]. A field is quoted exactly
    when its first byte is a quote (a quoted field ends at its closing quote, which a comma or
    the line's end must follow), so nothing else needs keeping."""

    __slots__ = ("ending", "line", "offsets")

    def __init__(self, line: bytes, ending: bytes, offsets: array) -> None:
        self.line = line  # without its ending
        self.ending = ending  # b"\r\n", b"\n", b"\r" or b"" (last line)
        self.offsets = offsets

    def __repr__(self) -> str:
        return f"Record({self.field_count} fields, {len(self.line)} bytes, ending={self.ending!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.line, self.ending, self.offsets) == (other.line, other.ending, other.offsets)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    @property
    def field_count(self) -> int:
        return len(self.offsets) - 1

    def span(self, field: int) -> tuple[int, int, bool]:
        """(start, end, quoted) of a field's content in the line: inside the quotes, with
        any doubled quote still doubled."""
        start, end = self.offsets[field - 1] + field - 1, self.offsets[field] + field - 1
        if start < end and self.line[start] == _QUOTE:
            return start + 1, end - 1, True
        return start, end, False

    @property
    def spans(self) -> list[tuple[int, int, bool]]:
        """Every field's span (built on demand; the record keeps only `offsets`)."""
        return [self.span(field) for field in range(1, len(self.offsets))]

    def raw(self, field: int) -> bytes:
        offsets, line = self.offsets, self.line
        start, end = offsets[field - 1] + field - 1, offsets[field] + field - 1
        if start < end and line[start] == _QUOTE:
            return line[start + 1 : end - 1]
        return line[start:end]

    def text(self, field: int, encoding: str) -> str:
        offsets, line = self.offsets, self.line
        start, end = offsets[field - 1] + field - 1, offsets[field] + field - 1
        if start < end and line[start] == _QUOTE:
            return line[start + 1 : end - 1].replace(b'""', b'"').decode(encoding)
        return line[start:end].decode(encoding)


@dataclass
class FilingFile:
    layout: Layout
    encoding: str
    bom: bool
    records: list[Record]

    def to_bytes(self) -> bytes:
        body = b"".join(record.line + record.ending for record in self.records)
        return (BOM if self.bom else b"") + body


def _lines(data: bytes) -> list[tuple[bytes, bytes]]:
    """Each line with its own ending; the last one without, unless the data ends with one."""
    crlf, cr, lf = data.count(b"\r\n"), data.count(b"\r"), data.count(b"\n")
    same = b"\r\n" if crlf == cr == lf else b"\n" if not cr else b"\r" if not lf else None
    if same is not None:
        # One kind of ending throughout, as a program writes a file: split in C.
        parts = data.split(same)
        last = parts.pop()
        lines = [(part, same) for part in parts]
        if last:
            lines.append((last, b""))
        return lines
    lines = []
    start = 0
    for found in _LINE_END.finditer(data):
        lines.append((data[start : found.start()], found.group()))
        start = found.end()
    if start < len(data):
        lines.append((data[start:], b""))
    return lines


def _offsets(line: bytes, row: int) -> array:
    """Record.offsets of the line."""
    if b'"' not in line:
        # No quote, so every comma separates two fields: a running sum of their lengths, in C
        # (an array is built about twice as fast from a list as from the iterator), two
        # bytes an entry where the line allows.
        lengths = list(accumulate(map(len, line.split(b",")), initial=0))
        return array("H" if len(line) <= 0xFFFF else "I", lengths)
    return _quoted_offsets(line, row)


def _quoted_offsets(line: bytes, row: int) -> array:
    """A line with a quote in it, read field by field: a field that starts with a quote runs
    to its closing quote (`""` inside is a quote), which a comma or the line's end follows."""
    offsets = array("I", [0])
    i = 0
    while True:
        field = len(offsets)  # the one starting at i
        if line[i : i + 1] == b'"':
            j = i + 1
            while True:
                j = line.find(b'"', j)
                if j < 0:
                    raise FilingRejected(_('引用符（"）が閉じていません。'), row=row, field=field)
                if line[j + 1 : j + 2] == b'"':
                    j += 2
                    continue
                break
            i = j + 1
            if i < len(line) and line[i : i + 1] != b",":
                raise FilingRejected(_("引用符の後に区切りのカンマがありません。"), row=row,
                                     field=field)  # fmt: skip
        else:
            j = line.find(b",", i)
            i = len(line) if j < 0 else j
        offsets.append(i - (field - 1))  # where the field ends, less the commas before it
        if i >= len(line):
            return offsets
        i += 1  # past the comma
        if i == len(line):
            offsets.append(offsets[-1])  # an empty last field
            return offsets


def _decode_check(data: bytes, encodings: tuple[str, ...]) -> str:
    for encoding in encodings:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FilingRejected(
        _(
            "文字コードを読み取れませんでした。Shift_JIS（CP932）またはUTF-8で保存したファイルを選んでください。"
        )
        if "utf-8" in encodings
        else _(
            "文字コードを読み取れませんでした。Shift_JIS（CP932）で保存したファイルを選んでください。"
        )
    )


def parse(data: bytes) -> FilingFile:
    """The file's layout, encoding and records; FilingRejected if it is none of the layouts."""
    bom = data.startswith(BOM)
    body = data[len(BOM) :] if bom else data
    lines = _lines(body)
    while lines and lines[-1][0] == b"":
        # Empty lines at the end are no records; their bytes stay, after the last record.
        lines.pop()
    if not lines:
        raise FilingRejected(_("ファイルが空です。"))
    records = []
    for row, (line, ending) in enumerate(lines, start=1):
        if not line:
            raise FilingRejected(_("空の行があります。"), row=row)
        records.append(Record(line, ending, _offsets(line, row)))
    trailing = body[sum(len(r.line) + len(r.ending) for r in records) :]
    records[-1].ending += trailing
    first = records[0]
    code = first.raw(1).strip(b'"').decode("ascii", errors="replace")
    layout = _layout_of(code, first.field_count)
    if bom and "utf-8" not in layout.encodings:
        raise FilingRejected(_("この様式はShift_JIS（CP932）で保存してください。"))
    encoding = _decode_check(body, layout.encodings)
    expected = (layout.field_count + 1, code.encode())
    numbers = [(column.field, column) for column in layout.numbers]
    for row, record in enumerate(records, start=1):
        if (len(record.offsets), record.raw(1).strip(b'"')) != expected:
            raise FilingRejected(
                _("1行目と様式が違います（%(count)s 項目の「%(code)s」の行だけにしてください）。")
                % {"count": layout.field_count, "code": code},
                row=row,
            )
        for field, column in numbers:
            if record.raw(field):  # an empty column needs no look
                _check_number_cell(layout, record, row, column)
    return FilingFile(layout=layout, encoding=encoding, bom=bom, records=records)


def _layout_of(code: str, field_count: int) -> Layout:
    layout = layout_for(code, field_count)
    if layout is not None:
        return layout
    counts = known_counts(code)
    if counts:
        raise FilingRejected(
            _(
                "「%(code)s」の項目数は %(counts)s のいずれかのはずですが、%(found)s 項目あります。"
                "様式の年分を確かめてください。"
            )
            % {"code": code, "counts": ", ".join(map(str, counts)), "found": field_count},
            row=1,
        )
    raise FilingRejected(
        _(
            "対応していない様式です（1項目目が 375・309・313・316・315 のいずれでもありません）。"
            "見出し行があれば削除してください。"
        ),
        row=1,
        field=1,
    )


def _check_number_cell(layout: Layout, record: Record, row: int, column: NumberColumn) -> None:
    value = record.raw(column.field)
    if value in (b"", EMPTY_LAST) and (value == b"" or _is_last(layout, column.field)):
        return
    lengths = (12, 13) if column.corporate_allowed else (12,)
    if not (value.isdigit() and len(value) in lengths):
        raise FilingRejected(
            _("番号欄に番号以外の値があります（半角数字12桁、または空欄にしてください）。"),
            row=row,
            field=column.field,
        )


def _is_last(layout: Layout, field: int) -> bool:
    return field == layout.field_count


def present(filing: FilingFile, row: int, field: int) -> bool:
    """Whether the number column already holds a number (never returned: only whether)."""
    value = filing.records[row - 1].raw(field)
    return value not in (b"", EMPTY_LAST)


def write_numbers(filing: FilingFile, values: Mapping[tuple[int, int], str]) -> bytes:
    """The file with these (row, field) number columns set: 12 (or 13) half-width digits, or
    "" to empty one (an emptied last field gets its space back). Only those bytes change."""
    allowed = filing.layout.number_fields
    by_row: dict[int, dict[int, bytes]] = {}
    for (row, field), value in values.items():
        if field not in allowed:
            raise ValueError(f"field {field} is not a number column of {filing.layout.code}")
        if value and not (value.isdigit() and len(value) in (12, 13)):
            raise ValueError("a number column takes 12 or 13 half-width digits")
        cell = value.encode("ascii")
        if (
            not cell
            and filing.layout.last_field_space_when_empty
            and _is_last(filing.layout, field)
        ):
            cell = EMPTY_LAST
        by_row.setdefault(row, {})[field] = cell
    out = [BOM] if filing.bom else []
    for row, record in enumerate(filing.records, start=1):
        changes = by_row.get(row)
        out.append(_rewrite(record, changes) if changes else record.line)
        out.append(record.ending)
    return b"".join(out)


def _rewrite(record: Record, changes: dict[int, bytes]) -> bytes:
    pieces, at = [], 0
    for field in sorted(changes):
        start, end, _quoted = record.span(field)
        pieces += [record.line[at:start], changes[field]]
        at = end
    pieces.append(record.line[at:])
    return b"".join(pieces)


def strip_numbers(filing: FilingFile, slots: Iterable[str] | None = None) -> bytes:
    """The file with every number column emptied (the person's copy, 本人交付用, carries no
    number [S8]); `slots` limits it to some kinds of column."""
    wanted = set(slots) if slots is not None else None
    values = {
        (row, column.field): ""
        for row in range(1, len(filing.records) + 1)
        for column in filing.layout.numbers
        if wanted is None or column.slot in wanted
    }
    return write_numbers(filing, values)


def holds_numbers(filing: FilingFile) -> list[tuple[int, int]]:
    """Where the file still holds a number: (row, field), for the warning before a file is
    handed to people."""
    return [
        (row, column.field)
        for row in range(1, len(filing.records) + 1)
        for column in filing.layout.numbers
        if present(filing, row, column.field)
    ]
