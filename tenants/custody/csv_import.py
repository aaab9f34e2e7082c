"""Bulk import of people from a CSV file: parse, preview, stage (sealed), confirm.

- `parse_csv(data)` decodes (UTF-8 with or without BOM, or Shift_JIS read as cp932), maps the
  header row (English codes or the Japanese headings payroll software writes) and turns every
  row into an `ImportRow`, collecting per-row errors; a problem with the file as a whole
  raises `CsvRejected`. It touches no database.
- `check_csv(firm=..., parsed=...)` adds the full import check (people_import_check: check
  digits, duplicates within the file and against the firm's numbers) without writing.
- `upload_csv` stages an uploaded file for its preview: the file holds plaintext numbers, so
  only its envelope ciphertext is stored (`ImportUpload`), for an hour.
- `preview_upload` and `confirm_upload` open it again; a confirmation consumes it under a row
  lock, so a double submit imports once.

No error, log entry or exception message ever contains a number: reasons name the row and
the column, never the value (docs/custody.md).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from firms.models import Firm
from keys.envelope import seal, unseal
from tenants.auditlog.services import Actor, log_access, log_access_denied

from . import policy
from .errors import AlreadyImported, CsvRejected, NotAllowed, UploadExpired
from .importing import ImportRejected, ImportRow, RowError, people_import, people_import_check
from .models import ImportUpload, PersonKind

UPLOAD_TTL = timedelta(hours=1)
UPLOAD_FIELD = "csv"
NAME_MAX = 100  # Person's name columns
SAMPLE_ROWS = 5

# The columns, in the order of the template file: (field, Japanese heading, required).
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("kind", "区分", True),
    ("family_name", "姓", True),
    ("given_name", "名", True),
    ("family_name_kana", "姓（カナ）", True),
    ("given_name_kana", "名（カナ）", True),
    ("birth_date", "生年月日", False),
    ("relationship_start", "関係の開始日", False),
    ("my_number", "個人番号", True),
    ("purposes", "利用目的", False),
)
LABELS = {name: heading for name, heading, _required in COLUMNS}
REQUIRED = tuple(name for name, _heading, required in COLUMNS if required)
# Headings accepted for each column, as `_heading_key` normalises them (NFKC: full-width
# brackets become ASCII ones, half-width kana full-width; no spaces; lower case).
ALIASES: dict[str, tuple[str, ...]] = {
    "kind": ("区分", "種別"),
    "family_name": ("姓", "氏"),
    "given_name": ("名",),
    "family_name_kana": ("姓(カナ)", "セイ", "姓カナ", "姓(フリガナ)", "フリガナ(姓)"),
    "given_name_kana": ("名(カナ)", "メイ", "名カナ", "名(フリガナ)", "フリガナ(名)"),
    "birth_date": ("生年月日",),
    "relationship_start": ("関係の開始日", "入社日", "開始日", "契約開始日"),
    "my_number": ("個人番号", "マイナンバー"),
    "purposes": ("利用目的",),
}
KINDS = {
    "employee": PersonKind.EMPLOYEE.value,
    "従業員": PersonKind.EMPLOYEE.value,
    "payee": PersonKind.PAYEE.value,
    "支払先": PersonKind.PAYEE.value,
    "支払先(個人)": PersonKind.PAYEE.value,
    # Refused by the import check (a dependent needs its employee): named, so the reason is.
    "dependent": PersonKind.DEPENDENT.value,
    "扶養親族": PersonKind.DEPENDENT.value,
}
DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
PURPOSE_SEPARATORS = re.compile(r"[;|]")
# Excel's way of keeping leading zeros: ="012345678901".
EXCEL_TEXT = re.compile(r'="(.*)"', re.DOTALL)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _heading_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


HEADINGS: dict[str, str] = {
    _heading_key(alias): name
    for name, aliases in ALIASES.items()
    for alias in (name, *aliases)  # the English code itself too
}


@dataclass
class ParsedCsv:
    rows: list[ImportRow]
    errors: list[RowError]
    # Each row's row in the file as a spreadsheet numbers it (the header is row 1).
    row_numbers: list[int] = field(default_factory=list)
    encoding: str = ""


# --- parsing (no database) ------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name): UTF-8 (BOM or not), else Shift_JIS as cp932; else CsvRejected."""
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


def parse_csv(data: bytes, *, max_rows: int | None = None) -> ParsedCsv:
    """Every row of the file as an ImportRow, with the errors found in the file itself.
    Raises CsvRejected for the file as a whole: empty, undecodable, columns missing or
    repeated, more data rows than IMPORT_MAX_ROWS (counting stops at the first one over)."""
    if max_rows is None:
        max_rows = settings.IMPORT_MAX_ROWS
    if not data.strip():
        raise CsvRejected(_("ファイルが空です。"), code="empty")
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise CsvRejected(_("ファイルが空です。"), code="empty")
        positions = _positions(header)
        parsed = ParsedCsv(rows=[], errors=[], encoding=encoding)
        for line, record in enumerate(reader, start=2):
            if not any(value.strip() for value in record):
                continue  # blank lines, and the ",,,," rows spreadsheets leave at the end
            if len(parsed.rows) >= max_rows:
                raise CsvRejected(
                    _(
                        "行数が上限の%(max)s行を超えています。%(max)s行以下のファイルに"
                        "分けてアップロードしてください。"
                    )
                    % {"max": f"{max_rows:,}"},
                    code="rows",
                )
            parsed.rows.append(_row(line, record, positions, len(header), parsed.errors))
            parsed.row_numbers.append(line)
    except csv.Error:
        # csv's message can quote the line; ours names only where it stopped.
        raise CsvRejected(
            _(
                'CSVの形式が正しくありません（%(line)s行目付近）。引用符（"）の対応を確認してください。'
            )
            % {"line": reader.line_num},
            code="format",
        ) from None
    if not parsed.rows:
        raise CsvRejected(_("見出し行の下に登録する行がありません。"), code="empty")
    return parsed


def _positions(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    repeated: list[str] = []
    for index, heading in enumerate(header):
        name = HEADINGS.get(_heading_key(heading))
        if name is None:
            continue  # other columns of a payroll export are ignored
        if name in positions:
            repeated.append(LABELS[name])
        positions[name] = index
    if repeated:
        raise CsvRejected(
            _("同じ項目の列が複数あります: %(columns)s") % {"columns": "、".join(repeated)},
            code="columns",
        )
    missing = [LABELS[name] for name in REQUIRED if name not in positions]
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


def _row(
    line: int, record: list[str], positions: dict[str, int], width: int, errors: list[RowError]
) -> ImportRow:
    if len(record) > width and any(value.strip() for value in record[width:]):
        errors.append(
            RowError(
                line,
                "",
                _("列の数が見出し行より多くなっています。区切りのカンマを確認してください。"),
            )
        )
    values: dict[str, str] = {}
    for name, index in positions.items():
        value = record[index] if index < len(record) else ""
        excel = EXCEL_TEXT.fullmatch(value.strip())
        values[name] = (excel.group(1) if excel else value).strip()
    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
        if name in ("family_name_kana", "given_name_kana"):
            # Payroll software often writes half-width kana: store them full-width.
            values[name] = unicodedata.normalize("NFKC", values[name])
        if len(values[name]) > NAME_MAX:
            errors.append(
                RowError(line, name, _("%(max)d文字以内にしてください。") % {"max": NAME_MAX})
            )
            values[name] = values[name][:NAME_MAX]
    kind = unicodedata.normalize("NFKC", values["kind"]).replace(" ", "").lower()
    purposes = values.get("purposes", "")
    return ImportRow(
        kind=KINDS.get(kind, kind or ""),
        family_name=values["family_name"],
        given_name=values["given_name"],
        family_name_kana=values["family_name_kana"],
        given_name_kana=values["given_name_kana"],
        birth_date=_date(line, "birth_date", values.get("birth_date", ""), errors),
        relationship_start=_date(
            line, "relationship_start", values.get("relationship_start", ""), errors
        ),
        my_number=values["my_number"],
        purposes=[code for p in PURPOSE_SEPARATORS.split(purposes) if (code := p.strip())]
        if purposes
        else None,
    )


def _date(line: int, name: str, value: str, errors: list[RowError]) -> date | None:
    if not value:
        return None
    match = DATE.fullmatch(unicodedata.normalize("NFKC", value))
    if match is None:
        errors.append(
            RowError(line, name, _("日付は YYYY-MM-DD または YYYY/MM/DD の形で入力してください。"))
        )
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        errors.append(RowError(line, name, _("存在しない日付です。")))
        return None


# --- checking (reads the firm's numbers, writes nothing) -----------------------------------


def check_csv(*, firm: Firm, parsed: ParsedCsv) -> list[RowError]:
    """The file's own errors and the import check's, sorted by row and column order."""
    order = {name: i for i, (name, _heading, _required) in enumerate(COLUMNS)}
    errors = parsed.errors + people_import_check(
        firm=firm, rows=parsed.rows, row_numbers=parsed.row_numbers
    )
    return sorted(set(errors), key=lambda e: (e.row, order.get(e.field, -1), e.reason))


def masked_sample(parsed: ParsedCsv, count: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first rows for the preview: names and dates; of the number, only whether there
    is one (the page shows the mask). The number itself is not copied."""
    kinds = dict(PersonKind.choices)
    return [
        {
            "line": line,
            "kind": kinds.get(row.kind, row.kind),
            "name": f"{row.family_name} {row.given_name}",
            "kana": f"{row.family_name_kana} {row.given_name_kana}",
            "birth_date": row.birth_date,
            "relationship_start": row.relationship_start,
            "has_number": bool(row.my_number),
            "purposes": row.purposes,
        }
        for line, row in zip(parsed.row_numbers[:count], parsed.rows[:count], strict=True)
    ]


# --- staging, preview, confirmation ---------------------------------------------------------


@dataclass
class Preview:
    upload: ImportUpload
    parsed: ParsedCsv
    errors: list[RowError]

    @property
    def rows_with_errors(self) -> int:
        return len({error.row for error in self.errors})

    @property
    def with_number(self) -> int:
        return sum(1 for row in self.parsed.rows if row.my_number)


def _record(upload: ImportUpload) -> str:
    return f"import:{upload.pk}"


def _require_import(actor: Actor, detail: dict[str, Any] | None = None) -> None:
    if not policy.can_write(actor.role):
        log_access_denied(actor=actor, action="import", detail=detail)
        raise NotAllowed


def _require_own(actor: Actor, upload: ImportUpload) -> None:
    """Only the uploader, or an owner of the firm, may see or confirm an upload."""
    _require_import(actor, {"upload": str(upload.pk)})
    if upload.created_by_id != actor.user_id and actor.role != Role.OWNER:
        log_access_denied(actor=actor, action="import", detail={"upload": str(upload.pk)})
        raise NotAllowed


def upload_csv(*, actor: Actor, firm: Firm, data: bytes) -> Preview:
    """Parse and check an uploaded file, and stage it sealed for its preview. Expired uploads
    are deleted first. A file refused as a whole raises CsvRejected (and is logged)."""
    _require_import(actor)
    ImportUpload.objects.filter(expires_at__lte=timezone.now()).delete()
    try:
        if len(data) > settings.IMPORT_MAX_BYTES:
            raise too_large()
        parsed = parse_csv(data)
    except CsvRejected as rejected:
        log_rejected(actor=actor, rejected=rejected, byte_count=len(data))
        raise
    errors = check_csv(firm=firm, parsed=parsed)
    return Preview(
        upload=stage_upload(actor=actor, firm=firm, data=data, parsed=parsed, errors=errors),
        parsed=parsed,
        errors=errors,
    )


def stage_upload(
    *, actor: Actor, firm: Firm, data: bytes, parsed: ParsedCsv, errors: list[RowError]
) -> ImportUpload:
    """Store the checked file sealed, for an hour, logged as `import_upload` with the counts."""
    upload = ImportUpload(
        created_by_id=actor.user_id,
        byte_count=len(data),
        row_count=len(parsed.rows),
        error_count=len(errors),
        expires_at=timezone.now() + UPLOAD_TTL,
    )
    upload.ciphertext = seal(firm, data, record=_record(upload), field=UPLOAD_FIELD)
    with transaction.atomic():
        upload.save(force_insert=True)
        log_access(actor=actor, action="import_upload", detail=_counts(upload, errors))
    return upload


def log_rejected(*, actor: Actor, rejected: CsvRejected, byte_count: int) -> None:
    """A file refused as a whole: logged as `import_upload` with the reason's code."""
    with transaction.atomic():
        log_access(
            actor=actor,
            action="import_upload",
            detail={"rejected": rejected.code, "bytes": byte_count},
        )


def too_large() -> CsvRejected:
    return CsvRejected(
        _("ファイルが大きすぎます（上限 %(mib)s MB）。ファイルを分けてアップロードしてください。")
        % {"mib": f"{settings.IMPORT_MAX_BYTES / 1024 / 1024:g}"},
        code="bytes",
    )


def _counts(upload: ImportUpload, errors: list[RowError]) -> dict[str, Any]:
    return {
        "upload": str(upload.pk),
        "rows": upload.row_count,
        "errors": len(errors),
        "error_rows": len({e.row for e in errors}),
    }


def _usable(upload: ImportUpload) -> None:
    if upload.imported_at is not None:
        raise AlreadyImported
    if upload.expires_at <= timezone.now():
        # Nothing to keep it for: the ciphertext goes now, the row with the next upload.
        ImportUpload.objects.filter(pk=upload.pk).update(ciphertext=b"")
        raise UploadExpired


def _open(firm: Firm, upload: ImportUpload) -> ParsedCsv:
    data = unseal(firm, bytes(upload.ciphertext), record=_record(upload), field=UPLOAD_FIELD)
    return parse_csv(data)


def preview_upload(*, actor: Actor, firm: Firm, upload: ImportUpload) -> Preview:
    """The staged file, checked again now (a number may have been registered meanwhile);
    logged as `import_check` with the counts."""
    _require_own(actor, upload)
    _usable(upload)
    parsed = _open(firm, upload)
    errors = check_csv(firm=firm, parsed=parsed)
    with transaction.atomic():
        log_access(actor=actor, action="import_check", detail=_counts(upload, errors))
    return Preview(upload=upload, parsed=parsed, errors=errors)


def confirm_upload(*, actor: Actor, firm: Firm, upload: ImportUpload) -> int:
    """Import every row of the staged file (people_import: one transaction, one log entry per
    person) and consume the upload in that same transaction. The row lock makes a second
    submit wait, then find it consumed (AlreadyImported). Rejected rows raise ImportRejected
    and nothing is written."""
    _require_own(actor, upload)
    _usable(upload)
    try:
        with transaction.atomic():
            locked = ImportUpload.objects.select_for_update().get(pk=upload.pk)
            _usable(locked)
            parsed = _open(firm, locked)
            if parsed.errors:
                raise ImportRejected(errors=parsed.errors)
            count = people_import(
                actor=actor, firm=firm, rows=parsed.rows, row_numbers=parsed.row_numbers
            )
            locked.imported_at = timezone.now()
            locked.imported_count = count
            locked.ciphertext = b""
            locked.save(update_fields=["imported_at", "imported_count", "ciphertext"])
    except IntegrityError:
        # A number registered between the check and the write (the unique blind index
        # caught it): nothing was written; say which rows.
        errors = check_csv(firm=firm, parsed=_open(firm, upload))
        if errors:
            raise ImportRejected(errors=errors) from None
        raise
    return count


def cancel_upload(*, actor: Actor, upload: ImportUpload) -> None:
    """Throw a staged file away (logged as `import_cancel`)."""
    _require_own(actor, upload)
    with transaction.atomic():
        ImportUpload.objects.filter(pk=upload.pk).delete()
        log_access(actor=actor, action="import_cancel", detail={"upload": str(upload.pk)})
