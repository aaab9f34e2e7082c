"""Billing: the plan a firm is on, what it may add, Stripe Checkout and the portal, the billed
quantity, and the processing of verified Stripe events. Views and tasks stay thin and call
these functions (docs/billing.md).

Non-payment never touches custody data: the only thing billing can refuse is *new* data
(`require_can_add_data`), checked by the custody services that create people and numbers.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from django_tenants.utils import schema_context

from firms.models import Firm, firm_url

from . import notices, plans
from .errors import (
    CANCELED_READ_ONLY_MESSAGE,
    PAST_DUE_READ_ONLY_MESSAGE,
    PLAN_LIMIT_MESSAGE,
    AlreadySubscribed,
    BillingBlocked,
    BillingOff,
    NoCustomer,
    StripeUnavailable,
    UnknownPlan,
    WebhookRejected,
)
from .models import LIVE_STATUSES, FirmBilling, Status, WebhookEvent
from .plans import Plan, get_plan
from .stripe_api import billing_enabled, client

logger = logging.getLogger(__name__)

REGISTRATION_NUMBER_FIELD = "適格請求書発行事業者登録番号"


# --- the firm's state ---------------------------------------------------------------------


@dataclass(frozen=True)
class BillingState:
    plan: Plan
    status: str
    enabled: bool
    grace_until: datetime | None = None
    # "", "past_due" (grace over) or "canceled": new data is refused.
    read_only_reason: str = ""
    trial_end: datetime | None = None
    quantity: int = 0
    # The practice whose Accountant plan pays for this firm, when one does.
    covered_by: str = ""

    @property
    def read_only(self) -> bool:
        return bool(self.read_only_reason)

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label)

    @property
    def in_grace(self) -> bool:
        return self.status == Status.PAST_DUE and not self.read_only


def billing_for(firm: Firm) -> FirmBilling:
    record, _created = FirmBilling.objects.get_or_create(firm_id=firm.pk)
    return record


def billing_state(firm: Firm, *, now: datetime | None = None) -> BillingState:
    """The plan and restrictions in force. Billing off: every firm is on
    BILLING_DEFAULT_PLAN, active, whatever rows exist."""
    if not billing_enabled():
        return BillingState(
            plan=get_plan(settings.BILLING_DEFAULT_PLAN), status=Status.ACTIVE, enabled=False
        )
    record = FirmBilling.objects.filter(firm_id=firm.pk).first()
    if record is None or not record.live:
        practice = covering_practice(firm)
        if practice:
            return BillingState(plan=plans.PLANS[plans.ACCOUNTANT], status=Status.ACTIVE,
                                enabled=True, covered_by=practice)  # fmt: skip
    if record is None:
        return BillingState(plan=plans.PLANS[plans.FREE], status=Status.NONE, enabled=True)
    now = now or timezone.now()
    reason = ""
    if record.status == Status.CANCELED:
        reason = "canceled"
    elif record.status == Status.PAST_DUE and record.grace_until and now >= record.grace_until:
        reason = "past_due"
    return BillingState(
        plan=get_plan(record.plan) if record.live else plans.PLANS[plans.FREE],
        status=record.status,
        enabled=True,
        grace_until=record.grace_until,
        read_only_reason=reason,
        trial_end=record.trial_end,
        quantity=record.quantity_synced,
    )


@contextlib.contextmanager
def _in_schema(firm: Firm) -> Iterator[None]:
    """Count in the firm's schema, switching only if the connection is elsewhere (a task
    running in the public schema)."""
    if getattr(connection, "schema_name", None) == firm.schema_name:
        yield
        return
    with schema_context(firm.schema_name):
        yield


def _current_firm(firm: Firm | None) -> Firm:
    if firm is not None:
        return firm
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Firm):
        raise RuntimeError("billing needs a firm: none given and the connection is public")
    return tenant


def people_count(firm: Firm) -> int:
    from tenants.custody.models import Person

    with _in_schema(firm):
        return Person.objects.count()


def headcount(firm: Firm) -> int:
    """People holding a number: what the Standard plan bills."""
    from tenants.custody.models import MyNumberRecord

    with _in_schema(firm):
        return MyNumberRecord.objects.count()


def practice_client_count(firm: Firm) -> int:
    """The client firms of the practices that bill through this firm (the Accountant plan's
    quantity): each distinct client with an active link, counted once."""
    from practices.models import PracticeClient

    return (
        PracticeClient.objects.filter(
            practice__billing_firm=firm, status=PracticeClient.Status.ACTIVE
        )
        .values("firm_id")
        .distinct()
        .count()
    )


def covering_practice(firm: Firm) -> str:
    """The name of a practice whose live Accountant-plan subscription pays for this firm, or
    "". A covered firm is billed once, through the practice, not by itself."""
    from practices.models import PracticeClient

    links = PracticeClient.objects.filter(
        firm=firm,
        status=PracticeClient.Status.ACTIVE,
        practice__billing_firm__billing__plan=plans.ACCOUNTANT,
        practice__billing_firm__billing__status__in=[Status.TRIALING, Status.ACTIVE],
    ).select_related("practice")
    link = links.first()
    return link.practice.name if link is not None else ""


def clients_changed(billing_firm: Firm | None) -> None:
    """Called when a practice gains or loses a client: after the commit, the practice's
    subscription quantity is brought in line (as headcount_changed does for people)."""
    if billing_firm is None or not billing_enabled():
        return
    if not FirmBilling.objects.filter(firm_id=billing_firm.pk, status__in=LIVE_STATUSES).exists():
        return
    firm_id = billing_firm.pk
    transaction.on_commit(lambda: _enqueue_quantity_sync(firm_id))


def billed_quantity(firm: Firm, plan: Plan | None = None) -> int:
    plan = plan or billing_state(firm).plan
    if plan.unit == "person":
        return headcount(firm)
    if plan.unit == "client_firm":
        return practice_client_count(firm)
    return 0


# --- the one check for new data -------------------------------------------------------------


SUSPENDED_MESSAGE = gettext_lazy(
    "この事業者は現在停止中のため、新しい登録や変更はできません。"
    "番号の表示・出力・削除は引き続き行えます。詳しくは運用窓口にお問い合わせください。"
)


OFFBOARDING_MESSAGE = gettext_lazy(
    "この事業者は解約手続中のため、新しい登録や変更はできません。"
    "暗号鍵を破棄するまでは、番号の表示・出力と最終エクスポートのダウンロードは引き続き行えます。"
)


def can_add_data(firm: Firm | None = None, *, adding_people: int = 0) -> BillingBlocked | None:
    """None if the firm may add this much new data, else the refusal to raise or show.
    Reveal, export, deletion and offboarding never call this: they must always work."""
    firm = _current_firm(firm)
    if firm.status == Firm.Status.OFFBOARDING:  # the owner asked to leave (firms.offboarding)
        return BillingBlocked("offboarding", OFFBOARDING_MESSAGE)
    if firm.status == Firm.Status.SUSPENDED:  # by an operator (firms.lifecycle)
        return BillingBlocked("suspended", SUSPENDED_MESSAGE)
    if not billing_enabled() and get_plan(settings.BILLING_DEFAULT_PLAN).max_people is None:
        return None  # the embedded default: no query at all
    state = billing_state(firm)
    if state.read_only_reason == "canceled":
        return BillingBlocked("read_only", CANCELED_READ_ONLY_MESSAGE)
    if state.read_only_reason == "past_due":
        return BillingBlocked("read_only", PAST_DUE_READ_ONLY_MESSAGE)
    limit = state.plan.max_people
    if adding_people and limit is not None and people_count(firm) + adding_people > limit:
        return BillingBlocked(
            "plan_limit", PLAN_LIMIT_MESSAGE % {"limit": limit, "next": limit + 1}
        )
    return None


def require_can_add_data(firm: Firm | None = None, *, adding_people: int = 0) -> None:
    """Raise BillingBlocked unless new data may be added; `firm` defaults to the
    connection's tenant (the custody services run in the firm's schema)."""
    refusal = can_add_data(firm, adding_people=adding_people)
    if refusal is not None:
        raise refusal


def billing_stop(firm: Firm) -> str:
    """Offboarding: cancel the firm's Stripe subscription now, so nothing more is billed.
    Returns what happened: "billing_off", "no_subscription", "already_canceled" or
    "canceled". Safe to repeat; a Stripe failure raises StripeUnavailable (retry later)."""
    if not billing_enabled():
        return "billing_off"
    with transaction.atomic():
        record = FirmBilling.objects.select_for_update().filter(firm_id=firm.pk).first()
        if record is None or not record.stripe_subscription_id:
            return "no_subscription"
        if record.status == Status.CANCELED:
            return "already_canceled"
        try:
            sub = client().v1.subscriptions.retrieve(record.stripe_subscription_id)
            if sub.status not in ("canceled", "incomplete_expired"):
                client().v1.subscriptions.cancel(record.stripe_subscription_id)
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        record.status = Status.CANCELED
        record.grace_until = None
        record.state_as_of = timezone.now()
        record.save(update_fields=["status", "grace_until", "state_as_of", "updated_at"])
    return "canceled"


# --- quantity --------------------------------------------------------------------------------


def headcount_changed(firm: Firm | None = None) -> None:
    """Called by the custody services after a number is set, a person deleted or an import:
    after the commit, a task brings Stripe's quantity in line. Nothing when billing is off or
    the firm has no subscription."""
    if not billing_enabled():
        return
    firm = _current_firm(firm)
    if not FirmBilling.objects.filter(firm_id=firm.pk, status__in=LIVE_STATUSES).exists():
        return
    firm_id = firm.pk
    transaction.on_commit(lambda: _enqueue_quantity_sync(firm_id))


def _enqueue_quantity_sync(firm_id: int) -> None:
    from config.celery import send_or_log

    from .tasks import sync_quantity

    # billing.sync_all_quantities (daily) catches a change whose sync was not sent.
    send_or_log(sync_quantity, [firm_id], what="billing.sync_quantity")


def sync_quantity(firm: Firm) -> int | None:
    """Set the subscription's quantity to what the firm holds now. Returns the quantity, or
    None if there is nothing to sync. The firm's billing row stays locked during the call,
    so two syncs cannot cross and leave the older count in Stripe."""
    if not billing_enabled():
        return None
    with transaction.atomic():
        record = FirmBilling.objects.select_for_update().filter(firm_id=firm.pk).first()
        if record is None or not record.live or not record.stripe_item_id:
            return None
        quantity = billed_quantity(firm, get_plan(record.plan))
        if quantity == record.quantity_synced:
            return quantity
        try:
            client().v1.subscriptions.update(
                record.stripe_subscription_id,
                {
                    "items": [{"id": record.stripe_item_id, "quantity": quantity}],
                    "proration_behavior": "create_prorations",
                },
            )
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        record.quantity_synced = quantity
        record.quantity_synced_at = timezone.now()
        record.save(update_fields=["quantity_synced", "quantity_synced_at", "updated_at"])
    return quantity


def firms_to_sync() -> list[int]:
    return list(
        FirmBilling.objects.filter(status__in=LIVE_STATUSES)
        .exclude(stripe_item_id="")
        .values_list("firm_id", flat=True)
    )


# --- checkout and portal ---------------------------------------------------------------------


def invoice_settings() -> Any:  # a stripe params TypedDict
    """The platform's qualified-invoice registration number on every invoice, as a custom
    field of the customer (docs/billing.md: why not the account-wide footer)."""
    number = settings.STRIPE_INVOICE_REGISTRATION_NUMBER
    if not number:
        return {"custom_fields": ""}  # Stripe's way to clear the list
    return {"custom_fields": [{"name": REGISTRATION_NUMBER_FIELD, "value": number}]}


def _ensure_customer(record: FirmBilling, firm: Firm, email: str) -> str:
    api = client().v1.customers
    if record.stripe_customer_id:
        api.update(record.stripe_customer_id, {"invoice_settings": invoice_settings()})
        return record.stripe_customer_id
    params: Any = {
        "name": firm.name,
        "email": email,
        "preferred_locales": ["ja"],
        "metadata": {"firm_id": str(firm.pk), "firm_slug": firm.slug},
        "invoice_settings": invoice_settings(),
    }
    customer = api.create(
        params,
        # One customer per firm even if two checkouts start at once.
        {"idempotency_key": f"customer-firm-{firm.pk}"},
    )
    record.stripe_customer_id = customer.id
    record.save(update_fields=["stripe_customer_id", "updated_at"])
    return customer.id


def price_id(plan: Plan) -> str:
    found = client().v1.prices.list({"lookup_keys": [plan.lookup_key], "active": True, "limit": 1})
    if not found.data:
        raise StripeUnavailable  # the catalog was not synced: billing_sync_stripe
    return found.data[0].id


def tax_rate_id() -> str | None:
    """The 10% consumption tax rate created by billing_sync_stripe, if any."""
    from .catalog import find_tax_rate

    rate = find_tax_rate(client())
    return rate.id if rate is not None else None


def checkout_start(*, firm: Firm, plan_code: str, email: str, language: str = "ja") -> str:
    """Start Stripe Checkout for a paid plan; returns the URL to send the owner to. A trial
    is offered to a firm that never had a subscription."""
    if not billing_enabled():
        raise BillingOff
    plan = plans.PLANS.get(plan_code)
    if plan is None or not plan.paid:
        raise UnknownPlan
    try:
        with transaction.atomic():
            billing_for(firm)
            record = FirmBilling.objects.select_for_update().get(firm_id=firm.pk)
            if record.live:
                raise AlreadySubscribed
            customer = _ensure_customer(record, firm, email)
            first_time = not record.stripe_subscription_id
        line_item: dict[str, Any] = {
            "price": price_id(plan),
            # Checkout needs at least one; the quantity sync corrects it after the start.
            "quantity": max(1, billed_quantity(firm, plan)),
        }
        tax = tax_rate_id()
        if tax:
            line_item["tax_rates"] = [tax]
        subscription_data: dict[str, Any] = {
            "metadata": {"firm_id": str(firm.pk), "plan": plan.code}
        }
        if first_time and settings.BILLING_TRIAL_DAYS > 0:
            subscription_data["trial_period_days"] = settings.BILLING_TRIAL_DAYS
        session_params: Any = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": str(firm.pk),
            "line_items": [line_item],
            "subscription_data": subscription_data,
            "metadata": {"firm_id": str(firm.pk), "plan": plan.code},
            "locale": "en" if language.startswith("en") else "ja",
            "success_url": firm_url(firm.slug, "/billing/return/?session_id={CHECKOUT_SESSION_ID}"),
            "cancel_url": firm_url(firm.slug, "/billing/"),
        }
        session = client().v1.checkout.sessions.create(session_params)
    except stripe.StripeError as error:
        logger.warning("stripe checkout for firm %s failed: %s", firm.pk, type(error).__name__)
        raise StripeUnavailable from error
    return str(session.url)


def portal_url(*, firm: Firm, language: str = "ja") -> str:
    """Stripe's customer portal: cards, invoices, plan changes and cancellation."""
    if not billing_enabled():
        raise BillingOff
    record = FirmBilling.objects.filter(firm_id=firm.pk).first()
    if record is None or not record.stripe_customer_id:
        raise NoCustomer
    try:
        session = client().v1.billing_portal.sessions.create(
            {
                "customer": record.stripe_customer_id,
                "return_url": firm_url(firm.slug, "/billing/"),
                "locale": "en" if language.startswith("en") else "ja",
            }
        )
    except stripe.StripeError as error:
        raise StripeUnavailable from error
    return str(session.url)


def checkout_returned(*, firm: Firm, session_id: str) -> bool:
    """The owner came back from Checkout: apply the subscription now rather than wait for
    the webhook (which still arrives and then changes nothing). Only a session made for this
    firm is applied."""
    if not billing_enabled() or not session_id.startswith("cs_"):
        return False
    try:
        session = client().v1.checkout.sessions.retrieve(session_id).to_dict()
    except stripe.StripeError:
        return False
    if session.get("client_reference_id") != str(firm.pk) or not session.get("subscription"):
        return False
    outcome = reconcile_subscription(firm, _id_of(session["subscription"]), snapshot=None,
                                     as_of=timezone.now())  # fmt: skip
    return outcome == "processed"


# --- webhooks --------------------------------------------------------------------------------


def webhook_receive(payload: bytes, signature: str | None) -> WebhookEvent:
    """Verify the signature with Stripe's library and store the event once. Raises
    WebhookRejected (400) for a missing secret, a forged or a stale signature; nothing is
    stored then. A new (or not yet processed) event is queued by id after the commit."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature:
        raise WebhookRejected
    try:
        stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
        data = json.loads(payload)
        event_id, event_type = str(data["id"]), str(data["type"])
        created = datetime.fromtimestamp(int(data.get("created") or 0), tz=UTC)
    except (ValueError, KeyError, TypeError, stripe.SignatureVerificationError) as error:
        raise WebhookRejected from error
    with transaction.atomic():
        event, created_now = WebhookEvent.objects.get_or_create(
            event_id=event_id,
            defaults={
                "type": event_type[:100],
                "created": created,
                "livemode": bool(data.get("livemode")),
                "payload": data,
            },
        )
        if created_now or event.state in (WebhookEvent.State.RECEIVED, WebhookEvent.State.FAILED):
            pk = event.pk
            transaction.on_commit(lambda: _enqueue_event(pk))
    return event


def _enqueue_event(event_pk: int) -> None:
    from .tasks import process_webhook_event

    # Only the row's id goes to the broker, never the payload (it names people and firms).
    process_webhook_event.delay(event_pk)


Outcome = tuple[WebhookEvent.State, str, Firm | None]  # (state, note, firm)


def process_event(event_pk: int) -> str:
    """Apply one stored event, once. A processed or ignored event is left alone, so a
    replay, a duplicate delivery or a second task changes nothing. Stripe errors propagate
    (the task retries); the event stays `received` until it succeeds or is marked failed."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.state in (WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED):
            return event.state
        handler = HANDLERS.get(event.type)
        if handler is None:
            state, note, firm = WebhookEvent.State.IGNORED, "unhandled_type", None
        else:
            obj = (event.payload.get("data") or {}).get("object") or {}
            state, note, firm = handler(obj, event.created)
            if event.type == "invoice.payment_failed" and state == WebhookEvent.State.PROCESSED:
                _after_commit(notices.payment_failed, firm)
        event.state = state
        event.note = note[:255]
        event.firm = firm
        event.attempts += 1
        event.processed_at = timezone.now()
        event.save()
    return state


def mark_failed(event_pk: int, note: str) -> None:
    WebhookEvent.objects.filter(pk=event_pk).exclude(
        state__in=[WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED]
    ).update(state=WebhookEvent.State.FAILED, note=note[:255], processed_at=timezone.now())


def _id_of(value: Any) -> str:
    """Stripe sends related objects as ids or, when expanded, as objects."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _firm_for(obj: dict) -> Firm | None:
    """The firm an object belongs to: by our stored customer id, else by the firm id we put
    in its metadata (only for a firm without another customer)."""
    customer = _id_of(obj.get("customer"))
    if customer:
        record = FirmBilling.objects.filter(stripe_customer_id=customer).first()
        if record is not None:
            return record.firm
    firm_id = str(
        obj.get("client_reference_id") or (obj.get("metadata") or {}).get("firm_id") or ""
    )
    if not firm_id.isdigit():
        return None
    record = FirmBilling.objects.filter(firm_id=int(firm_id)).first()
    if record is None or (record.stripe_customer_id and record.stripe_customer_id != customer):
        return None
    return record.firm


def _on_checkout_completed(obj: dict, created: datetime) -> Outcome:
    firm = _firm_for(obj)
    if firm is None:
        return WebhookEvent.State.IGNORED, "unknown_customer", None
    subscription = _id_of(obj.get("subscription"))
    if obj.get("mode") != "subscription" or not subscription:
        return WebhookEvent.State.IGNORED, "not_a_subscription", firm
    return _outcome(firm, reconcile_subscription(firm, subscription, snapshot=None, as_of=created))


def _on_subscription(obj: dict, created: datetime) -> Outcome:
    firm = _firm_for(obj)
    if firm is None:
        return WebhookEvent.State.IGNORED, "unknown_customer", None
    return _outcome(firm, reconcile_subscription(firm, _id_of(obj.get("id")), snapshot=obj,
                                                 as_of=created))  # fmt: skip


def _invoice_subscription(obj: dict) -> str:
    # Newer API versions moved the subscription under parent.subscription_details.
    details = ((obj.get("parent") or {}).get("subscription_details")) or {}
    return _id_of(obj.get("subscription") or details.get("subscription"))


def _on_invoice(obj: dict, created: datetime) -> Outcome:
    firm = _firm_for(obj)
    if firm is None:
        return WebhookEvent.State.IGNORED, "unknown_customer", None
    subscription = _invoice_subscription(obj)
    if not subscription:
        return WebhookEvent.State.IGNORED, "not_a_subscription", firm
    # The invoice does not carry the subscription's state: read it from the API (this is
    # how an invoice.paid that overtakes customer.subscription.created is still applied).
    return _outcome(firm, reconcile_subscription(firm, subscription, snapshot=None, as_of=created))


def _outcome(firm: Firm, result: str) -> Outcome:
    if result == "processed":
        return WebhookEvent.State.PROCESSED, "", firm
    return WebhookEvent.State.IGNORED, result, firm


HANDLERS: dict[str, Callable[[dict, datetime], Outcome]] = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "customer.subscription.paused": _on_subscription,
    "customer.subscription.resumed": _on_subscription,
    "invoice.paid": _on_invoice,
    "invoice.payment_succeeded": _on_invoice,
    "invoice.payment_failed": _on_invoice,
}

STRIPE_STATUS = {
    "trialing": Status.TRIALING,
    "active": Status.ACTIVE,
    "past_due": Status.PAST_DUE,
    # Stripe's retries are over, or a trial ended without a card: same path as past due.
    "unpaid": Status.PAST_DUE,
    "paused": Status.PAST_DUE,
    "canceled": Status.CANCELED,
    "incomplete_expired": Status.CANCELED,
    # First payment not made yet: the firm stays where it was.
    "incomplete": None,
}


def reconcile_subscription(
    firm: Firm, subscription_id: str, *, snapshot: dict | None, as_of: datetime
) -> str:
    """Bring the firm's billing row in line with a subscription. With an API key the
    subscription is read from Stripe (its current state, whatever order events came in);
    with only the webhook secret, the event's own snapshot is applied unless a newer state
    was applied already. Returns "processed" or why nothing changed."""
    with transaction.atomic():
        billing_for(firm)
        record = FirmBilling.objects.select_for_update().get(firm_id=firm.pk)
        sub, as_of, refusal = _read_subscription(record, subscription_id, snapshot, as_of)
        if sub is None:
            return refusal
        status = STRIPE_STATUS.get(str(sub.get("status")))
        refusal = _conflict(record, sub, status)
        if refusal:
            return refusal
        if status is None:
            return "incomplete"
        was_live = record.live
        _apply(record, sub, status, as_of)
        if was_live and record.status == Status.CANCELED and firm.status != Firm.Status.OFFBOARDING:
            # Stripe gave up on the payments, or the owner canceled: now read-only.
            _after_commit(notices.subscription_ended, firm)
        behind = record.live and record.quantity_synced != billed_quantity(
            firm, get_plan(record.plan)
        )
    if behind:
        # E.g. Checkout started with a count that changed before the subscription began.
        firm_id = firm.pk
        transaction.on_commit(lambda: _enqueue_quantity_sync(firm_id))
    return "processed"


def _after_commit(notice: Callable[[int], None], firm: Firm | None) -> None:
    if firm is not None:
        firm_id = firm.pk
        transaction.on_commit(lambda: notice(firm_id))


def _read_subscription(
    record: FirmBilling, subscription_id: str, snapshot: dict | None, as_of: datetime
) -> tuple[dict | None, datetime, str]:
    """(the subscription to apply, as of when, or why there is none)."""
    if billing_enabled():
        try:
            return client().v1.subscriptions.retrieve(subscription_id).to_dict(), timezone.now(), ""
        except stripe.InvalidRequestError:
            return None, as_of, "unknown_subscription"
    if snapshot is None:
        return None, as_of, "needs_api_key"
    if record.state_as_of and as_of < record.state_as_of:
        return None, as_of, "older_state"
    return snapshot, as_of, ""


def _conflict(record: FirmBilling, sub: dict, status: str | None) -> str:
    """Why a subscription other than the firm's current one must not replace it, if so."""
    current = record.stripe_subscription_id
    if not current or current == sub.get("id"):
        return ""
    if status not in LIVE_STATUSES:
        return "other_subscription"  # e.g. a late event of an old subscription
    if record.live:
        # A second Checkout completed (two tabs): keep the first, cancel this one before it
        # bills anything.
        if billing_enabled():
            client().v1.subscriptions.cancel(str(sub["id"]))
        return "duplicate_subscription_canceled"
    return ""  # the old one ended; the new one takes over


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _apply(record: FirmBilling, sub: dict, status: str, as_of: datetime) -> None:
    items = (sub.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or {}
    plan = plans.plan_for_lookup_key(price.get("lookup_key")) or plans.PLANS.get(
        str((sub.get("metadata") or {}).get("plan") or "")
    )
    if plan is not None and plan.paid:
        record.plan = plan.code
    record.status = status
    record.stripe_subscription_id = str(sub.get("id") or "")
    record.stripe_item_id = str(item.get("id") or "")
    record.stripe_customer_id = record.stripe_customer_id or _id_of(sub.get("customer"))
    record.quantity_synced = int(item.get("quantity") or 0)
    record.trial_end = _timestamp(sub.get("trial_end"))
    record.current_period_end = _timestamp(
        item.get("current_period_end") or sub.get("current_period_end")
    )
    if status == Status.PAST_DUE:
        # The grace period starts the first time we learn of the missed payment, and a
        # later event does not extend it.
        record.grace_until = record.grace_until or timezone.now() + timedelta(
            days=settings.BILLING_GRACE_DAYS
        )
    else:
        record.grace_until = None
    record.state_as_of = max(as_of, record.state_as_of) if record.state_as_of else as_of
    record.save()


# --- banners ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    level: str  # "warning" or "error"
    message: str | Promise


def banner_for(firm: Firm) -> Banner | None:
    """The one banner every firm page shows, if any (billing.context_processors)."""
    from django.utils.formats import date_format
    from django.utils.translation import gettext_lazy as _

    state = billing_state(firm)
    if not state.enabled:
        return None
    if state.read_only_reason == "canceled":
        return Banner("error", CANCELED_READ_ONLY_MESSAGE)
    if state.read_only_reason == "past_due":
        return Banner("error", PAST_DUE_READ_ONLY_MESSAGE)
    if state.in_grace and state.grace_until:
        until = date_format(timezone.localtime(state.grace_until), "DATE_FORMAT")
        return Banner(
            "warning",
            _(
                "お支払いが確認できていません。%(date)sまでにお支払い方法を更新してください。"
                "それ以降は新しい登録ができなくなります（番号の表示・出力・削除は引き続き可能です）。"
            )
            % {"date": until},
        )
    limit = state.plan.max_people
    if limit is not None and people_count(firm) >= limit:
        return Banner(
            "warning",
            _(
                "フリープランの上限（%(limit)s名）に達しました。さらに登録するには"
                "「ご契約」ページからスタンダードプランにお申し込みください。"
            )
            % {"limit": limit},
        )
    return None
