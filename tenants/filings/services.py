"""Filling a filing file from the vault: plan (who is in it, what can be filled, what the
handler must review) without reading a number, then fill (one log entry per person whose
number leaves the vault, committed before the file is returned).

Runs in the firm's schema. Each layout maps to one purpose (layouts.Layout.purpose); a number
is filled only for a person notified of it. A number already in the upload is checked against
the vault by blind index and reported as matching or not, never shown and never overwritten.
The filer's column (提出義務者の個人番号又は法人番号) gets the firm's 法人番号 from its settings
when blank; a sole proprietor's own number is not filled there. 313's あっせんをした者 is a
third party, not a person of the firm, and is left as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction

from authz.actions import Action
from firms.models import Firm
from keys.envelope import blind_index, unseal
from keys.errors import CiphertextInvalid
from tenants.auditlog.services import Actor, log_access_many
from tenants.custody.errors import UnknownPurpose
from tenants.custody.models import MyNumberRecord, Person, PersonKind, Purpose
from tenants.custody.services import NUMBER_FIELD, integrity_denied, require_action
from tenants.workspace.models import FirmSettings

from .layouts import Layout, NumberColumn, Slot
from .matching import Candidate, Match, Outcome, birth_date, match_dependant, match_person
from .records import FilingFile, present, write_numbers

# The slots filled from the vault, and the kinds of person each row's own slot is looked for.
FILLED_SLOTS = frozenset({Slot.PERSON, Slot.SPOUSE, Slot.DEPENDANT, Slot.UNDER16})
PAYEE_LAYOUTS = frozenset({"309", "313"})


class Reason(StrEnum):
    NOBODY = "nobody"  # no person of the firm has this name (and birth date)
    AMBIGUOUS = "ambiguous"  # several could be meant
    NO_NUMBER = "no_number"  # the person has no number in the vault
    NOT_NOTIFIED = "not_notified"  # not notified of the layout's purpose
    PRESENT_MATCHES = "present_matches"  # the upload already holds this person's number
    PRESENT_DIFFERS = "present_differs"  # the upload holds a number that is not theirs


@dataclass(frozen=True)
class ReviewItem:
    """A column the handler must look at. Names only, never a number."""

    row: int
    field: int
    slot: Slot
    reason: Reason
    name: str
    candidates: tuple[int, ...] = ()
    person_id: int | None = None


@dataclass
class Plan:
    filing: FilingFile
    digest: str  # sha256 of the uploaded bytes, for the log entries
    fill: dict[tuple[int, int], int] = field(default_factory=dict)  # (row, field) → person
    review: list[ReviewItem] = field(default_factory=list)

    @property
    def people(self) -> set[int]:
        return set(self.fill.values())


def _name_fields(layout: Layout, column: NumberColumn) -> tuple[int, int | None]:
    """(name field, kana field) of the person a number column is about: the row's person
    for theirs, else the フリガナ, 氏名, 区分, 個人番号 group the column ends."""
    if column.slot is Slot.PERSON:
        return layout.name_field, layout.kana_field
    return column.field - 2, column.field - 3


def _row_person(layout: Layout, filing: FilingFile, row: int, people: list[Candidate]) -> Match:
    record = filing.records[row - 1]

    def text(number: int) -> str:
        return record.text(number, filing.encoding)

    birth = birth_date(*(text(f) for f in layout.birth_fields)) if layout.birth_fields else None
    kinds = (PersonKind.PAYEE,) if layout.code in PAYEE_LAYOUTS else (PersonKind.EMPLOYEE,)
    kana = text(layout.kana_field) if layout.kana_field else None
    return match_person(people, kinds=kinds, name=text(layout.name_field), kana=kana,
                        birth=birth)  # fmt: skip


def plan_fill(*, firm: Firm, filing: FilingFile, data: bytes) -> Plan:
    """Who each number column is about and whether it can be filled; reads no number."""
    layout = filing.layout
    people = [Candidate.of(person) for person in Person.objects.all()]
    records = {
        record.person_id: record for record in MyNumberRecord.objects.prefetch_related("purposes")
    }
    plan = Plan(filing=filing, digest=hashlib.sha256(data).hexdigest())
    for row in range(1, len(filing.records) + 1):
        own = _row_person(layout, filing, row, people)
        for column in layout.numbers:
            if column.slot not in FILLED_SLOTS:
                continue
            name_field, kana_field = _name_fields(layout, column)
            record = filing.records[row - 1]
            name = record.text(name_field, filing.encoding)
            if not name.strip():
                continue  # no spouse or dependant in this place
            if column.slot is Slot.PERSON:
                found = own
            elif own.outcome is Outcome.MATCHED and own.person_id is not None:
                kana = record.text(kana_field, filing.encoding) if kana_field else None
                found = match_dependant(people, employee_id=own.person_id, name=name, kana=kana)
            else:
                found = Match(Outcome.NOBODY)
            _plan_column(plan, firm, row, column, name, found, records, layout.purpose)
    return plan


def _plan_column(plan: Plan, firm: Firm, row: int, column: NumberColumn, name: str,
                 found: Match, records: dict, purpose: str) -> None:  # fmt: skip
    def review(reason: Reason, person_id: int | None = None) -> None:
        plan.review.append(ReviewItem(row, column.field, column.slot, reason, name,
                                      found.candidates, person_id))  # fmt: skip

    if found.outcome is not Outcome.MATCHED or found.person_id is None:
        review(Reason.AMBIGUOUS if found.outcome is Outcome.AMBIGUOUS else Reason.NOBODY)
        return
    person_id = found.person_id
    record = records.get(person_id)
    if present(plan.filing, row, column.field):
        cell = plan.filing.records[row - 1].raw(column.field).decode("ascii")
        same = record is not None and blind_index(firm, cell) == record.blind_index
        review(Reason.PRESENT_MATCHES if same else Reason.PRESENT_DIFFERS, person_id)
        return
    if record is None:
        review(Reason.NO_NUMBER, person_id)
    elif purpose not in {p.code for p in record.purposes.all()}:
        review(Reason.NOT_NOTIFIED, person_id)
    else:
        plan.fill[(row, column.field)] = person_id


def fill(*, actor: Actor, firm: Firm, plan: Plan) -> bytes:
    """The filled file. Every person whose number it carries gets one entry (export, the
    layout's purpose, the upload's digest and format), committed before this returns."""
    layout = plan.filing.layout
    require_action(actor, Action.NUMBER_EXPORT, log_action="export",
                   detail={"format": layout.code})  # fmt: skip
    if not Purpose.objects.filter(code=layout.purpose, active=True).exists():
        raise UnknownPurpose
    ciphertexts = dict(
        MyNumberRecord.objects.filter(person_id__in=plan.people).values_list(
            "person_id", "ciphertext"
        )
    )
    numbers: dict[int, str] = {}
    for person_id in sorted(plan.people):
        try:
            numbers[person_id] = unseal(firm, bytes(ciphertexts[person_id]),
                                        record=f"person:{person_id}",
                                        field=NUMBER_FIELD).decode()  # fmt: skip
        except CiphertextInvalid:
            raise integrity_denied(actor=actor, action="export", person_id=person_id,
                                   purpose=layout.purpose) from None  # fmt: skip
    detail = {"format": layout.code, "edition": layout.edition, "digest": plan.digest}
    with transaction.atomic():
        log_access_many(actor=actor, action="export",
                        people=[(pid, layout.purpose, detail) for pid in sorted(plan.people)])  # fmt: skip
    values = {cell: numbers[person_id] for cell, person_id in plan.fill.items()}
    values.update(_filer_cells(plan.filing))
    return write_numbers(plan.filing, values)


def _filer_cells(filing: FilingFile) -> dict[tuple[int, int], str]:
    """The firm's 法人番号 (public) in every blank filer column."""
    corporate = FirmSettings.current().corporate_number
    if not corporate:
        return {}
    return {
        (row, column.field): corporate
        for row in range(1, len(filing.records) + 1)
        for column in filing.layout.numbers
        if column.slot is Slot.FILER and not present(filing, row, column.field)
    }
