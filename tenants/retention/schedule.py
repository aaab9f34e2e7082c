"""Each person's deletion due date, from the rules that apply to the purposes their number
is used for and the day the relationship ended.

Kept small and free of other services, so tenants.custody.services.person_update can call
`recompute_people` without an import cycle. Runs in the firm's schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import F, Q
from django.utils import timezone

from tenants.custody.models import MyNumberRecord, Person, PersonKind, Purpose

from . import dates
from .models import ABROAD_DOCUMENTS_RULE, PersonRetention, RetentionRule


@dataclass(frozen=True)
class Due:
    ended_on: date | None
    due_on: date | None
    rule: RetentionRule | None  # the rule that keeps the number longest
    rule_codes: tuple[str, ...]  # every rule that applies


def ended_on(person: Person) -> date | None:
    """When the relationship ended. A dependent's ends with its own removal or with its
    employee's departure, whichever comes first."""
    ends = [person.relationship_end]
    if person.kind == PersonKind.DEPENDENT and person.employee_id is not None:
        ends.append(person.employee.relationship_end)  # type: ignore[union-attr]
    known = [end for end in ends if end is not None]
    return min(known) if known else None


class RuleBook:
    """The firm's rules by purpose, read once for a batch of people."""

    def __init__(self) -> None:
        self.by_purpose: dict[int, list[RetentionRule]] = {}
        rules = RetentionRule.objects.exclude(code=ABROAD_DOCUMENTS_RULE)  # documents only
        for rule in rules.prefetch_related("purposes"):
            for purpose in rule.purposes.all():
                self.by_purpose.setdefault(purpose.pk, []).append(rule)
        self.defaults = {
            kind: [p.pk for p in Purpose.objects.filter(active=True) if kind in p.default_for]
            for kind in PersonKind.values
        }

    def rules_for(self, person: Person, purpose_ids: Iterable[int] | None) -> list[RetentionRule]:
        """The rules of the purposes the person's number was notified for; a person without
        a number (documents only) falls back on the defaults for their kind."""
        ids = list(purpose_ids) if purpose_ids is not None else self.defaults[person.kind]
        found = {rule.pk: rule for pid in ids for rule in self.by_purpose.get(pid, [])}
        return sorted(found.values(), key=lambda rule: rule.code)

    def due(self, person: Person, purpose_ids: Iterable[int] | None) -> Due:
        end = ended_on(person)
        rules = self.rules_for(person, purpose_ids)
        codes = tuple(rule.code for rule in rules)
        if end is None or not rules:
            return Due(end, None, None, codes)
        dated = [(dates.due_on(rule.anchor, rule.months, end), rule) for rule in rules]
        latest, rule = max(dated, key=lambda pair: (pair[0], pair[1].code))
        return Due(end, latest, rule, codes)


def _purpose_ids(person_ids: list[int]) -> dict[int, list[int]]:
    through = MyNumberRecord.purposes.through
    found: dict[int, list[int]] = {}
    for record_id, purpose_id in through.objects.filter(
        mynumberrecord_id__in=person_ids
    ).values_list("mynumberrecord_id", "purpose_id"):
        found.setdefault(record_id, []).append(purpose_id)
    return found


def due_for(person: Person, book: RuleBook | None = None) -> Due:
    """Computed now, without writing (the person page shows this)."""
    book = book or RuleBook()
    has_number = MyNumberRecord.objects.filter(person_id=person.pk).exists()
    purpose_ids = _purpose_ids([person.pk]).get(person.pk, []) if has_number else None
    return book.due(person, purpose_ids)


def recompute_people(person_ids: Iterable[int]) -> dict[int, PersonRetention]:
    """Store the due dates of these people (and of the dependents of any employee among
    them, whose dates follow the employee's end)."""
    ids = set(person_ids)
    if not ids:
        return {}
    people = list(
        Person.objects.filter(Q(pk__in=ids) | Q(employee_id__in=ids)).select_related("employee")
    )
    book = RuleBook()
    ids = {p.pk for p in people}
    with_number = set(
        MyNumberRecord.objects.filter(person_id__in=ids).values_list("person_id", flat=True)
    )
    purposes = _purpose_ids(list(with_number))
    now = timezone.now()
    stored: dict[int, PersonRetention] = {}
    for person in people:
        due = book.due(person, purposes.get(person.pk, []) if person.pk in with_number else None)
        row, _created = PersonRetention.objects.update_or_create(
            person_id=person.pk,
            defaults={
                "ended_on": due.ended_on,
                "due_on": due.due_on,
                "rule": due.rule,
                "rule_codes": list(due.rule_codes),
                "computed_at": now,
            },
        )
        stored[person.pk] = row
    return stored


def stale_people() -> list[int]:
    """People whose stored date may be out of date: their relationship (or their employee's)
    has ended and the date was never computed, or the person, the employee or the number
    changed since (a number's purposes are set with the record, which bumps updated_at)."""
    ended = (
        Q(relationship_end__isnull=False)
        | Q(employee__relationship_end__isnull=False)
        | Q(retention__isnull=False)
    )
    stale = (
        Q(retention__isnull=True)
        | Q(retention__computed_at__lt=F("updated_at"))
        | Q(retention__computed_at__lt=F("my_number__updated_at"))
        | Q(retention__computed_at__lt=F("employee__updated_at"))
    )
    return list(Person.objects.filter(ended).filter(stale).values_list("pk", flat=True))


def recompute_all() -> int:
    """After a rule changed: every person with an end date or a stored date."""
    ids = Person.objects.filter(
        Q(relationship_end__isnull=False)
        | Q(employee__relationship_end__isnull=False)
        | Q(retention__isnull=False)
    ).values_list("pk", flat=True)
    return len(recompute_people(list(ids)))
