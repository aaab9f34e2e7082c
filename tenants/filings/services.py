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
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import connection, transaction

from authz.actions import Action
from firms.models import Firm
from keys.envelope import blind_index, unseal_many
from keys.errors import CiphertextInvalid
from tenants.auditlog.services import Actor, log_access_many
from tenants.custody import person_code
from tenants.custody.errors import UnknownPurpose
from tenants.custody.models import MyNumberRecord, Person, PersonKind, Purpose
from tenants.custody.services import NUMBER_FIELD, integrity_denied, require_action
from tenants.workspace.models import FirmSettings

from .errors import ChoiceRefused
from .layouts import Layout, NumberColumn, Slot
from .matching import Candidate, Match, Outcome, Roster, birth_date
from .records import FilingFile, Record, present, write_numbers

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
    ABROAD = "abroad"  # a dependant abroad without a number: left blank, nothing to answer


# Recorded as the reason a column is left blank without a question (Plan.left).
ABROAD_BLANK = "国外居住親族（番号なし）"


# What the handler must answer before the file can be filled (a present number that matches
# the vault is only reported). Nobody or several: pick the person, or leave it blank; the
# others can only be left blank, with a reason.
NEEDS_CHOICE = frozenset(Reason) - {Reason.PRESENT_MATCHES, Reason.ABROAD}
PICKABLE = frozenset({Reason.NOBODY, Reason.AMBIGUOUS})


@dataclass(frozen=True)
class Choice:
    """The handler's answer for one number column: this person, or blank on purpose."""

    person_id: int | None = None
    reason: str = ""  # why it is left blank (kept like a refusal to provide)


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

    @property
    def cell(self) -> tuple[int, int]:
        return (self.row, self.field)


@dataclass
class Plan:
    filing: FilingFile
    digest: str  # sha256 of the uploaded bytes, for the log entries
    fill: dict[tuple[int, int], int] = field(default_factory=dict)  # (row, field) → person
    review: list[ReviewItem] = field(default_factory=list)
    left: dict[tuple[int, int], str] = field(default_factory=dict)  # blank on purpose: why
    # The row's own person where found (row → person), for the review page and for
    # remembering a handler's pick as that person's code.
    row_people: dict[int, int] = field(default_factory=dict)

    @property
    def people(self) -> set[int]:
        return set(self.fill.values())

    @property
    def pending(self) -> list[ReviewItem]:
        """Items still waiting for the handler: the file cannot be filled until none is."""
        return [item for item in self.review if item.reason in NEEDS_CHOICE]


def _name_fields(layout: Layout, column: NumberColumn) -> tuple[int, int | None]:
    """(name field, kana field) of the person a number column is about: the row's person
    for theirs, else the フリガナ, 氏名, 区分, 個人番号 group the column ends."""
    if column.slot is Slot.PERSON:
        return layout.name_field, layout.kana_field
    return column.field - 2, column.field - 3


def _kinds(layout: Layout) -> tuple[str, ...]:
    return (PersonKind.PAYEE,) if layout.code in PAYEE_LAYOUTS else (PersonKind.EMPLOYEE,)


def row_code(filing: FilingFile, row: int) -> str:
    """The row's employee/payee code (受給者番号) where the layout has one, else ""."""
    code_field = filing.layout.employee_code_field
    if code_field is None:
        return ""
    return person_code.normalize(filing.records[row - 1].text(code_field, filing.encoding))


def _row_person(layout: Layout, filing: FilingFile, row: int, record: Record,
                roster: Roster, kinds: tuple[str, ...]) -> Match:  # fmt: skip
    encoding = filing.encoding
    birth = (
        birth_date(*(record.text(f, encoding) for f in layout.birth_fields))
        if layout.birth_fields
        else None
    )
    kana = record.text(layout.kana_field, encoding) if layout.kana_field else None
    return roster.person(kinds=kinds, name=record.text(layout.name_field, encoding), kana=kana,
                         birth=birth, code=row_code(filing, row))  # fmt: skip


def roster() -> Roster:
    # Rows, not model instances, and through an iterator (a queryset's own cache would hold
    # every row until the end): a firm of 10,000 employees with their families is 30,000+
    # people, read for every plan (docs/benchmarks.md, "Filings").
    # Read with the driver's cursor: the ORM's per-row conversion was half the roster's time.
    table = connection.ops.quote_name(Person._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in Candidate.FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 (our own names)
        return Roster(Candidate.of_fields(*fields) for fields in cursor.fetchall())


class _Vault:
    """What a plan needs to know of the vault, as ids: who has a number, and who is notified
    of the layout's purpose (two queries, no model instance per record or purpose link). The
    blind indexes are read only if the file already holds a number somewhere."""

    def __init__(self, purpose: str) -> None:
        records = MyNumberRecord.objects.values_list("person_id", flat=True)
        self.numbered = set(records.iterator(chunk_size=5000))
        links = MyNumberRecord.purposes.through.objects.filter(purpose__code=purpose)
        self.notified = set(
            links.values_list("mynumberrecord_id", flat=True).iterator(chunk_size=5000)
        )
        self._indexes: dict[int, str] | None = None
        # Dependants who live abroad (国外居住親族): no number is expected of them.
        self.abroad = set(
            Person.objects.filter(lives_abroad=True).values_list("pk", flat=True).iterator()
        )

    def blind_index(self, person_id: int) -> str | None:
        if self._indexes is None:
            indexes = MyNumberRecord.objects.values_list("person_id", "blind_index")
            self._indexes = dict(indexes.iterator(chunk_size=5000))
        return self._indexes.get(person_id)


def plan_fill(*, firm: Firm, filing: FilingFile, data: bytes,
              choices: Mapping[tuple[int, int], Choice] | None = None,
              people: Roster | None = None) -> Plan:  # fmt: skip
    """Who each number column is about and whether it can be filled; reads no number. The
    handler's `choices` (by (row, field)) pick a person or leave a column blank; a pick that
    is not a possible person for that column raises ChoiceRefused."""
    layout = filing.layout
    choices = choices or {}
    people = people or roster()
    vault = _Vault(layout.purpose)
    plan = Plan(filing=filing, digest=hashlib.sha256(data).hexdigest())
    encoding, kinds = filing.encoding, _kinds(layout)
    columns = [(column, *_name_fields(layout, column)) for column in layout.numbers
               if column.slot in FILLED_SLOTS]  # fmt: skip
    for row, record in enumerate(filing.records, start=1):
        own = _row_person(layout, filing, row, record, people, kinds)
        for column, name_field, kana_field in columns:
            if not record.raw(name_field):
                continue  # no spouse or dependant in this place
            name = record.text(name_field, encoding)
            if not name.strip():
                continue
            choice = choices.get((row, column.field)) if choices else None
            picked = choice.person_id if choice else None
            if column.slot is Slot.PERSON:
                if picked is not None:
                    own = Match(Outcome.MATCHED, _pick_person(people, layout, picked))
                found = own
                if own.person_id is not None:
                    plan.row_people[row] = own.person_id
            else:
                kana = record.text(kana_field, encoding) if kana_field else None
                found = _dependant(people, own, picked, name, kana)
            if choice and picked is None and choice.reason:
                plan.left[(row, column.field)] = choice.reason
                continue
            _plan_column(plan, firm, row, column, name, found, vault)
    return plan


def _dependant(people: Roster, own: Match, picked: int | None, name: str,
               kana: str | None) -> Match:  # fmt: skip
    """A spouse or dependant: only among the row's own employee's dependants."""
    if own.person_id is None:
        return Match(Outcome.NOBODY)
    if picked is not None:
        return Match(Outcome.MATCHED, _pick_dependant(people, own.person_id, picked))
    return people.dependant(employee_id=own.person_id, name=name, kana=kana)


def _pick_person(people: Roster, layout: Layout, person_id: int) -> int:
    picked = people.by_id.get(person_id)
    if picked is None or picked.employee_id is not None or picked.kind not in _kinds(layout):
        raise ChoiceRefused
    return person_id


def _pick_dependant(people: Roster, employee_id: int, person_id: int) -> int:
    if person_id not in {c.person_id for c in people.dependants_of(employee_id)}:
        raise ChoiceRefused
    return person_id


def _plan_column(plan: Plan, firm: Firm, row: int, column: NumberColumn, name: str,
                 found: Match, vault: _Vault) -> None:  # fmt: skip
    def review(reason: Reason, person_id: int | None = None) -> None:
        plan.review.append(ReviewItem(row, column.field, column.slot, reason, name,
                                      found.candidates, person_id))  # fmt: skip

    if found.outcome is not Outcome.MATCHED or found.person_id is None:
        review(Reason.AMBIGUOUS if found.outcome is Outcome.AMBIGUOUS else Reason.NOBODY)
        return
    person_id = found.person_id
    if present(plan.filing, row, column.field):
        cell = plan.filing.records[row - 1].raw(column.field).decode("ascii")
        index = vault.blind_index(person_id)
        same = index is not None and blind_index(firm, cell) == index
        review(Reason.PRESENT_MATCHES if same else Reason.PRESENT_DIFFERS, person_id)
        return
    if person_id not in vault.numbered and person_id in vault.abroad:
        # Blank on purpose, the reason recorded for them: only reported, never asked.
        plan.left[(row, column.field)] = ABROAD_BLANK
        review(Reason.ABROAD, person_id)
    elif person_id not in vault.numbered:
        review(Reason.NO_NUMBER, person_id)
    elif person_id not in vault.notified:
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
    people = sorted(plan.people)
    ciphertexts = _ciphertexts(people)
    try:
        opened = unseal_many(firm, {pid: (ciphertexts[pid], f"person:{pid}") for pid in people},
                             field=NUMBER_FIELD)  # fmt: skip
    except CiphertextInvalid as failed:
        raise integrity_denied(actor=actor, action="export", person_id=failed.failed,  # type: ignore[attr-defined]
                               purpose=layout.purpose) from None  # fmt: skip
    numbers = {person_id: number.decode() for person_id, number in opened.items()}
    detail = {"format": layout.code, "edition": layout.edition, "digest": plan.digest}
    with transaction.atomic():
        log_access_many(actor=actor, action="export",
                        people=[(pid, layout.purpose, detail) for pid in people])  # fmt: skip
    values = {cell: numbers[person_id] for cell, person_id in plan.fill.items()}
    values.update(_filer_cells(plan.filing))
    return write_numbers(plan.filing, values)


def _ciphertexts(people: list[int]) -> dict[int, bytes]:
    """These people's sealed numbers, in one statement with one array parameter (an ORM
    `__in` of 30,000 ids is 30,000 parameters to build and send)."""
    table = connection.ops.quote_name(MyNumberRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id, ciphertext FROM {table} WHERE person_id = ANY(%s)",  # noqa: S608 (our own table name)
                       [people])  # fmt: skip
        return {person_id: bytes(ciphertext) for person_id, ciphertext in cursor.fetchall()}


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
