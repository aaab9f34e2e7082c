"""Acting on many people at once from the people list (issue 20): ask everyone without a
number for it, record the end of the relationship for leavers, export for a purpose.

Three steps, each a plain function:
- `stage`: the people chosen (a selection, or everyone a search finds) are sorted into those
  the action applies to and those it does not, by reason; nothing changes yet. The page shows
  both counts and asks for confirmation.
- `confirm`: the parameters are checked (the end date); a few people are done at once, in
  the request; more are queued for the task `custody.bulk_run`, whose progress the page
  shows (config.progress).
- `run`: in one transaction, each person through the single action's own service
  (collection.services.request_create, custody.services.person_update), so each is logged
  as one request or one update would be, and a failure part way writes nothing. Someone
  whose state changed since staging (given a number, asked by another handler) is left
  alone and counted.
The export is streamed from the staged ids by custody.services.numbers_export, which logs
each person before their row leaves.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from authz.actions import Action
from authz.decide import permits
from billing.errors import BillingBlocked
from config.progress import (
    ProgressWriter,
    failure_code,
    job_state,
    job_status,
    lost_worker,
    send_job,
)
from firms.models import Firm
from keys.errors import KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.services import Actor

from .errors import NotAllowed
from .models import BulkJob, MyNumberRecord, Person, PersonKind, Purpose
from .services import require_action

logger = logging.getLogger(__name__)
Kind, Status = BulkJob.Kind, BulkJob.Status

# Up to this many people are done in the request; more go to the task, with progress.
INLINE_LIMIT = 50
# A staged job nobody confirmed is thrown away after this long (it holds only ids).
STAGED_TTL = timedelta(days=1)
# A queued or running job silent this long lost its worker: confirming again restarts it.

# Each kind's action in the authorization layer, and its entries' action in the access log.
ACTIONS: dict[str, Action] = {"request": Action.COLLECTION_REQUEST, "end": Action.PEOPLE_WRITE,
                              "export": Action.NUMBER_EXPORT}  # fmt: skip
LOG_ACTIONS: dict[str, str] = {"request": "request", "end": "update", "export": "export"}

SKIP_REASONS = {
    "dependent": _("扶養親族（扶養する従業員への依頼で一緒に提出されます）"),
    "has_number": _("番号を登録済み"),
    "open_request": _("回答待ちの依頼あり"),
    "ended": _("関係終了済み"),
    "no_number": _("番号が未登録"),
}
FAILURES = {
    "not_allowed": _("実行した方の権限が変わったため、何も変更していません。"),
    "billing": _("ご契約の状態により新しいデータを受け付けられないため、何も変更していません。"),
    "unavailable": _(
        "鍵管理サービスまたはアクセス記録が利用できないため、何も変更していません。"
        "時間をおいてもう一度実行してください。"
    ),
    "not_sent": _("処理を開始できませんでした。何も変更していません。もう一度実行してください。"),
    "interrupted": _("処理が中断されました。何も変更していません。もう一度実行してください。"),
    "failed": _("処理中に問題が起きたため、何も変更していません。もう一度実行してください。"),
}


class JobGone(NotAllowed):
    """Not this user's job, or no longer there: the pages answer 404."""


class JobFinished(NotAllowed):
    message = _("この一括操作は既に実行されています。")


# --- staging ------------------------------------------------------------------------------


def _open_requests(ids: list[int]) -> set[int]:
    from tenants.collection.models import CollectionRequest, RequestStatus

    return set(
        CollectionRequest.objects.filter(
            person_id__in=ids, status=RequestStatus.PENDING, expires_at__gt=timezone.now()
        ).values_list("person_id", flat=True)
    )


def _skip_reason(kind: str, person: Person, has_number: bool, asked: bool) -> str | None:
    """Why the action does not apply to this person, or None when it does."""
    if kind == Kind.REQUEST:
        if person.kind == PersonKind.DEPENDENT:
            return "dependent"
        if has_number:
            return "has_number"
        if person.status == Person.Status.ENDED:
            return "ended"
        return "open_request" if asked else None
    if kind == Kind.END:
        return "ended" if person.status == Person.Status.ENDED else None
    return None if has_number else "no_number"


def sort_out(kind: str, people: Iterable[Person]) -> tuple[list[int], dict[str, int]]:
    """The ids the action applies to (in the list's order) and, by reason, how many not."""
    people = list(people)
    ids = [p.pk for p in people]
    numbered = set(MyNumberRecord.objects.filter(person_id__in=ids).values_list("pk", flat=True))
    asked = _open_requests(ids) if kind == Kind.REQUEST else set()
    applies: list[int] = []
    skipped: Counter[str] = Counter()
    for person in people:
        reason = _skip_reason(kind, person, person.pk in numbered, person.pk in asked)
        if reason is None:
            applies.append(person.pk)
        else:
            skipped[reason] += 1
    return applies, dict(skipped)


def stage(*, actor: Actor, kind: str, people: Iterable[Person]) -> BulkJob:
    """A job for the chosen people, not yet confirmed. Refused (and logged) for a role that
    may not take the action at all."""
    require_action(actor, ACTIONS[kind], log_action=LOG_ACTIONS[kind],
                   detail={"bulk": True})  # fmt: skip
    if actor.user_id is None:
        raise NotAllowed  # a job is its creator's: only a signed-in member's
    applies, skipped = sort_out(kind, people)
    with transaction.atomic():
        BulkJob.objects.filter(
            status=Status.STAGED, created_at__lt=timezone.now() - STAGED_TTL
        ).delete()
        return BulkJob.objects.create(
            kind=kind,
            created_by_id=actor.user_id,
            person_ids=applies,
            skipped=skipped,
            progress_total=len(applies),
        )


def job_for(actor: Actor, pk: Any, kind: str) -> BulkJob:
    """The user's own job of this kind; JobGone for anyone else's, as for one not there."""
    job = BulkJob.objects.filter(pk=pk, kind=kind).first()
    if job is None or job.created_by_id != actor.user_id:
        raise JobGone
    return job


def names_of(job: BulkJob, limit: int = 20) -> list[Person]:
    """The first people of a job, for the confirmation page."""
    return list(Person.objects.filter(pk__in=job.person_ids[:limit]).order_by("pk"))


# --- confirming and running --------------------------------------------------------------


def clean_end_date(raw: str) -> date:
    """The leavers' last day: a real date, not before 2016 (the first year of My Number)."""
    parsed = None
    try:
        parsed = parse_date((raw or "").strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({"end_date": [_("終了日を正しい日付で入力してください。")]})
    if parsed.year < 2016 or parsed > timezone.localdate() + timedelta(days=366):
        raise ValidationError(
            {"end_date": [_("終了日は2016年以降、1年後までの日付で入力してください。")]}
        )
    return parsed


def _actor_record(actor: Actor) -> dict[str, Any]:
    return {"user_id": actor.user_id, "email": actor.email, "ip": actor.ip,
            "user_agent": actor.user_agent[:500], "request_id": actor.request_id}  # fmt: skip


def confirm(*, actor: Actor, job: BulkJob, params: dict[str, str], enqueue: bool = True) -> BulkJob:
    """Run the job now (a few people) or queue it (more). A job already queued, running or
    done is not started twice (JobFinished), unless its worker was lost."""
    if job.kind == Kind.EXPORT:
        raise JobGone  # an export is downloaded, not run (numbers_export)
    require_action(actor, ACTIONS[job.kind], log_action=LOG_ACTIONS[job.kind],
                   detail={"bulk": True})  # fmt: skip
    cleaned: dict[str, str] = {}
    if job.kind == Kind.END:
        cleaned["end_date"] = clean_end_date(params.get("end_date", "")).isoformat()
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            BulkJob.objects.filter(pk=job.pk)
            .filter(Q(status__in=(Status.STAGED, Status.FAILED)) | lost_worker(now))
            .update(
                status=Status.QUEUED,
                params=cleaned,
                confirmed_by=_actor_record(actor),
                queued_at=now,
                started_at=None,
                finished_at=None,
                progress_done=0,
                error="",
            )  # fmt: skip
        )
    if not claimed:
        raise JobFinished
    if len(job.person_ids) <= INLINE_LIMIT:
        run(job.pk)
    elif enqueue:
        _enqueue(connection.schema_name, job.pk)  # type: ignore[attr-defined]
    job.refresh_from_db()
    return job


def _enqueue(schema: str, job_id: Any) -> None:
    from .tasks import bulk_run

    send_job(bulk_run, [schema, str(job_id)], model=BulkJob, pk=job_id,
             what=f"bulk {job_id}", headers={"_schema_name": schema})  # fmt: skip


def _confirmed_actor(firm: Firm, job: BulkJob) -> Actor:
    """Who confirmed, with their role in the firm now (a member removed or made a viewer
    since cannot act)."""
    who = job.confirmed_by or {}
    if not isinstance(who.get("user_id"), int):
        raise NotAllowed
    role = (
        Membership.objects.filter(user_id=who["user_id"], firm=firm)
        .values_list("role", flat=True)
        .first()
    )
    if role is None or not permits(role, ACTIONS[job.kind]):
        raise NotAllowed
    return Actor(user_id=who.get("user_id"), email=who.get("email", ""), role=role,
                 ip=who.get("ip"), user_agent=who.get("user_agent", ""),
                 request_id=who.get("request_id", ""))  # fmt: skip


def run(job_id: Any) -> BulkJob | None:
    """The task's body (or the request's, for a few people), in the firm's schema: claim the
    queued job, then act on each person in one transaction, with progress."""
    firm = Firm.objects.get(schema_name=connection.schema_name)  # type: ignore[attr-defined]
    started = timezone.now()
    claimed = BulkJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=started, progress_done=0
    )
    job = BulkJob.objects.filter(pk=job_id).first()
    if not claimed or job is None:
        return job
    try:
        _run(firm, job, started)
    except NotAllowed:
        return _failed(job, started, "not_allowed")
    except BillingBlocked:
        return _failed(job, started, "billing")
    except (KeyUnavailable, AuditLogUnavailable):
        return _failed(job, started, "unavailable")
    except Exception:
        _failed(job, started, "failed")
        raise
    job.refresh_from_db()
    return job


def _run(firm: Firm, job: BulkJob, started) -> None:
    act = _action(job, _confirmed_actor(firm, job), firm)
    done, made = 0, []
    with transaction.atomic(), ProgressWriter(BulkJob, job.pk) as progress:
        # Whether each has dependants, read once here rather than once per person asked.
        people = (
            Person.objects.filter(pk__in=job.person_ids)
            .annotate(has_dependants=Exists(Person.objects.filter(employee=OuterRef("pk"))))
            .order_by("pk")
        )
        applies, _skipped = sort_out(job.kind, people)
        still = set(applies)
        for count, person in enumerate(people.iterator(chunk_size=500), start=1):
            if person.pk in still and (ids := act(person)) is not None:
                made.extend(ids)
                done += 1
            progress.update(count, len(job.person_ids))
        # The last progress is written now: after the update below locks the job's row, the
        # writer's own connection would wait for that lock until it gave up (2 s per job).
        progress.close()
        finished = timezone.now()
        BulkJob.objects.filter(pk=job.pk, status=Status.RUNNING, started_at=started).update(
            status=Status.DONE, finished_at=finished, done_count=done,
            # Given a number, asked by someone else, ended or deleted since it was staged.
            changed_count=len(job.person_ids) - done,
            progress_done=len(job.person_ids), request_ids=made,
        )  # fmt: skip
    logger.info("bulk %s %s: %s of %s done", job.kind, job.pk, done, len(job.person_ids))


def _action(job: BulkJob, actor: Actor, firm: Firm) -> Callable[[Person], list[int] | None]:
    """The single action for one person, with what it needs read once for the whole job.
    It returns the ids it made, or None for someone left alone (changed since the check)."""
    from tenants.collection.errors import AlreadyRequested
    from tenants.collection.services import request_create

    from .services import person_update

    if job.kind == Kind.END:
        ended = date.fromisoformat(job.params["end_date"])

        def end(person: Person) -> list[int] | None:
            person_update(actor=actor, person=person, changes={"relationship_end": ended})
            return []

        return end
    if job.kind != Kind.REQUEST:
        raise ValueError(f"a {job.kind} job is downloaded, not run")

    active = list(Purpose.objects.filter(active=True))

    def request(person: Person) -> list[int] | None:
        try:
            issued = request_create(
                actor=actor,
                firm=firm,
                person=person,
                include_dependents=person.has_dependants,  # type: ignore[attr-defined]
                active_purposes=active,
            )
        except AlreadyRequested:
            return None  # asked by someone else while the job ran (its own savepoint)
        return [issued.request.pk]

    return request


def _failed(job: BulkJob, started, code: str) -> BulkJob:
    BulkJob.objects.filter(pk=job.pk, status=Status.RUNNING, started_at=started).update(
        status=Status.FAILED, error=code, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def state_of(job: BulkJob) -> str:
    """staged, queued, running, done or failed; a job whose worker was lost counts as
    failed (its one transaction changed nothing), and may be run again."""
    return job_state(job.status, job.started_at or job.queued_at)


def failure_message(job: BulkJob) -> str:
    code = failure_code(job.status, job.started_at or job.queued_at, job.error)
    return str(FAILURES.get(code, FAILURES["failed"])) if code else ""


def status_of(job: BulkJob) -> dict[str, Any]:
    state = state_of(job)
    return job_status(status=state if state != Status.STAGED else "queued",
                      done=job.progress_done, total=job.progress_total,
                      started_at=job.started_at, error=failure_message(job))  # fmt: skip
