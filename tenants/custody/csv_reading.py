"""Reading an uploaded CSV laid out by one of our templates: the people import
(tenants.custody.csv_import) and an office's import of client firms
(practices.client_import). Each names its own columns and builds its own rows; this module
says, the same way for both, what is wrong with the file as a whole (CsvRejected: its
encoding, its columns, its length, its quoting) and which row has more cells than the header.

Headings are matched after NFKC (full-width letters and spaces, as Japanese spreadsheets
write them), without spaces or underscores, case-insensitively: "Family Name", "family_name"
and "ＦａｍｉｌｙＮａｍｅ" are one heading.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping

from django.utils.translation import gettext as _

from .errors import CsvRejected
from .importing import RowError

# C0 controls other than tab, line feed and carriage return: never in a CSV of text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def heading_key(text: str) -> str:
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", text)).lower()


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in (utf-8, utf-8-sig or cp932)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        # UTF-16 (Excel's "Unicode text") and binary files both carry NUL bytes.
        raise CsvRejected(
            _(
                "文字コードを判別できませんでした（UTF-16 またはCSVではないファイルのようです）。"
                "CSV（UTF-8）または CSV（Shift_JIS）で保存し直してください。"
            ),
            code="encoding",
        )
    # A BOM says UTF-8; without one, UTF-8 is tried first: Shift_JIS Japanese is almost never
    # valid UTF-8, while much UTF-8 would decode (wrongly) as cp932.
    candidates = ("utf-8-sig",) if data.startswith(codecs.BOM_UTF8) else ("utf-8", "cp932")
    text: str | None = None
    encoding = ""
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    if text is None or CONTROL.search(text):
        raise CsvRejected(
            _(
                "文字コードを判別できませんでした。UTF-8 または Shift_JIS のCSVファイルを"
                "アップロードしてください。"
            ),
            code="encoding",
        )
    return text, encoding


def read_rows(text: str, *, max_rows: int) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header, and each data row with its line number (blank rows skipped, as are the
    ",,,," rows spreadsheets leave at the end). CsvRejected for an empty file, more than
    `max_rows` data rows (counting stops at the first one over) or broken quoting (csv's own
    message can quote the line; ours names only where it stopped)."""
    reader = csv.reader(io.StringIO(text, newline=""))

    def malformed() -> CsvRejected:
        return CsvRejected(
            _(
                'CSVの形式が正しくありません（%(line)s行目付近）。引用符（"）の対応を確認してください。'
            )
            % {"line": reader.line_num},
            code="format",
        )

    try:
        header = next(reader, None)
    except csv.Error:
        raise malformed() from None
    if header is None:
        raise CsvRejected(_("ファイルが空です。"), code="empty")

    def rows() -> Iterator[tuple[int, list[str]]]:
        count = 0
        try:
            for line, record in enumerate(reader, start=2):
                if not any(value.strip() for value in record):
                    continue
                if count >= max_rows:
                    raise CsvRejected(
                        _(
                            "行数が上限の%(max)s行を超えています。%(max)s行以下のファイルに"
                            "分けてアップロードしてください。"
                        )
                        % {"max": f"{max_rows:,}"},
                        code="rows",
                    )
                count += 1
                yield line, record
        except csv.Error:
            raise malformed() from None

    return header, rows()


def column_positions(
    header: list[str],
    headings: Mapping[str, str],
    labels: Mapping[str, str],
    *,
    required: Iterable[str],
    refuse_unknown: bool,
) -> dict[str, int]:
    """Each known column's index in the header. CsvRejected when a column is repeated, a
    required one is missing, or (with `refuse_unknown`) a heading is not one of ours; without
    it, other columns (a payroll export's) are ignored. `headings` maps heading_key() of each
    accepted heading to the column's name; `labels` names the columns in messages."""
    positions: dict[str, int] = {}
    repeated: list[str] = []
    unknown: list[str] = []
    for index, heading in enumerate(header):
        name = headings.get(heading_key(heading))
        if name is None:
            if heading.strip():
                unknown.append(heading.strip()[:40])
            continue
        if name in positions:
            repeated.append(labels[name])
        positions[name] = index
    if unknown and refuse_unknown:
        raise CsvRejected(
            _("使えない列があります: %(columns)s。列名を確認してください（使える列: %(known)s）。")
            % {"columns": "、".join(unknown), "known": "、".join(labels.values())},
            code="columns",
        )
    if repeated:
        raise CsvRejected(
            _(
                "同じ項目の列が複数あります: %(columns)s。どちらか一方を消してから、もう一度アップロードしてください。"
            )
            % {"columns": "、".join(repeated)},
            code="columns",
        )
    missing = [labels[name] for name in required if name not in positions]
    if missing:
        raise CsvRejected(
            _(
                "必要な列がありません: %(columns)s。1行目を見出し行にして、ひな形の列名"
                "（または英語の列名）を使ってください。"
            )
            % {"columns": "、".join(missing)},
            code="columns",
        )
    return positions


def extra_cells(line: int, record: list[str], width: int) -> RowError | None:
    """A row with values beyond the header's columns (a comma inside an unquoted value)."""
    if len(record) > width and any(value.strip() for value in record[width:]):
        return RowError(
            line, "", _("列の数が見出し行より多くなっています。区切りのカンマを確認してください。")
        )
    return None


def cell(record: list[str], index: int) -> str:
    """A row's value in a column, "" where a short row stops before it."""
    return record[index] if index < len(record) else ""
