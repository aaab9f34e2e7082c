"""Escalation: when a client firm's requests for numbers stay unanswered, the practice that
serves it has the firm's owners told, once. Reminders to the person go on as scheduled
(tenants.collection.services.send_due_reminders); this is the step after them.

A request is escalated when it is still open (pending, its link working), was made at least
the practice's `owner_notice_after_days` ago, and has not been escalated before. Every
owner of the firm gets one email per run with how many such requests there are and since
when, and a link to the firm's list of open requests: no number, and no person's name (the
email leaves the firm's logged pages; the list behind the link is logged). The requests are
marked (`owner_notified_at`) and the notice is logged in the firm's log (`escalate`), in the
same transaction; the emails go after the commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from accounts import mail
from firms.models import Firm, firm_url
from tenants.auditlog.services import Actor, log_access
from tenants.collection.models import CollectionRequest, RequestStatus

from .models import PracticeClient

OPEN_REQUESTS_PATH = "/collection/?status=pending"


def notice_days(firm: Firm) -> int:
    """The days after which the firm's owners hear of an unanswered request: the shortest
    that a practice actively serving the firm has set (0, off, when none has)."""
    days = (
        PracticeClient.objects.filter(
            firm=firm,
            status=PracticeClient.Status.ACTIVE,
            practice__owner_notice_after_days__gt=0,
        )
        .aggregate(days=Min("practice__owner_notice_after_days"))
        .get("days")
    )
    return int(days or 0)


def firms_to_check() -> list[Firm]:
    """Firms an active practice serves with escalation on (the beat task's fan-out)."""
    return list(
        Firm.objects.filter(
            practices__status=PracticeClient.Status.ACTIVE,
            practices__practice__owner_notice_after_days__gt=0,
        )
        .distinct()
        .order_by("pk")
    )


def notify_owners(firm: Firm, *, now: datetime | None = None) -> int:
    """Tell the firm's owners of its requests unanswered past the practice's days (run in
    the firm's schema). Returns how many requests the notice named (0: no notice)."""
    days = notice_days(firm)
    if not days:
        return 0
    owners = [user for user in mail.firm_owners(firm) if user.is_active and user.email]
    if not owners:
        # Nobody to tell yet (the owner has not accepted the invitation): the requests stay
        # unmarked, so the owner hears once they own the firm.
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            CollectionRequest.objects.select_for_update(skip_locked=True)
            .filter(
                status=RequestStatus.PENDING,
                expires_at__gt=now,
                created_at__lte=now - timedelta(days=days),
                owner_notified_at__isnull=True,
            )
            .order_by("created_at", "pk")
        )
        if not due:
            return 0
        CollectionRequest.objects.filter(pk__in=[r.pk for r in due]).update(owner_notified_at=now)
        since = due[0].created_at
        log_access(
            actor=Actor.system("collection-escalation"),
            action="escalate",
            detail={
                "requests": [r.pk for r in due],
                "count": len(due),
                "since": timezone.localtime(since).date().isoformat(),
                "after_days": days,
                "owners": [user.email for user in owners],
            },
        )
        context = {
            "firm": firm,
            "count": len(due),
            "since": since,
            "after_days": days,
            "link": firm_url(firm.slug, OPEN_REQUESTS_PATH),
        }
        transaction.on_commit(lambda: mail.send_to_users("collection/escalation", context, owners))
    return len(due)
