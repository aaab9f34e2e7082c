"""Importing many people with their numbers at once: everything is checked first, then every
row is written in one transaction, or none is.

The collection issue builds the CSV upload and its preview on this; the benchmark in
bench/import_people.py measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection, transaction

from firms.models import Firm
from keys.envelope import blind_index, blob_header, seal
from tenants.auditlog.services import Actor, log_access_many

from . import mynumber, policy
from .errors import CustodyError, NotAllowed
from .models import MyNumberRecord, Person, PersonKind, Purpose
from .services import NUMBER_FIELD, _record_ref


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


def people_import(*, actor: Actor, firm: Firm, rows: list[ImportRow]) -> int:
    """Create every row's person (and number, if given). Returns how many were created."""
    if not policy.can_write(actor.role):
        raise NotAllowed
    purposes = {p.code: p for p in Purpose.objects.filter(active=True)}
    numbers, errors = _check(rows, purposes)
    indexes = {i: blind_index(firm, number) for i, number in numbers.items()}
    taken = set(
        MyNumberRecord.objects.filter(blind_index__in=indexes.values()).values_list(
            "blind_index", flat=True
        )
    )
    errors += [
        RowError(i + 1, "my_number", "既に別の方に登録されています")
        for i, index in indexes.items()
        if index in taken
    ]
    if errors:
        raise ImportRejected(errors=sorted(errors, key=lambda e: (e.row, e.field)))
    with transaction.atomic():
        people = Person.objects.bulk_create([_person(row) for row in rows], batch_size=2000)
        records: list[MyNumberRecord] = []
        links: list[tuple[int, int]] = []
        entries: list[tuple[int, str, dict[str, Any] | None]] = []
        for i, person in enumerate(people):
            chosen = _purposes_for(rows[i], purposes)
            if i in numbers:
                ciphertext = seal(
                    firm, numbers[i].encode(), record=_record_ref(person), field=NUMBER_FIELD
                )
                scheme, version = blob_header(ciphertext)
                records.append(
                    MyNumberRecord(
                        person=person,
                        ciphertext=ciphertext,
                        scheme=scheme,
                        key_version=version,
                        blind_index=indexes[i],
                    )
                )
                links += [(person.pk, p.pk) for p in chosen]
            detail = {"import": True, "field": NUMBER_FIELD if i in numbers else None,
                      "purposes": sorted(p.code for p in chosen) if i in numbers else []}  # fmt: skip
            entries.append((person.pk, "", detail))
        MyNumberRecord.objects.bulk_create(records, batch_size=2000)
        _copy_links(links)
        log_access_many(actor=actor, action="create", people=entries)
    return len(people)


def _copy_links(links: list[tuple[int, int]]) -> None:
    """The notified purposes, several per person: COPY instead of one model object each."""
    through = MyNumberRecord.purposes.through._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {through} (mynumberrecord_id, purpose_id) FROM STDIN") as copy,
    ):
        for link in links:
            copy.write_row(link)


def _check(rows: list[ImportRow], purposes: dict) -> tuple[dict[int, str], list[RowError]]:
    numbers: dict[int, str] = {}
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.kind not in (PersonKind.EMPLOYEE, PersonKind.PAYEE):
            errors.append(RowError(i + 1, "kind", "employee または payee を指定してください"))
        errors += [
            RowError(i + 1, name, "必須項目です") for name in NAME_FIELDS if not getattr(row, name)
        ]
        unknown = sorted(set(row.purposes or []) - set(purposes))
        if unknown:
            errors.append(RowError(i + 1, "purposes", f"不明な利用目的: {', '.join(unknown)}"))
        if not row.my_number:
            continue
        try:
            number = mynumber.validate(row.my_number)
        except mynumber.InvalidMyNumber as error:
            errors.append(RowError(i + 1, "my_number", " ".join(error.messages)))
            continue
        if number in seen:
            errors.append(RowError(i + 1, "my_number", f"{seen[number]}行目と同じ番号です"))
            continue
        seen[number] = i + 1
        numbers[i] = number
    return numbers, errors


def _person(row: ImportRow) -> Person:
    return Person(
        kind=row.kind,
        family_name=row.family_name,
        given_name=row.given_name,
        family_name_kana=row.family_name_kana,
        given_name_kana=row.given_name_kana,
        birth_date=row.birth_date,
        relationship_start=row.relationship_start,
    )


def _purposes_for(row: ImportRow, purposes: dict) -> list[Purpose]:
    if row.purposes is not None:
        return [purposes[code] for code in row.purposes]
    return [p for p in purposes.values() if row.kind in p.default_for]
