"""The owners' email after a sweep deleted numbers: one per owner per sweep run, only when
something was deleted, with counts and a link to the deletion records (never a number, and
no list of names: the records page is behind the firm's login)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Sum

from accounts import mail
from firms.models import Firm, firm_url

from .models import DeletionRecord

DELETIONS_PATH = "/retention/deletions/"


def deletions_after_commit(firm: Firm, record_ids: list[int], at: datetime) -> None:
    """Tell the firm's owners what the sweep deleted, once its last batch has committed."""
    if not record_ids:
        return
    records = DeletionRecord.objects.filter(pk__in=record_ids)
    context = {
        "people": records.count(),
        "documents": records.aggregate(n=Sum("documents_deleted"))["n"] or 0,
        "deleted_at": at,
        "link": firm_url(firm.slug, DELETIONS_PATH),
    }
    transaction.on_commit(lambda: mail.send_to_owners("retention/deleted", firm, context))
