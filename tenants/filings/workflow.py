"""A filing from upload to download, for the pages, the API and the portfolio: receive (seal
and plan), answer the review, download filled, delete; and strip, for the person's copy.

Every function asks the authorization layer for its action first (authz.actions): preparing a
filing is FILING_PREPARE, its download NUMBER_EXPORT, stripping FILING_STRIP. The upload is
sealed with the firm's keys before it is stored (models.Filing); the filled file exists only
in memory while it is handed to the caller, after one `export` entry per person is committed
(services.fill). Runs in the firm's schema.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from authz.actions import Action
from config.scrub import NUMBER_SHAPED
from firms.models import Firm
from keys.envelope import seal, unseal
from tenants.auditlog.services import Actor, log_access
from tenants.custody import person_code
from tenants.custody.models import Person
from tenants.custody.services import require_action

from .errors import (
    ChoiceRefused,
    FilingError,
    FilingGone,
    FilingNeedsReview,
    FilingTooLarge,
    ReasonRefused,
)
from .models import Filing
from .records import FilingFile, holds_numbers, parse, strip_numbers
from .services import PICKABLE, Choice, Plan, Reason, fill, plan_fill, row_code

UPLOAD_FIELD = "upload"
REASON_MAX = 200
_DIGITS = re.compile(r"[0-9０-９]{12,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _record(filing: Filing) -> str:
    return f"filing:{filing.pk}"


def _keep() -> timedelta:
    return timedelta(hours=settings.FILING_KEEP_HOURS)


# --- receiving --------------------------------------------------------------------------


def receive(*, actor: Actor, firm: Firm, data: bytes) -> Filing:
    """Check the file, seal it and plan it (no number is read): the filing with its summary,
    logged as `filing_upload`. A file that is no known layout raises FilingRejected (row and
    field) and is logged with the reason, nothing kept."""
    require_action(actor, Action.FILING_PREPARE, log_action="filing_upload")
    purge_expired(firm)
    try:
        if len(data) > settings.FILING_MAX_BYTES:
            raise FilingTooLarge
        filing_file = parse(data)
    except FilingError as refused:
        with transaction.atomic():
            log_access(actor=actor, action="filing_upload",
                       detail={"rejected": type(refused).__name__, "bytes": len(data),
                               "row": getattr(refused, "row", None)})  # fmt: skip
        raise
    layout = filing_file.layout
    filing = Filing(
        created_by_id=actor.user_id,
        created_by_email=actor.email,
        expires_at=timezone.now() + _keep(),
        layout_code=layout.code,
        field_count=layout.field_count,
        edition=layout.edition,
        encoding=filing_file.encoding,
        byte_count=len(data),
        row_count=len(filing_file.records),
    )
    sealed = seal(firm, data, record=_record(filing), field=UPLOAD_FIELD)
    plan = plan_fill(firm=firm, filing=filing_file, data=data)
    filing.digest = plan.digest
    _summarise(filing, plan)
    # Let go of the parsed file and the plan before the row is written: what follows reuses
    # their memory (7 MB less at the process's peak for a 10,000-row file).
    del plan, filing_file
    with transaction.atomic():
        filing.ciphertext = b""  # written next, as a binary parameter
        filing.save(force_insert=True)
        _store_sealed(filing, sealed)
        log_access(actor=actor, action="filing_upload", detail=_detail(filing))
    filing.ciphertext = sealed
    return filing


def _store_sealed(filing: Filing, sealed: bytes) -> None:
    """The sealed upload into the filing's row, in the caller's transaction, sent as one
    binary parameter. Through the ORM, psycopg's client-side binding writes it into the
    statement as a hex literal, twice its size and copied several times over: about 40 MB
    more at the process's peak for a 10,000-row file (docs/benchmarks.md, "Filings")."""
    connection.ensure_connection()
    quote = connection.ops.quote_name
    table = f"{quote(getattr(connection, 'schema_name', 'public'))}.{quote(Filing._meta.db_table)}"
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding
        cursor.execute(f"UPDATE {table} SET ciphertext = %b WHERE id = %s",  # noqa: S608 (our own table name)
                       [sealed, filing.pk])  # fmt: skip
        if cursor.rowcount != 1:
            raise Filing.DoesNotExist(filing.pk)


def _detail(filing: Filing, **more) -> dict:
    return {"filing": str(filing.pk), "format": filing.layout_code, "edition": filing.edition,
            "digest": filing.digest, **more}  # fmt: skip


def _summarise(filing: Filing, plan: Plan) -> None:
    filing.fill_count = len(plan.fill)
    filing.people_count = len(plan.people)
    filing.review = [
        {
            "row": item.row,
            "field": item.field,
            "slot": str(item.slot),
            "reason": str(item.reason),
            "candidates": list(item.candidates),
            "person": item.person_id,
        }  # fmt: skip
        for item in plan.review
    ]
    filing.status = Filing.Status.REVIEW if plan.pending else Filing.Status.READY


# --- looking again ----------------------------------------------------------------------


def get(*, actor: Actor, filing_id: uuid.UUID | str) -> Filing:
    """A filing of this firm (Filing.DoesNotExist otherwise), for someone who may prepare."""
    require_action(actor, Action.FILING_PREPARE, log_action="filing_review")
    filing = Filing.objects.get(pk=filing_id)
    if filing.deleted_at is None and filing.expires_at <= timezone.now():
        _expire(filing)  # its time is over: deleted now, as the purge would
    return filing


def opened(firm: Firm, filing: Filing) -> tuple[FilingFile, bytes]:
    """The sealed upload, opened and read again (its plaintext only in memory)."""
    if filing.deleted_at is not None or not filing.ciphertext:
        raise FilingGone
    if filing.expires_at <= timezone.now():
        raise FilingGone  # the purge deletes it, with its entry
    data = unseal(firm, bytes(filing.ciphertext), record=_record(filing), field=UPLOAD_FIELD)
    return parse(data), data


def choices_of(filing: Filing) -> dict[tuple[int, int], Choice]:
    out = {}
    for key, value in filing.choices.items():
        row, field = (int(part) for part in key.split(":"))
        out[(row, field)] = Choice(person_id=value.get("person"), reason=value.get("reason", ""))
    return out


def replan(*, firm: Firm, filing: Filing) -> Plan:
    """The plan as of now, with the handler's answers: the vault may have changed since the
    upload (a number added, a purpose notified), so every look and every download plans
    again, and the stored summary follows."""
    filing_file, data = opened(firm, filing)
    plan = plan_fill(firm=firm, filing=filing_file, data=data, choices=choices_of(filing))
    before = (filing.status, filing.fill_count, filing.review)
    _summarise(filing, plan)
    if (filing.status, filing.fill_count, filing.review) != before:
        filing.save(update_fields=["status", "fill_count", "people_count", "review"])
    return plan


@dataclass(frozen=True)
class ReviewLine:
    """One review item as the page shows it: names from the file, never a number."""

    row: int
    field: int
    slot: str
    reason: Reason
    name: str
    candidates: list[Person]
    person: Person | None
    choice: Choice | None


def review_lines(*, firm: Firm, filing: Filing) -> tuple[Plan, list[ReviewLine]]:
    plan = replan(firm=firm, filing=filing)
    ids = {pid for item in plan.review for pid in (*item.candidates, item.person_id) if pid}
    people = Person.objects.in_bulk(ids)
    answered = choices_of(filing)
    lines = [
        ReviewLine(
            item.row,
            item.field,
            str(item.slot),
            item.reason,
            item.name,
            [people[c] for c in item.candidates if c in people],
            people.get(item.person_id) if item.person_id else None,
            answered.get(item.cell),
        )  # fmt: skip
        for item in plan.review
    ]
    return plan, lines


# --- the handler's answers --------------------------------------------------------------


def choose(*, actor: Actor, firm: Firm, filing: Filing, row: int, field: int,
           person_id: int | None = None, reason: str = "") -> Filing:  # fmt: skip
    """Answer one review item: this person (for nobody or several), or blank on purpose with
    a reason (for any). A person picked for the row's own column where the row carries the
    firm's code (統一CSV 受給者番号) gets that code, so next year's file matches by it."""
    require_action(actor, Action.FILING_PREPARE, log_action="filing_review")
    plan = replan(firm=firm, filing=filing)
    item = next((i for i in plan.pending if i.cell == (row, field)), None)
    if item is None:
        raise ChoiceRefused("この欄は確認の対象ではありません。ページを再読み込みしてください。")
    if person_id is not None:
        if item.reason not in PICKABLE:
            raise ChoiceRefused
        choice = Choice(person_id=person_id)
    else:
        reason = " ".join(reason.split())
        if (
            not reason
            or len(reason) > REASON_MAX
            or _DIGITS.search(reason)
            or (NUMBER_SHAPED.search(reason))
            or _CONTROL.search(reason)  # a NUL cannot be stored; none has a meaning here
        ):
            raise ReasonRefused
        choice = Choice(reason=reason)
    answers = {**choices_of(filing), (row, field): choice}
    filing_file, data = opened(firm, filing)
    plan = plan_fill(firm=firm, filing=filing_file, data=data, choices=answers)  # ChoiceRefused
    filing.choices = {f"{r}:{f}": ({"person": c.person_id} if c.person_id else {"reason": c.reason})
                      for (r, f), c in answers.items()}  # fmt: skip
    _summarise(filing, plan)
    with transaction.atomic():
        filing.save(update_fields=["choices", "status", "fill_count", "people_count", "review"])
        remembered = _remember_code(filing_file, row, item, person_id)
        log_access(actor=actor, action="filing_review", person_id=person_id,
                   detail=_detail(filing, row=row, field=field,
                                  choice="person" if person_id else "blank",
                                  reason=choice.reason, code_remembered=remembered))  # fmt: skip
    return filing


def _remember_code(filing_file: FilingFile, row: int, item, person_id: int | None) -> bool:
    """The row's code onto the person picked for it, where they have none yet and it passes
    the code's own checks (custody.person_code: never number-shaped, unique in the kind)."""
    code = row_code(filing_file, row)
    if person_id is None or str(item.slot) != "person" or not code:
        return False
    person = Person.objects.select_for_update().get(pk=person_id)
    if person.code:
        return False
    try:
        person.code = person_code.check(code, kind=person.kind, person_id=person.pk)
    except ValidationError:
        return False  # kept as it is: the pick still answers this file
    person.save(update_fields=["code", "updated_at"])
    return True


# --- download -----------------------------------------------------------------------------


def download(*, actor: Actor, firm: Firm, filing: Filing) -> tuple[str, bytes]:
    """The filled file and its name. The review must be answered; each person whose number
    it carries has an `export` entry committed before this returns."""
    require_action(actor, Action.NUMBER_EXPORT, log_action="export", detail=_detail(filing))
    plan = replan(firm=firm, filing=filing)
    if plan.pending:
        raise FilingNeedsReview
    filled = fill(actor=actor, firm=firm, plan=plan)
    Filing.objects.filter(pk=filing.pk).update(
        downloads=filing.downloads + 1, last_downloaded_at=timezone.now()
    )
    return filename(filing), filled


def filename(filing: Filing, suffix: str = "filled") -> str:
    """A name from what the file is, never the uploaded name (which may hold anything)."""
    return f"{filing.layout_code}_{filing.created_at:%Y%m%d-%H%M}_{suffix}.csv"


# --- deletion -----------------------------------------------------------------------------


def delete(*, actor: Actor, filing: Filing) -> Filing:
    require_action(actor, Action.FILING_PREPARE, log_action="filing_delete")
    if filing.deleted_at is None:
        with transaction.atomic():
            _delete(filing, by=actor.email or "", why=Filing.Deletion.BY_USER)
            log_access(actor=actor, action="filing_delete", detail=_detail(filing))
    return filing


def _delete(filing: Filing, *, by: str, why: str) -> None:
    filing.ciphertext = b""
    filing.deleted_at = timezone.now()
    filing.deleted_by = by
    filing.deletion = why
    filing.status = Filing.Status.DELETED
    filing.save(update_fields=["ciphertext", "deleted_at", "deleted_by", "deletion", "status"])


def purge_expired(firm: Firm) -> int:
    """Delete every sealed upload whose time is over; the rows stay as deletion records, each
    logged as `filing_delete` by the system."""
    due = list(Filing.objects.filter(expires_at__lte=timezone.now(), deleted_at__isnull=True))
    for filing in due:
        _expire(filing)
    return len(due)


def _expire(filing: Filing) -> None:
    system = Actor.system("filings-purge")
    with transaction.atomic():
        _delete(filing, by=system.email, why=Filing.Deletion.EXPIRED)
        log_access(actor=system, action="filing_delete",
                   detail=_detail(filing, deletion="expired"))  # fmt: skip


# --- the person's copy --------------------------------------------------------------------


@dataclass(frozen=True)
class Stripped:
    data: bytes
    layout_code: str
    removed: int  # number columns that held a number


def strip(*, actor: Actor, data: bytes) -> Stripped:
    """The file with every number column emptied (本人交付用 carries no number), logged as
    `filing_strip` with how many numbers were removed. Nothing is kept."""
    require_action(actor, Action.FILING_STRIP, log_action="filing_strip")
    if len(data) > settings.FILING_MAX_BYTES:
        raise FilingTooLarge
    filing_file = parse(data)
    removed = len(holds_numbers(filing_file))
    with transaction.atomic():
        log_access(actor=actor, action="filing_strip",
                   detail={"format": filing_file.layout.code, "removed": removed})  # fmt: skip
    return Stripped(strip_numbers(filing_file), filing_file.layout.code, removed)
