"""The year-end list of dependants abroad (国外居住親族) for handlers: for a tax year, each
dependant abroad, their employee, their age at December 31, what the rule requires
(tenants.collection.abroad) and which documents are received for that year, waiting for a
handler, only from another year, or missing. Names and statuses only: no number, no file.

Runs in the firm's schema. Reading the list (the page or its CSV) is logged once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tenants.auditlog.services import Actor, log_access
from tenants.custody import policy
from tenants.custody.models import Person
from tenants.custody.services import require_allowed

from . import abroad
from .models import ABROAD_KINDS, CollectionRequest, Document, DocumentKind, RequestStatus


class State(StrEnum):
    RECEIVED = "received"  # verified by a handler, for this tax year
    WAITING = "waiting"  # submitted for this tax year, waiting for the handler
    OTHER_YEAR = "other_year"  # only documents of another tax year are kept
    MISSING = "missing"


STATE_LABELS = {
    State.RECEIVED: _("受領済み"),
    State.WAITING: _("確認待ち"),
    State.OTHER_YEAR: _("別の年分のみ"),
    State.MISSING: _("未提出"),
}


@dataclass
class DocumentStatus:
    kind: str
    state: State
    other_years: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(DocumentKind(self.kind).label)

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])


@dataclass
class AbroadRow:
    person: Person
    needs: abroad.Requirement
    condition: str  # what the dependant said holds (30-69), "" if not said (yet)
    documents: list[DocumentStatus]

    @property
    def employee(self) -> Person | None:
        return self.person.employee

    @property
    def band_label(self) -> str:
        return str(abroad.BAND_LABELS[self.needs.band])

    @property
    def condition_label(self) -> str:
        if not self.needs.one_of:
            return ""
        label = (
            abroad.CONDITION_LABELS.get(abroad.Condition(self.condition))
            if self.condition
            else None
        )
        return str(label or _("未回答"))

    @property
    def complete(self) -> bool:
        if self.needs.ask_handler or (self.needs.one_of and not self.condition):
            return False
        return all(doc.state is State.RECEIVED for doc in self.documents)

    @property
    def missing(self) -> list[DocumentStatus]:
        return [doc for doc in self.documents if doc.state is not State.RECEIVED]


def _rows(year: int) -> list[AbroadRow]:
    people = list(
        Person.objects.filter(lives_abroad=True)
        .select_related("employee")
        .order_by("employee__family_name_kana", "employee_id", "family_name_kana", "id")
    )
    kept = Document.objects.filter(
        person__in=people, kind__in=ABROAD_KINDS, deleted_at__isnull=True
    ).values_list("person_id", "kind", "tax_year", "request__status")
    found: dict[int, list[tuple[str, int | None, str]]] = {}
    for person_id, kind, tax_year, status in kept:
        found.setdefault(person_id, []).append((kind, tax_year, status))
    conditions = _conditions(year, [person.pk for person in people])
    rows = []
    for person in people:
        needs = abroad.requirement(person.birth_date, year)
        condition = conditions.get(person.pk, "") if needs.one_of else ""
        documents = [
            _status(str(kind), year, found.get(person.pk, []))
            for kind in needs.documents(condition or None)
        ]
        rows.append(AbroadRow(person, needs, condition, documents))
    return rows


def _conditions(year: int, people: Iterable[int]) -> dict[int, str]:
    """Each dependant's exception as said on the latest verified (else submitted) request
    of that tax year."""
    wanted = {str(pk) for pk in people}
    out: dict[int, str] = {}
    requests = (
        CollectionRequest.objects.filter(
            tax_year=year, status__in=[RequestStatus.VERIFIED, RequestStatus.SUBMITTED]
        )
        .exclude(abroad_conditions={})
        .order_by("status", "submitted_at", "id")  # submitted first, verified override
    )
    for request in requests:
        for key, condition in request.abroad_conditions.items():
            if key in wanted:
                out[int(key)] = condition
    return out


def _status(kind: str, year: int, kept: list[tuple[str, int | None, str]]) -> DocumentStatus:
    same = [status for k, y, status in kept if k == kind and y == year]
    if RequestStatus.VERIFIED in same:
        return DocumentStatus(kind, State.RECEIVED)
    if RequestStatus.SUBMITTED in same:
        return DocumentStatus(kind, State.WAITING)
    others = sorted({y for k, y, status in kept if k == kind and y is not None and y != year
                     and status == RequestStatus.VERIFIED})  # fmt: skip
    return DocumentStatus(kind, State.OTHER_YEAR if others else State.MISSING, others)


def abroad_year_list(*, actor: Actor, year: int, output: str = "page") -> list[AbroadRow]:
    """The list for `year`, for anyone who may read people; logged once (`list` for the page,
    `abroad_list` for a download)."""
    action = "list" if output == "page" else "abroad_list"
    require_allowed(policy.can_read(actor.role), actor=actor, action=action)
    rows = _rows(year)
    with transaction.atomic():
        log_access(actor=actor, action=action,
                   detail={"abroad_year": year, "count": len(rows), "format": output})  # fmt: skip
    return rows


CSV_COLUMNS = (
    "tax_year", "person_id", "family_name", "given_name", "relationship", "country",
    "birth_date", "age_at_year_end", "age_band", "employee_id", "employee_name", "rule",
    "required", "one_of", "condition", "received", "waiting", "other_year_only", "missing",
    "complete", "ask_handler",
)  # fmt: skip


def csv_rows(rows: list[AbroadRow], year: int) -> Iterable[tuple]:
    def kinds(row: AbroadRow, state: State) -> str:
        return " ".join(doc.kind for doc in row.documents if doc.state is state)

    for row in rows:
        person, needs = row.person, row.needs
        yield (
            year, person.pk, person.family_name, person.given_name,
            person.relationship, person.country, person.birth_date or "",
            "" if needs.age is None else needs.age, needs.band.value, person.employee_id or "",
            str(row.employee or ""), needs.rule,
            " ".join(needs.required), " ".join(needs.one_of), row.condition,
            kinds(row, State.RECEIVED), kinds(row, State.WAITING), kinds(row, State.OTHER_YEAR),
            kinds(row, State.MISSING), "yes" if row.complete else "no",
            "yes" if needs.ask_handler else "no",
        )  # fmt: skip
