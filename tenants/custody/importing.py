"""Importing many people with their numbers at once: everything is checked first, then every
row is written in one transaction, or none is.

`people_import_check` runs the whole check (including duplicates against the firm's numbers
and within the rows) without writing; the CSV upload and its preview
(tenants.custody.csv_import) use it. The benchmarks in bench/import_people.py and
bench/import_csv.py measure it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from authz.actions import Action
from billing.services import headcount_changed, require_can_add_data
from firms.models import Firm
from keys.envelope import blind_index, blob_header, seal
from tenants.auditlog.privacy import looks_like_my_number
from tenants.auditlog.services import Actor, log_access, log_access_many

from . import mynumber, person_address, person_code, person_language
from .errors import CustodyError
from .models import MyNumberRecord, Person, PersonKind, Purpose
from .services import NUMBER_FIELD, default_purposes, require_action


@dataclass
class ImportRow:
    kind: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date | None = None
    relationship_start: date | None = None
    my_number: str = ""
    purposes: list[str] | None = None
    # The firm's code for the person (person_code); the import check normalises it in place.
    code: str = ""
    # The language the person reads (person_language: a code, its own name, "zh-CN"...);
    # the import check turns it into the code in place. Blank: not picked.
    language: str = ""
    # Where the person lives (person_address); the import check normalises them in place.
    postal_code: str = ""
    address: str = ""


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based, as people count rows
    field: str
    reason: str  # never contains the number


@dataclass
class ImportRejected(CustodyError):
    errors: list[RowError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{len(self.errors)} row(s) rejected")


NAME_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana")


def people_import_check(
    *, actor: Actor, firm: Firm, rows: list[ImportRow], row_numbers: list[int] | None = None
) -> list[RowError]:
    """Every error people_import would reject these rows for, sorted by row; writes nothing.
    `row_numbers` labels the rows in the errors (e.g. their row in a CSV file); by default
    row i is i + 1."""
    purposes = {p.code: p for p in Purpose.objects.filter(active=True)}
    _numbers, _indexes, errors = _check_all(actor, firm, rows, purposes, row_numbers)
    return errors


def people_import(
    *,
    actor: Actor,
    firm: Firm,
    rows: list[ImportRow],
    row_numbers: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create every row's person (and number, if given). Returns how many were created.

    The rows are written CHUNK at a time, all in one transaction; `progress(rows written)`
    is called after each chunk (the background import reports it, config.progress)."""
    require_action(actor, Action.PEOPLE_WRITE, log_action="import", detail={"rows": len(rows)})
    require_can_add_data(firm, adding_people=len(rows))
    purposes = {p.code: p for p in Purpose.objects.filter(active=True)}
    numbers, indexes, errors = _check_all(actor, firm, rows, purposes, row_numbers)
    if errors:
        raise ImportRejected(errors=errors)
    now = timezone.now()
    with transaction.atomic():
        ids = _new_person_ids(len(rows))
        for start in range(0, len(rows), CHUNK):
            _write_chunk(firm, actor, ids, rows, start, numbers, indexes, purposes, now)
            if progress is not None:
                progress(min(start + CHUNK, len(rows)))
    headcount_changed(firm)
    return len(ids)


# Rows per COPY round (and per progress report): big enough that the rounds cost nothing
# next to PostgreSQL's own work, small enough to report progress every second or so.
CHUNK = 1_000


def _write_chunk(firm: Firm, actor: Actor, ids: list[int], rows: list[ImportRow], start: int,
                 numbers: dict[int, str], indexes: dict[int, str], purposes: dict,
                 now) -> None:  # fmt: skip
    records: list[tuple] = []
    links: list[tuple[int, int]] = []
    entries: list[tuple[int, str, dict[str, Any] | None]] = []
    # One detail object per set of purposes: log_access_many renders each object once.
    details: dict[tuple[str, ...], dict[str, Any]] = {}
    chunk = range(start, min(start + CHUNK, len(rows)))
    for i in chunk:
        person_id, row = ids[i], rows[i]
        chosen = _purposes_for(row, purposes)
        codes = sorted(p.code for p in chosen) if i in numbers else []
        if i in numbers:
            ciphertext = seal(
                firm, numbers[i].encode(), record=f"person:{person_id}", field=NUMBER_FIELD
            )
            scheme, version = blob_header(ciphertext)
            records.append((person_id, ciphertext, scheme, version, indexes[i], now, now))
            links += [(person_id, p.pk) for p in chosen]
        detail = details.setdefault(tuple(codes), {"import": True, "purposes": codes})
        entries.append((person_id, "", detail))
    # COPY, table by table: thousands of rows in one stream each instead of a model object
    # and an INSERT parameter list per row (docs/benchmarks.md).
    _copy(Person, PERSON_COLUMNS, (_person_values(ids[i], rows[i], now) for i in chunk))
    _copy(MyNumberRecord, RECORD_COLUMNS, records)
    _copy(MyNumberRecord.purposes.through, ("mynumberrecord_id", "purpose_id"), links)
    log_access_many(actor=actor, action="create", people=entries)


PERSON_COLUMNS = (
    "id", "kind", "code", "language", "employee_id", "relationship", "family_name", "given_name",
    "family_name_kana", "given_name_kana", "birth_date", "relationship_start",
    "relationship_end", "status", "postal_code", "address", "created_at", "updated_at",
)  # fmt: skip
RECORD_COLUMNS = (
    "person_id", "ciphertext", "scheme", "key_version", "blind_index", "created_at", "updated_at",
)  # fmt: skip


def _person_values(person_id: int, row: ImportRow, now) -> tuple:
    return (
        person_id, row.kind, row.code, row.language, None, "", row.family_name, row.given_name,
        row.family_name_kana, row.given_name_kana, row.birth_date, row.relationship_start, None,
        Person.Status.ACTIVE.value, row.postal_code, row.address, now, now,
    )  # fmt: skip


def _taken(indexes: list[str]) -> set[str]:
    """Which of these blind indexes another person already holds (one query)."""
    table = MyNumberRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT blind_index FROM {table} WHERE blind_index = ANY(%s)", [indexes])  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def _new_person_ids(count: int) -> list[int]:
    """Ids from the table's own sequence, so the rows can be written with COPY."""
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",  # noqa: S608
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(model, columns: tuple[str, ...], rows) -> None:
    statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _check_all(
    actor: Actor,
    firm: Firm,
    rows: list[ImportRow],
    purposes: dict,
    row_numbers: list[int] | None,
) -> tuple[dict[int, str], dict[int, str], list[RowError]]:
    """(numbers by row index, their blind indexes, every error sorted by row and field).

    Checking the file's numbers against the firm's tells whether the firm holds each of them:
    only roles that may reveal may ask (authz NUMBER_MATCH), and every check is on record
    with how many numbers it compared and found (finding 13 of issue 16)."""
    label: Sequence[int] = row_numbers if row_numbers is not None else range(1, len(rows) + 1)
    numbers, codes, errors = _check(rows, purposes, label)
    errors += _codes_taken(rows, label, codes)
    if not numbers:
        return numbers, {}, sorted(errors, key=lambda e: (e.row, e.field))
    require_action(
        actor, Action.NUMBER_MATCH, log_action="number_match", detail={"rows": len(numbers)}
    )
    indexes = {i: blind_index(firm, number) for i, number in numbers.items()}
    taken = _taken(list(indexes.values()))
    with transaction.atomic():
        log_access(actor=actor, action="number_match",
                   detail={"checked": len(indexes), "found": len(taken)})  # fmt: skip
    errors += [
        RowError(label[i], "my_number", "既に別の方に登録されています")
        for i, index in indexes.items()
        if index in taken
    ]
    return numbers, indexes, sorted(errors, key=lambda e: (e.row, e.field))


def _check(
    rows: list[ImportRow], purposes: dict, label: Sequence[int]
) -> tuple[dict[int, str], dict[tuple[str, str], int], list[RowError]]:
    """(numbers by row index, the valid codes by (kind, code) with the first row having each,
    the errors found in the rows themselves)."""
    numbers: dict[int, str] = {}
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    seen_codes: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        n = label[i]
        if row.kind not in (PersonKind.EMPLOYEE, PersonKind.PAYEE):
            errors.append(RowError(n, "kind", "employee または payee を指定してください"))
        code_error = _check_code(row, n, seen_codes)
        if code_error is not None:
            errors.append(code_error)
        try:
            row.language = person_language.clean(row.language)
        except ValidationError as error:
            errors.append(RowError(n, "language", " ".join(error.messages)))
        errors += _check_address(row, n)
        errors += [
            RowError(n, name, "必須項目です") for name in NAME_FIELDS if not getattr(row, name)
        ]
        unknown = sorted(set(row.purposes or []) - set(purposes))
        if unknown:
            # The codes came from the file: never echo one shaped like a number.
            shown = ", ".join("?" if looks_like_my_number(code) else code for code in unknown)
            errors.append(RowError(n, "purposes", f"不明な利用目的: {shown}"))
        if not row.my_number:
            continue
        try:
            number = mynumber.validate(row.my_number)
        except mynumber.InvalidMyNumber as error:
            errors.append(RowError(n, "my_number", " ".join(error.messages)))
            continue
        if number in seen:
            errors.append(RowError(n, "my_number", f"{seen[number]}行目と同じ番号です"))
            continue
        seen[number] = n
        numbers[i] = number
    return numbers, seen_codes, errors


def _check_code(row: ImportRow, n: int, seen: dict[tuple[str, str], int]) -> RowError | None:
    """The row's code checked as every door checks it (person_code.clean) and normalised in
    place; a second row with the same kind and code is an error naming the first."""
    try:
        row.code = person_code.clean(row.code, kind=row.kind)
    except ValidationError as error:
        return RowError(n, "code", " ".join(error.messages))
    if not row.code:
        return None
    first = seen.setdefault((row.kind, row.code), n)
    if first != n:
        return RowError(n, "code", _("%(row)s行目と同じコードです") % {"row": first})
    return None


def _check_address(row: ImportRow, n: int) -> list[RowError]:
    """The row's postal code and address read as every door reads them (person_address),
    normalised in place; an error per field (never repeating the value)."""
    errors = []
    for name, clean in (("postal_code", person_address.clean_postal_code),
                        ("address", person_address.clean_address)):  # fmt: skip
        try:
            setattr(row, name, clean(getattr(row, name)))
        except ValidationError as error:
            errors.append(RowError(n, name, " ".join(error.messages)))
    return errors


def _codes_taken(
    rows: list[ImportRow], label: Sequence[int], codes: dict[tuple[str, str], int]
) -> list[RowError]:
    """Rows whose code another person of their kind already has, among the rows' valid
    codes (one query; a code refused by the row check is never looked up)."""
    taken = person_code.taken(codes)
    return [
        RowError(label[i], "code", " ".join(person_code.duplicate(row.kind, row.code).messages))
        for i, row in enumerate(rows)
        if (row.kind, row.code) in taken
    ]


def _purposes_for(row: ImportRow, purposes: dict) -> list[Purpose]:
    if row.purposes is not None:
        return [purposes[code] for code in row.purposes]
    return default_purposes(row.kind, purposes.values())
