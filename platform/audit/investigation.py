"""Leak investigation: whose records did one actor touch in a period, and how.

For an actor (a user's email, or an API token's id) and a period (JST days, inclusive), every
person whose record the actor touched in each firm searched: the actions with their counts,
the first and last time, the purposes named, refusals, and whether the number itself was
shown (an allowed reveal, export or verification). That answers the first questions of a
report to the Personal Information Protection Commission (個人情報保護委員会) and says whom to
notify (docs/investigation.md).

Built from the access log (never a number) and the firm's people and deletion records (for
names). `investigate` only reads, in the current firm's schema; `investigate_for` checks the
role and logs the investigation (action "investigation") in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from authz.actions import Action
from authz.decide import permits
from firms.models import Firm
from tenants.auditlog.models import AccessLogEntry, Result
from tenants.auditlog.services import Actor, log_access
from tenants.custody.models import Person
from tenants.custody.services import require_allowed
from tenants.retention.models import DeletionRecord

# Actions that show the number in clear: a reveal, an export, and a handler's verification
# of a submission (the number is shown beside its documents).
NUMBER_ACTIONS = frozenset({"reveal", "export", "verify"})
MAX_DAYS = 3660
_TOKEN = re.compile(r"(?:token:)?(\d{1,18})")
CSV_COLUMNS = (
    "firm", "person_id", "person_name", "person_kind", "record", "number_shown", "actions",
    "entries", "denied", "first_at_jst", "last_at_jst", "purposes",
)  # fmt: skip


class InvestigationInvalid(ValueError):
    """An actor or a period that cannot be searched; the message says why."""


@dataclass(frozen=True)
class Subject:
    """Whose actions are searched: a user by email, or an API token by id."""

    email: str = ""
    api_token_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> Subject:
        text = text.strip()
        token = _TOKEN.fullmatch(text)
        if token:
            return cls(api_token_id=int(token[1]))
        if "@" in text and len(text) <= 254 and not any(c.isspace() for c in text):
            return cls(email=text.lower())
        raise InvestigationInvalid("the actor is an email address or an API token id")

    @property
    def label(self) -> str:
        return self.email if self.api_token_id is None else f"token:{self.api_token_id}"

    def condition(self) -> Q:
        if self.api_token_id is not None:
            return Q(api_token_id=self.api_token_id)
        return Q(actor_email__iexact=self.email)


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    def __post_init__(self) -> None:
        if self.until < self.since or (self.until - self.since).days > MAX_DAYS:
            raise InvestigationInvalid("the period runs from since to until, at most 10 years")

    def bounds(self) -> tuple[datetime, datetime]:
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.since, time.min, tzinfo=zone),
            datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=zone),
        )


@dataclass(frozen=True)
class PersonTouch:
    firm: str
    person_id: int
    name: str
    kind: str
    record: str  # "held", "deleted" (a deletion record exists) or "unknown"
    actions: dict[str, int]  # allowed entries per action
    denied: dict[str, int]  # refused attempts per action
    first_at: datetime
    last_at: datetime
    purposes: list[str]

    @property
    def entries(self) -> int:
        return sum(self.actions.values()) + sum(self.denied.values())

    @property
    def number_shown(self) -> bool:
        return any(action in NUMBER_ACTIONS for action in self.actions)

    def actions_text(self) -> str:
        allowed = [f"{action}:{n}" for action, n in sorted(self.actions.items())]
        refused = [f"{action}(denied):{n}" for action, n in sorted(self.denied.items())]
        return " ".join(allowed + refused)


@dataclass(frozen=True)
class Investigation:
    subject: Subject
    period: Period
    firms: list[str]
    people: list[PersonTouch]
    entries: int  # every entry of the actor in the period, with or without a person
    without_person: dict[str, int]  # entries naming no person (lists, settings), per action

    @property
    def number_shown_count(self) -> int:
        return sum(1 for person in self.people if person.number_shown)


def investigate(*, firm: Firm, subject: Subject, period: Period) -> Investigation:
    """The actor's footprint in the current schema (the firm's), person by person."""
    since, until = period.bounds()
    entries = AccessLogEntry.objects.filter(subject.condition(), at__gte=since, at__lt=until)
    grouped = (
        entries.values("person_id", "action", "result")
        .annotate(
            n=Count("id"),
            first=Min("at"),
            last=Max("at"),
            purposes=ArrayAgg("purpose", distinct=True),
        )  # fmt: skip
        .order_by()
    )
    touches: dict[int, dict] = {}
    without: dict[str, int] = {}
    total = 0
    for row in grouped:
        total += row["n"]
        if row["person_id"] is None:
            without[row["action"]] = without.get(row["action"], 0) + row["n"]
            continue
        item = touches.setdefault(
            row["person_id"],
            {"actions": {}, "denied": {}, "first": row["first"], "last": row["last"],
             "purposes": set()},
        )  # fmt: skip
        bucket = item["actions"] if row["result"] == Result.ALLOWED else item["denied"]
        bucket[row["action"]] = bucket.get(row["action"], 0) + row["n"]
        item["first"] = min(item["first"], row["first"])
        item["last"] = max(item["last"], row["last"])
        item["purposes"].update(p for p in row["purposes"] if p)
    names = _names(list(touches))
    people = [
        PersonTouch(
            firm=firm.slug,
            person_id=pk,
            name=names.get(pk, ("", "", "unknown"))[0],
            kind=names.get(pk, ("", "", "unknown"))[1],
            record=names.get(pk, ("", "", "unknown"))[2],
            actions=item["actions"],
            denied=item["denied"],
            first_at=item["first"],
            last_at=item["last"],
            purposes=sorted(item["purposes"]),
        )  # fmt: skip
        for pk, item in sorted(touches.items())
    ]
    return Investigation(subject, period, [firm.slug], people, total, without)


def _names(ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """(name, kind, record state) per person id: from the people still held, else from their
    deletion record."""
    found: dict[int, tuple[str, str, str]] = {}
    for pk, family, given, kind in Person.objects.filter(pk__in=ids).values_list(
        "pk", "family_name", "given_name", "kind"
    ):
        found[pk] = (f"{family} {given}".strip(), kind, "held")
    missing = [pk for pk in ids if pk not in found]
    for pk, name, kind in DeletionRecord.objects.filter(person_id__in=missing).values_list(
        "person_id", "person_name", "person_kind"
    ):
        found.setdefault(pk, (name, kind, "deleted"))
    return found


def merge(results: Iterable[Investigation]) -> Investigation:
    """Several firms' investigations of one actor and period as one."""
    results = list(results)
    if not results:
        raise InvestigationInvalid("no firm to search")
    without: dict[str, int] = {}
    for result in results:
        for action, n in result.without_person.items():
            without[action] = without.get(action, 0) + n
    return Investigation(
        subject=results[0].subject,
        period=results[0].period,
        firms=[slug for result in results for slug in result.firms],
        people=[person for result in results for person in result.people],
        entries=sum(result.entries for result in results),
        without_person=without,
    )


def can_investigate(role: str) -> bool:
    return permits(role, Action.LEAK_INVESTIGATION)


def investigate_for(
    *, actor: Actor, firm: Firm, subject: Subject, period: Period, output: str
) -> Investigation:
    """For the firm's owners (others refused, and the refusal logged). The investigation is
    itself logged, in the same transaction that reads it."""
    require_allowed(can_investigate(actor.role), actor=actor, action="investigation")
    with transaction.atomic():
        result = investigate(firm=firm, subject=subject, period=period)
        log_access(actor=actor, action="investigation", detail=log_detail(result, output))
    return result


def log_detail(result: Investigation, output: str) -> dict[str, object]:
    return {
        "actor": result.subject.label,
        "since": result.period.since.isoformat(),
        "until": result.period.until.isoformat(),
        "format": output,
        "people": len(result.people),
    }


def _jst(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def csv_rows(result: Investigation) -> Iterator[tuple[object, ...]]:
    for p in result.people:
        yield (
            p.firm, p.person_id, p.name, p.kind, p.record, "yes" if p.number_shown else "no",
            p.actions_text(), p.entries, sum(p.denied.values()), _jst(p.first_at),
            _jst(p.last_at), " ".join(p.purposes),
        )  # fmt: skip
