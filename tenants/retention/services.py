"""Deleting numbers when their retention period ends, and everything around it: the sweep,
proposals and their approval, legal holds, the firm's adjustments of the rules.

Every function runs in the firm's schema. A deletion, its DeletionRecord and its access log
entry commit together. The sweep locks the due rows it works on (FOR UPDATE SKIP LOCKED), a
batch at a time, and deletes only what still exists under the lock: killed at any point it
rolls back the batch in flight and a rerun finishes the work; two sweeps at once share the
rows between them and never delete (or record) the same number twice. See docs/retention.md.
"""

from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from firms.models import Firm
from tenants.auditlog.services import Actor, log_access, log_access_many
from tenants.collection.models import ABROAD_KINDS, CollectionRequest, Document, SubmittedNumber
from tenants.collection.services import purge_deleted_documents
from tenants.custody.errors import NotAllowed
from tenants.custody.models import MyNumberRecord, Person
from tenants.custody.services import require_allowed
from tenants.workspace.models import DeletionMode, FirmSettings

from . import dates, notices, policy, schedule
from .errors import OutsideTheLaw
from .models import (
    ABROAD_DOCUMENTS_RULE,
    Anchor,
    DeletionMethod,
    DeletionProposal,
    DeletionRecord,
    DeletionTrigger,
    LegalHold,
    PersonRetention,
    ProposalStatus,
    RetentionRule,
)

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "retention-sweep"
# Rows locked and deleted per transaction: small enough to keep locks and a killed batch
# short, large enough that the per-transaction costs (chain lock, commit) are shared.
BATCH_SIZE = 500


def sweep_clock() -> datetime:
    """The time the sweep acts at. Tests move it forward with RETENTION_NOW (test settings
    only), so a real worker process can be tested without waiting for years."""
    override = getattr(settings, "RETENTION_NOW", None)
    if override:
        moved = parse_datetime(override)
        if moved is None:
            raise ValueError("RETENTION_NOW is not an ISO datetime")
        return moved
    return timezone.now()


def today(at: datetime | None = None) -> date:
    """Due dates are calendar days in Japan."""
    return timezone.localdate(at or sweep_clock())


# --- the sweep ------------------------------------------------------------------------------


@dataclass
class SweepResult:
    deleted: int = 0
    proposed: int = 0
    held: int = 0
    firm_held: bool = False
    recomputed: int = 0
    records: list[int] = field(default_factory=list)
    abroad_documents: int = 0  # dependants-abroad documents past their own rule's date


def retention_sweep(firm: Firm, *, now: datetime | None = None) -> SweepResult:
    """Delete (or, in the firm's approval mode, propose) every number past its due date."""
    current = getattr(connection, "schema_name", None)
    if current != firm.schema_name:
        raise RuntimeError(f"retention sweep for {firm.schema_name!r} ran in schema {current!r}")
    at = now or sweep_clock()
    day = today(at)
    result = SweepResult(recomputed=len(schedule.recompute_people(schedule.stale_people())))
    state = _firm_state()
    if state.firm_held:
        result.firm_held = True
        return result
    if state.person_holds:
        result.held = _held_due_count(day)
    actor = Actor.system(SWEEP_ACTOR)
    # A dependant abroad's documents go by their tax year's own date, in either mode: no
    # number is in them, and approval mode is about numbers (docs/retention.md).
    abroad = _delete_abroad_documents(actor=actor, day=day, at=at)
    result.abroad_documents = sum(r.documents_deleted for r in abroad)
    result.records += [r.pk for r in abroad]
    if state.mode == DeletionMode.APPROVAL:
        result.proposed = _propose_due(day)
        notices.deletions_after_commit(firm, result.records, at)
        return result
    while True:
        taken, records = _delete_batch(
            actor=actor,
            day=day,
            at=at,
            trigger=DeletionTrigger.SCHEDULE,
            limit=BATCH_SIZE,
            proposals=state.pending_proposals,
        )
        result.deleted += len(records)
        result.records += [r.pk for r in records]
        if taken < BATCH_SIZE:
            break  # the last batch: what is left is held or locked by a concurrent sweep
    # One email to each owner for the whole run, only if something went.
    notices.deletions_after_commit(firm, result.records, at)
    return result


@dataclass(frozen=True)
class _FirmState:
    mode: str
    firm_held: bool
    person_holds: bool
    pending_proposals: bool


def _firm_state() -> _FirmState:
    """The sweep's questions about the firm in one round trip (a sweep of 1,000 firms pays
    every round trip 1,000 times)."""
    holds, proposals = LegalHold._meta.db_table, DeletionProposal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT deletion_mode, "  # noqa: S608
            f"EXISTS (SELECT 1 FROM {holds} WHERE lifted_at IS NULL AND person_id IS NULL), "
            f"EXISTS (SELECT 1 FROM {holds} WHERE lifted_at IS NULL AND person_id IS NOT NULL), "
            f"EXISTS (SELECT 1 FROM {proposals} WHERE status = %s) "
            f"FROM {FirmSettings._meta.db_table} WHERE singleton",
            [ProposalStatus.PENDING.value],
        )
        row = cursor.fetchone()
    if row is None:  # the settings row is made with the schema; be safe without it
        return _FirmState(FirmSettings.current().deletion_mode, firm_hold() is not None,
                          True, True)  # fmt: skip
    return _FirmState(*row)


def _has_data() -> Q:
    """Something of the person's number is still stored: the number, a submitted number
    awaiting verification, or a document file."""
    person = OuterRef("person_id")
    return Q(
        Exists(MyNumberRecord.objects.filter(person_id=person))
        | Exists(SubmittedNumber.objects.filter(person_id=person))
        | Exists(
            Document.objects.filter(request__person_id=person, deleted_at__isnull=True).exclude(
                kind__in=ABROAD_KINDS  # kept under their own rule (_delete_abroad_documents)
            )
        )
    )


def _person_held() -> Exists:
    return Exists(LegalHold.objects.filter(person_id=OuterRef("person_id"), lifted_at__isnull=True))


def due_queryset(day: date):
    """Schedules past their date whose data is still there (held ones included)."""
    return PersonRetention.objects.filter(_has_data(), due_on__lte=day)


def _held_due_count(day: date) -> int:
    return due_queryset(day).filter(_person_held()).count()


def _lock_firm_settings_shared() -> None:
    """Placing a firm-wide hold takes this row FOR UPDATE; deletions take it FOR SHARE, so
    they run alongside each other but never across the moment a hold is placed."""
    table = FirmSettings._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE singleton FOR SHARE")  # noqa: S608


@dataclass(frozen=True)
class _Locked:
    person_id: int
    ended_on: date | None
    due_on: date | None
    rule_code: str
    rule_name: str
    name: str
    kind: str


_LOCKED_FIELDS = (
    "person_id", "ended_on", "due_on", "rule__code", "rule__name_ja",
    "person__family_name", "person__given_name", "person__kind",
)  # fmt: skip


def _delete_batch(
    *,
    actor: Actor,
    day: date,
    at: datetime,
    trigger: str,
    limit: int,
    person_ids: Iterable[int] | None = None,
    proposals: bool = True,
) -> tuple[int, list[DeletionRecord]]:
    """One transaction: lock up to `limit` due, unheld schedules nobody else holds, delete
    what their people still have, record and log each. Returns how many rows were locked
    (0: nothing left that this run may take) and the records written."""
    with transaction.atomic():
        _lock_firm_settings_shared()
        if firm_hold() is not None:
            return 0, []
        due = due_queryset(day).exclude(_person_held())
        if person_ids is not None:
            due = due.filter(person_id__in=list(person_ids))
        rows = (
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("person_id")
            .values_list(*_LOCKED_FIELDS)[:limit]
        )
        locked = [
            _Locked(pid, ended, due_on, code or "", name or "", f"{family} {given}"[:210], kind)
            for pid, ended, due_on, code, name, family, given, kind in rows
        ]
        if not locked:
            return 0, []
        records = _erase(locked, actor=actor, at=at, trigger=trigger)
        if proposals:
            DeletionProposal.objects.filter(
                person_id__in=[row.person_id for row in locked], status=ProposalStatus.PENDING
            ).update(
                status=ProposalStatus.APPROVED
                if trigger == DeletionTrigger.APPROVAL
                else ProposalStatus.DELETED_BY_SWEEP,
                decided_at=at,
                decided_by_email=actor.email,
            )
        return len(locked), records


_NUMBERS = MyNumberRecord._meta.db_table
_NUMBER_PURPOSES = MyNumberRecord.purposes.through._meta.db_table
_SUBMITTED = SubmittedNumber._meta.db_table
_DOCUMENTS = Document._meta.db_table
_REQUESTS = CollectionRequest._meta.db_table
_RECORDS = DeletionRecord._meta.db_table
# Every table in one statement (data-modifying CTEs; the foreign keys are deferred to the
# commit): the number row with its ciphertext and blind index, its purpose links, submitted
# numbers awaiting a decision, and the person's documents, marked deleted. RETURNING says
# exactly what went, which is what gets recorded.
_ERASE = f"""
WITH links AS (DELETE FROM {_NUMBER_PURPOSES} WHERE mynumberrecord_id = ANY(%s)),
numbers AS (DELETE FROM {_NUMBERS} WHERE person_id = ANY(%s) RETURNING person_id),
submitted AS (DELETE FROM {_SUBMITTED} WHERE person_id = ANY(%s) RETURNING person_id),
documents AS (
    UPDATE {_DOCUMENTS} d SET deleted_at = %s FROM {_REQUESTS} r
    WHERE d.request_id = r.id AND r.person_id = ANY(%s) AND d.deleted_at IS NULL
      AND d.kind <> ALL(%s)
    RETURNING d.id, r.person_id
)
SELECT 'number', person_id, NULL::uuid FROM numbers
UNION ALL SELECT 'submitted', person_id, NULL::uuid FROM submitted
UNION ALL SELECT 'document', person_id, id FROM documents
"""  # noqa: S608
_RECORD_COLUMNS = (
    "id", "person_id", "person_name", "person_kind", "data_types", "documents_deleted",
    "deleted_at", "deleted_by", "trigger", "method", "rule_code", "rule_name", "ended_on",
    "due_on",
)  # fmt: skip


def _erase(
    locked: list[_Locked], *, actor: Actor, at: datetime, trigger: str
) -> list[DeletionRecord]:
    """Delete the locked people's numbers, submitted numbers and documents; one record and
    one log entry per person. In the caller's transaction."""
    ids = [row.person_id for row in locked]
    numbers: set[int] = set()
    submitted: set[int] = set()
    documents: dict[int, list[Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_ERASE, [ids, ids, ids, at, ids, list(ABROAD_KINDS)])
        for kind, person_id, document_id in cursor.fetchall():
            if kind == "number":
                numbers.add(person_id)
            elif kind == "submitted":
                submitted.add(person_id)
            else:
                documents.setdefault(person_id, []).append(document_id)
    records: list[DeletionRecord] = []
    for row in locked:
        kinds = [
            kind
            for kind, present in (
                ("my_number", row.person_id in numbers),
                ("submitted_number", row.person_id in submitted),
                ("documents", row.person_id in documents),
            )
            if present
        ]
        if not kinds:  # deleted meanwhile (by hand, or by a run that finished first)
            continue
        records.append(
            DeletionRecord(
                person_id=row.person_id,
                person_name=row.name,
                person_kind=row.kind,
                data_types=kinds,
                documents_deleted=len(documents.get(row.person_id, [])),
                deleted_at=at,
                deleted_by=actor.email,
                trigger=trigger,
                method=DeletionMethod.ERASE,
                rule_code=row.rule_code,
                rule_name=row.rule_name,
                ended_on=row.ended_on,
                due_on=row.due_on,
            )
        )
    _insert_records(records)
    log_access_many(
        actor=actor,
        action="delete",
        people=[
            (
                r.person_id,
                "",
                # No record id: identical details are cleaned once for the whole batch
                # (log_access_many), and person and time already join entry and record.
                {
                    "retention": True,
                    "data": r.data_types,
                    "documents": r.documents_deleted,
                    "rule": r.rule_code,
                    "trigger": r.trigger,
                },
            )
            for r in records
        ],
    )
    document_ids = [pk for pks in documents.values() for pk in pks]
    if document_ids:
        # The files go once the rows say they are deleted; a failed removal keeps its
        # storage_key and the collection sweep retries it.
        transaction.on_commit(lambda: purge_deleted_documents(document_ids))
    return records


# --- dependants abroad's documents ----------------------------------------------------------


def abroad_documents_due_on(rule: RetentionRule, tax_year: int) -> date:
    """The first day a dependant abroad's documents of `tax_year` may no longer be kept."""
    return dates.due_on(Anchor.JAN10_AFTER_TAX_YEAR, rule.months, date(tax_year, 12, 31))


def _last_due_year(rule: RetentionRule, day: date) -> int | None:
    """The latest tax year whose documents are due on `day` (the date grows with the year)."""
    due = [y for y in range(day.year - 30, day.year + 1) if abroad_documents_due_on(rule, y) <= day]
    return max(due) if due else None


def _delete_abroad_documents(*, actor: Actor, day: date, at: datetime) -> list[DeletionRecord]:
    """Mark deleted every dependant abroad's document past its tax year's date (under the
    firm's `abroad_dependant_documents` rule), one record and one log entry per dependant,
    in one transaction; the files go after the commit. Holds stop it: the firm's, the
    dependant's or their employee's. Rows a concurrent sweep holds are skipped."""
    rule = RetentionRule.objects.filter(code=ABROAD_DOCUMENTS_RULE).first()
    last_year = _last_due_year(rule, day) if rule is not None else None
    if rule is None or last_year is None:
        return []
    held = LegalHold.objects.filter(lifted_at__isnull=True)
    with transaction.atomic():
        _lock_firm_settings_shared()
        if firm_hold() is not None:
            return []
        rows = list(
            Document.objects.filter(
                kind__in=ABROAD_KINDS,
                deleted_at__isnull=True,
                person__isnull=False,
                tax_year__lte=last_year,
            )
            .exclude(Exists(held.filter(person_id=OuterRef("person_id"))))
            .exclude(Exists(held.filter(person_id=OuterRef("request__person_id"))))
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "person_id", "tax_year")
        )
        if not rows:
            return []
        Document.objects.filter(pk__in=[pk for pk, _pid, _year in rows]).update(deleted_at=at)
        by_person: dict[int, list[int]] = {}
        for _pk, person_id, year in rows:
            by_person.setdefault(person_id, []).append(year or 0)  # never null: filtered
        people = Person.objects.in_bulk(list(by_person))
        records = [
            DeletionRecord(
                person_id=person_id,
                person_name=f"{people[person_id].family_name} {people[person_id].given_name}"[:210],
                person_kind=people[person_id].kind,
                data_types=["abroad_documents"],
                documents_deleted=len(years),
                deleted_at=at,
                deleted_by=actor.email,
                trigger=DeletionTrigger.SCHEDULE,
                method=DeletionMethod.ERASE,
                rule_code=rule.code,
                rule_name=rule.name_ja,
                ended_on=None,
                due_on=abroad_documents_due_on(rule, max(years)),
            )
            for person_id, years in sorted(by_person.items())
        ]
        _insert_records(records)
        log_access_many(
            actor=actor,
            action="delete",
            people=[
                (r.person_id, "", {"retention": True, "data": r.data_types,
                                   "documents": r.documents_deleted, "rule": r.rule_code,
                                   "trigger": r.trigger,
                                   "tax_years": sorted(set(by_person[r.person_id]))})
                for r in records
            ],
        )  # fmt: skip
        ids = [pk for pk, _pid, _year in rows]
        transaction.on_commit(lambda: purge_deleted_documents(ids))
    return records


def _insert_records(records: list[DeletionRecord]) -> None:
    """COPY, with ids drawn from the table's sequence first (the log entries name them)."""
    if not records:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{_RECORDS}', 'id')) "  # noqa: S608
            "FROM generate_series(1, %s)",
            [len(records)],
        )
        for record, (pk,) in zip(records, cursor.fetchall(), strict=True):
            record.pk = pk
        statement = f"COPY {_RECORDS} ({', '.join(_RECORD_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for r in records:
                copy.write_row(
                    [
                        json.dumps(r.data_types) if column == "data_types" else getattr(r, column)
                        for column in _RECORD_COLUMNS
                    ]
                )
    for record in records:
        record._state.adding = False


# --- proposals ------------------------------------------------------------------------------


def _propose_due(day: date) -> int:
    """A pending proposal for every due, unheld person without one; withdraw pending
    proposals whose person is no longer due (e.g. the end date was moved)."""
    due = due_queryset(day).exclude(_person_held()).select_related("rule")
    pending = set(
        DeletionProposal.objects.filter(status=ProposalStatus.PENDING).values_list(
            "person_id", flat=True
        )
    )
    new = [
        DeletionProposal(person_id=row.person_id, due_on=row.due_on, rule=row.rule)
        for row in due
        if row.person_id not in pending
    ]
    # Two sweeps at once: the partial unique index keeps one pending proposal per person.
    DeletionProposal.objects.bulk_create(new, ignore_conflicts=True)
    still_due = due_queryset(day).values("person_id")
    DeletionProposal.objects.filter(status=ProposalStatus.PENDING).exclude(
        person_id__in=still_due
    ).update(status=ProposalStatus.WITHDRAWN, decided_at=timezone.now())
    return len(new)


def proposals_approve(*, actor: Actor, proposal_ids: Iterable[int]) -> list[DeletionRecord]:
    """An owner approves proposals: each one still due and not held is deleted now, recorded
    with the owner as the one who deleted it."""
    ids = list(proposal_ids)
    require_allowed(policy.can_approve(actor.role), actor=actor, action="delete")
    people = list(
        DeletionProposal.objects.filter(pk__in=ids, status=ProposalStatus.PENDING).values_list(
            "person_id", flat=True
        )
    )
    if not people:
        return []
    at = sweep_clock()
    _taken, records = _delete_batch(
        actor=actor,
        day=today(at),
        at=at,
        trigger=DeletionTrigger.APPROVAL,
        limit=len(people),
        person_ids=people,
    )
    return records


# --- holds ----------------------------------------------------------------------------------


def firm_hold() -> LegalHold | None:
    return LegalHold.objects.filter(person__isnull=True, lifted_at__isnull=True).first()


def person_hold(person: Person) -> LegalHold | None:
    return LegalHold.objects.filter(person=person, lifted_at__isnull=True).first()


def hold_place(*, actor: Actor, person: Person | None, reason: str) -> LegalHold:
    """Stop deletion of one person's number, or of the whole firm's (person None). Waits for
    a deletion of the same data in flight, so the hold is either in time or there is
    nothing left to hold."""
    require_allowed(policy.can_hold(actor.role), actor=actor, action="legal_hold",
                    person_id=person.pk if person else None)  # fmt: skip
    reason = reason.strip()[:500]
    with transaction.atomic():
        if person is None:
            FirmSettings.objects.select_for_update().filter(singleton=True).first()
        else:
            PersonRetention.objects.select_for_update().filter(person=person).first()
        existing = firm_hold() if person is None else person_hold(person)
        if existing is not None:
            return existing
        hold = LegalHold.objects.create(person=person, reason=reason, placed_by_email=actor.email)
        log_access(actor=actor, action="legal_hold", person_id=person.pk if person else None,
                   detail={"hold": hold.pk, "scope": "person" if person else "firm",
                           "event": "placed", "reason": reason})  # fmt: skip
    return hold


def hold_lift(*, actor: Actor, hold: LegalHold) -> LegalHold:
    require_allowed(policy.can_hold(actor.role), actor=actor, action="legal_hold",
                    person_id=hold.person_id)  # fmt: skip
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.lifted_at is not None:
            return locked
        locked.lifted_at = timezone.now()
        locked.lifted_by_email = actor.email
        locked.save(update_fields=["lifted_at", "lifted_by_email"])
        log_access(actor=actor, action="legal_hold", person_id=locked.person_id,
                   detail={"hold": locked.pk, "scope": "person" if locked.person_id else "firm",
                           "event": "lifted"})  # fmt: skip
    return locked


# --- rules ----------------------------------------------------------------------------------


def rule_update(
    *,
    actor: Actor,
    rule: RetentionRule,
    extra_months: int,
    purpose_ids: Iterable[int] | None = None,
) -> RetentionRule:
    """An owner lengthens (or shortens back) the firm's period within the law: never below
    the legal minimum, never beyond the ceiling the law allows. Every due date follows."""
    require_allowed(policy.can_manage_rules(actor.role), actor=actor, action="retention_rule")
    if not 0 <= extra_months <= rule.max_extra_months:
        raise OutsideTheLaw
    if rule.code == ABROAD_DOCUMENTS_RULE:
        purpose_ids = None  # documents by tax year: no purpose maps to it
    with transaction.atomic():
        before = {"extra_months": rule.extra_months,
                  "purposes": sorted(rule.purposes.values_list("code", flat=True))}  # fmt: skip
        rule.extra_months = extra_months
        rule.save(update_fields=["extra_months", "updated_at"])
        if purpose_ids is not None:
            rule.purposes.set(list(purpose_ids))
        after = {"extra_months": extra_months,
                 "purposes": sorted(rule.purposes.values_list("code", flat=True))}  # fmt: skip
        schedule.recompute_all()
        log_access(actor=actor, action="retention_rule",
                   detail={"rule": rule.code, "before": before, "after": after})  # fmt: skip
    return rule


# --- reads ----------------------------------------------------------------------------------


@dataclass
class Dashboard:
    overdue: list[PersonRetention]
    due_this_month: list[PersonRetention]
    upcoming: list[PersonRetention]
    proposals: list[DeletionProposal]
    holds: list[LegalHold]
    no_rule: list[Person]
    firm_hold: LegalHold | None
    mode: str


def dashboard(at: datetime | None = None) -> Dashboard:
    day = today(at)
    month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    pending = (
        due_queryset(month_end).select_related("person", "rule").order_by("due_on", "person_id")
    )
    rows = list(pending)
    future = (
        PersonRetention.objects.filter(_has_data(), due_on__gt=month_end)
        .select_related("person", "rule")
        .order_by("due_on", "person_id")[:20]
    )
    ended_without_rule = PersonRetention.objects.filter(
        _has_data(), ended_on__isnull=False, due_on__isnull=True
    ).values("person_id")
    return Dashboard(
        overdue=[r for r in rows if r.due_on and r.due_on < day],
        due_this_month=[r for r in rows if r.due_on and r.due_on >= day],
        upcoming=list(future),
        proposals=list(
            DeletionProposal.objects.filter(status=ProposalStatus.PENDING).select_related(
                "person", "rule"
            )
        ),
        holds=list(LegalHold.objects.filter(lifted_at__isnull=True).select_related("person")),
        no_rule=list(Person.objects.filter(pk__in=ended_without_rule)),
        firm_hold=firm_hold(),
        mode=FirmSettings.current().deletion_mode,
    )


def records_between(since: date | None, until: date | None):
    """Deletion records with deleted_at on or after `since` and before the day after
    `until` (JST days), oldest first."""
    records = DeletionRecord.objects.order_by("deleted_at", "id")
    if since is not None:
        records = records.filter(deleted_at__date__gte=since)
    if until is not None:
        records = records.filter(deleted_at__date__lte=until)
    return records


@dataclass
class PersonStatus:
    due: schedule.Due
    hold: LegalHold | None
    firm_hold: LegalHold | None
    overdue: bool


def person_status(person: Person) -> PersonStatus:
    """For the person page: the due date computed now (what the next sweep will use) and
    any hold that stops it."""
    due = schedule.due_for(person)
    return PersonStatus(
        due=due,
        hold=person_hold(person),
        firm_hold=firm_hold(),
        overdue=due.due_on is not None and due.due_on <= today(),
    )


def records_listed(*, actor: Actor, records: list[DeletionRecord]) -> list[DeletionRecord]:
    """Deletion records shown (names, no numbers); the listing is logged once."""
    require_allowed(policy.can_read(actor.role), actor=actor, action="list")
    with transaction.atomic():
        log_access(actor=actor, action="list", detail={"deletion_records": len(records)})
    return records


def certificate_records(
    *, actor: Actor, since: date | None, until: date | None, output: str
) -> list[DeletionRecord]:
    """The records a certificate lists; issuing one is the owner's, and is logged."""
    require_allowed(policy.can_download_certificate(actor.role), actor=actor, action="certificate")
    records = list(records_between(since, until))
    with transaction.atomic():
        log_access(actor=actor, action="certificate",
                   detail={"since": str(since or ""), "until": str(until or ""),
                           "format": output, "records": len(records)})  # fmt: skip
    return records


__all__ = [
    "BATCH_SIZE",
    "certificate_records",
    "person_status",
    "records_listed",
    "NotAllowed",
    "OutsideTheLaw",
    "SweepResult",
    "dashboard",
    "firm_hold",
    "hold_lift",
    "hold_place",
    "person_hold",
    "proposals_approve",
    "records_between",
    "retention_sweep",
    "rule_update",
]
