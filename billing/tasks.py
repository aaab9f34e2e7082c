"""Billing tasks. Webhook events travel to the worker as row ids only; the payload stays in
the database. Quantity syncs run per firm and, daily, for every subscribed firm."""

from __future__ import annotations

import logging

import stripe
from celery import shared_task
from django.db import DatabaseError

from authz.actions import Action
from firms.models import Firm

from . import services
from .errors import StripeUnavailable

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def _backoff(retries: int) -> int:
    return min(30 * 2**retries, 3600)


@shared_task(
    bind=True,
    name="billing.process_webhook_event",
    max_retries=MAX_RETRIES,
    authz_action=Action.BILLING_WEBHOOK,
)
def process_webhook_event(self, event_pk: int) -> str:
    try:
        return services.process_event(event_pk)
    except (stripe.StripeError, StripeUnavailable, DatabaseError) as error:
        # Passing trouble (Stripe or the database unreachable): the event stays "received"
        # and is tried again; after the last retry it is marked failed, and Stripe's own
        # redelivery of the event queues it again.
        if self.request.retries >= MAX_RETRIES:
            services.mark_failed(event_pk, f"gave_up:{type(error).__name__}")
            return "failed"
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error
    except Exception as error:
        # A malformed object will not get better by retrying; record it and keep the worker.
        logger.exception("billing event %s failed", event_pk)
        services.mark_failed(event_pk, f"error:{type(error).__name__}")
        return "failed"


@shared_task(
    bind=True, name="billing.sync_quantity", max_retries=5, authz_action=Action.SYSTEM_SCHEDULE
)
def sync_quantity(self, firm_id: int) -> int | None:
    firm = Firm.objects.filter(pk=firm_id).first()
    if firm is None:
        return None
    try:
        return services.sync_quantity(firm)
    except StripeUnavailable as error:
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error


@shared_task(name="billing.sync_all_quantities", authz_action=Action.SYSTEM_SCHEDULE)
def sync_all_quantities() -> int:
    """Daily (beat): catches every change the per-change sync missed, e.g. numbers deleted
    by the retention sweep."""
    firm_ids = services.firms_to_sync()
    for firm_id in firm_ids:
        sync_quantity.delay(firm_id)
    return len(firm_ids)
