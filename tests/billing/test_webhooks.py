"""/billing/webhook/: verified by Stripe's own library, stored once per event id, processed by
a task that carries only the row's id, in whatever order events arrive."""

from __future__ import annotations

import time

import pytest

from billing import services
from billing.models import FirmBilling, Status, WebhookEvent
from tests.billing.conftest import SECRET, deliver, post_event, subscribe
from tests.billing.stripe_stub import event

pytestmark = pytest.mark.django_db


def billing_of(firm) -> FirmBilling:
    return FirmBilling.objects.get(firm=firm)


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    ["wrong_secret", "stale", "missing", "garbage", "tampered"],
)
def test_a_bad_signature_is_400_and_changes_nothing(
    billing_on, acme, how, django_capture_on_commit_callbacks
):
    sub = subscribe(acme, billing_on, status="active")
    billing_on.set_status(sub["id"], "canceled")
    evt = event("customer.subscription.deleted", {**sub, "status": "canceled"})
    before = FirmBilling.objects.filter(firm=acme).values().get()
    with django_capture_on_commit_callbacks() as callbacks:
        if how == "wrong_secret":
            response = post_event(evt, secret="whsec_forged")
        elif how == "stale":  # a replay of a captured delivery, past the 5-minute tolerance
            response = post_event(evt, timestamp=int(time.time()) - 600)
        elif how == "missing":
            response = post_event(evt, header="")
        elif how == "garbage":
            response = post_event(evt, header="t=1,v1=nothex")
        else:
            import json

            from tests.billing.stripe_stub import sign

            header = sign(json.dumps(evt), SECRET)
            evt["data"]["object"]["status"] = "active"  # body changed after signing
            response = post_event(evt, header=header)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert not callbacks
    assert FirmBilling.objects.filter(firm=acme).values().get() == before


def test_without_a_webhook_secret_every_delivery_is_refused(settings, acme):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = post_event(event("invoice.paid", {"customer": "cus_x"}))
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_the_webhook_secret_alone_is_enough_to_verify(
    settings, acme, django_capture_on_commit_callbacks
):
    """Billing off (no secret key), webhook secret set: events verify and are recorded."""
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    evt = event("customer.created", {"id": "cus_x"})
    with django_capture_on_commit_callbacks() as callbacks:
        assert post_event(evt).status_code == 200
    assert WebhookEvent.objects.get().event_id == evt["id"]
    assert len(callbacks) == 1


# --- recording and idempotency -------------------------------------------------------------


def test_only_the_event_row_id_goes_to_the_broker(
    billing_on, acme, monkeypatch, django_capture_on_commit_callbacks
):
    from billing import tasks

    sent = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda *a, **k: sent.append((a, k)))
    evt = event("invoice.paid", {"customer": "cus_x", "customer_email": "owner@acme.test"})
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(evt).status_code == 200
    row = WebhookEvent.objects.get()
    assert sent == [((row.pk,), {})]
    assert row.payload["data"]["object"]["customer_email"] == "owner@acme.test"  # kept in the DB


def test_an_unknown_event_type_is_acknowledged_recorded_and_ignored(
    billing_on, django_capture_on_commit_callbacks
):
    evt = event("radar.early_fraud_warning.created", {"id": "issfr_1"})
    pk = deliver(evt, django_capture_on_commit_callbacks)
    row = WebhookEvent.objects.get(pk=pk)
    assert (row.state, row.note, row.type) == ("ignored", "unhandled_type", evt["type"])


def test_an_event_for_a_customer_we_do_not_know_is_ignored(
    billing_on, acme, django_capture_on_commit_callbacks
):
    sub = {"id": "sub_elsewhere", "object": "subscription", "customer": "cus_unknown",
           "status": "active", "metadata": {}, "items": {"data": []}}  # fmt: skip
    pk = deliver(event("customer.subscription.updated", sub), django_capture_on_commit_callbacks)
    row = WebhookEvent.objects.get(pk=pk)
    assert (row.state, row.note, row.firm) == ("ignored", "unknown_customer", None)
    assert not FirmBilling.objects.exclude(stripe_customer_id="").exclude(firm=acme).exists()


def test_a_duplicate_delivery_changes_nothing(billing_on, acme, django_capture_on_commit_callbacks):
    sub = subscribe(acme, billing_on, status="active")
    billing_on.set_status(sub["id"], "past_due")
    evt = event("invoice.payment_failed", {"customer": sub["customer"], "subscription": sub["id"]})
    deliver(evt, django_capture_on_commit_callbacks)
    first = billing_of(acme)
    assert first.status == Status.PAST_DUE and first.grace_until is not None

    # Stripe fixes the card; then the old failure is delivered again (retry or replay).
    billing_on.set_status(sub["id"], "active")
    deliver(event("invoice.paid", {"customer": sub["customer"], "subscription": sub["id"]}),
            django_capture_on_commit_callbacks)  # fmt: skip
    with django_capture_on_commit_callbacks() as callbacks:
        assert post_event(evt).status_code == 200
    assert not callbacks  # already processed: not queued again
    assert WebhookEvent.objects.filter(event_id=evt["id"]).count() == 1
    assert billing_of(acme).status == Status.ACTIVE and billing_of(acme).grace_until is None


def test_processing_the_same_event_twice_changes_nothing(
    billing_on, acme, django_capture_on_commit_callbacks
):
    sub = subscribe(acme, billing_on, status="active")
    pk = deliver(event("invoice.paid", {"customer": sub["customer"], "subscription": sub["id"]}),
                 django_capture_on_commit_callbacks)  # fmt: skip
    row = WebhookEvent.objects.get(pk=pk)
    requests = len(billing_on.requests)
    assert services.process_event(pk) == "processed"
    assert len(billing_on.requests) == requests  # not applied again: no call to Stripe
    assert WebhookEvent.objects.get(pk=pk).attempts == row.attempts == 1


# --- order ----------------------------------------------------------------------------------


def test_invoice_paid_before_subscription_created_is_still_applied(
    billing_on, acme, django_capture_on_commit_callbacks
):
    """The subscription is read from the API, so whichever event comes first applies the
    subscription's current state, and the late one changes nothing."""
    url = services.checkout_start(firm=acme, plan_code="standard", email="o@acme.test")
    session = next(s for s in billing_on.sessions.values() if s["url"] == url)
    created = time.time()
    sub = billing_on.complete_checkout(session["id"], status="trialing")
    billing_on.set_status(sub["id"], "active")  # trial skipped: paid straight away

    deliver(event("invoice.paid", {"customer": sub["customer"], "subscription": sub["id"]},
                  created=int(created) + 2), django_capture_on_commit_callbacks)  # fmt: skip
    assert (billing_of(acme).status, billing_of(acme).plan) == (Status.ACTIVE, "standard")
    deliver(event("customer.subscription.created", sub, created=int(created)),
            django_capture_on_commit_callbacks)  # fmt: skip
    deliver(event("checkout.session.completed", {**session, "subscription": sub["id"]},
                  created=int(created)), django_capture_on_commit_callbacks)  # fmt: skip
    record = billing_of(acme)
    assert (record.status, record.stripe_subscription_id) == (Status.ACTIVE, sub["id"])


def test_without_an_api_key_an_older_state_is_not_applied_over_a_newer_one(
    billing_on, acme, settings, django_capture_on_commit_callbacks
):
    sub = subscribe(acme, billing_on, status="trialing")
    settings.STRIPE_SECRET_KEY = ""  # webhook secret only: the event's snapshot is used
    now = int(time.time()) + 5
    deliver(event("customer.subscription.updated", {**sub, "status": "past_due"}, created=now),
            django_capture_on_commit_callbacks)  # fmt: skip
    pk = deliver(event("customer.subscription.created", {**sub, "status": "trialing"},
                       created=now - 60), django_capture_on_commit_callbacks)  # fmt: skip
    settings.STRIPE_SECRET_KEY = "sk_test_stub"
    assert billing_of(acme).status == Status.PAST_DUE
    assert WebhookEvent.objects.get(pk=pk).note == "older_state"


# --- checkout completed twice -----------------------------------------------------------------


def test_the_same_checkout_completed_twice_makes_one_subscription(
    billing_on, acme, django_capture_on_commit_callbacks
):
    url = services.checkout_start(firm=acme, plan_code="standard", email="o@acme.test")
    session = next(s for s in billing_on.sessions.values() if s["url"] == url)
    sub = billing_on.complete_checkout(session["id"], status="trialing")
    done = {**session, "subscription": sub["id"], "status": "complete"}
    deliver(event("checkout.session.completed", done), django_capture_on_commit_callbacks)
    deliver(event("checkout.session.completed", done), django_capture_on_commit_callbacks)
    assert billing_of(acme).stripe_subscription_id == sub["id"]
    assert billing_of(acme).status == Status.TRIALING
    assert not billing_on.calls("DELETE", "/v1/subscriptions")


def test_a_second_checkout_in_another_tab_is_canceled_not_charged(
    billing_on, acme, django_capture_on_commit_callbacks
):
    first_url = services.checkout_start(firm=acme, plan_code="standard", email="o@acme.test")
    second_url = services.checkout_start(firm=acme, plan_code="standard", email="o@acme.test")
    first, second = (next(s for s in billing_on.sessions.values() if s["url"] == url)
                     for url in (first_url, second_url))  # fmt: skip
    assert first["customer"] == second["customer"]  # one customer per firm
    sub1 = billing_on.complete_checkout(first["id"])
    sub2 = billing_on.complete_checkout(second["id"])
    for session, sub in ((first, sub1), (second, sub2)):
        deliver(event("checkout.session.completed", {**session, "subscription": sub["id"]}),
                django_capture_on_commit_callbacks)  # fmt: skip
    assert billing_of(acme).stripe_subscription_id == sub1["id"]
    assert billing_on.subscriptions[sub2["id"]]["status"] == "canceled"
    assert billing_on.subscriptions[sub1["id"]]["status"] == "trialing"
    row = WebhookEvent.objects.order_by("-pk").first()
    assert row.note == "duplicate_subscription_canceled"
    # The canceled duplicate's own deletion event later changes nothing either.
    deliver(event("customer.subscription.deleted", billing_on.subscriptions[sub2["id"]]),
            django_capture_on_commit_callbacks)  # fmt: skip
    assert billing_of(acme).status == Status.TRIALING


def test_a_stripe_outage_leaves_the_event_to_be_retried(
    billing_on, acme, django_capture_on_commit_callbacks
):
    import stripe

    sub = subscribe(acme, billing_on, status="active")
    evt = event("invoice.paid", {"customer": sub["customer"], "subscription": sub["id"]})
    with django_capture_on_commit_callbacks():
        post_event(evt)
    row = WebhookEvent.objects.get(event_id=evt["id"])
    billing_on.fail_next = 10  # more than the SDK's own retries
    with pytest.raises(stripe.StripeError):
        services.process_event(row.pk)
    assert WebhookEvent.objects.get(pk=row.pk).state == "received"
    billing_on.fail_next = 0
    assert services.process_event(row.pk) == "processed"


def test_the_task_marks_a_malformed_event_failed_without_raising(billing_on, acme):
    from billing.tasks import process_webhook_event
    from firms.models import Firm

    services.billing_for(acme)
    FirmBilling.objects.filter(firm=acme).update(stripe_customer_id="cus_acme")
    row = WebhookEvent.objects.create(
        event_id="evt_bad", type="invoice.paid", created="2025-01-01T00:00:00Z",
        payload={"data": {"object": ["not", "an object"]}},
    )  # fmt: skip
    assert process_webhook_event.apply(args=[row.pk]).get() == "failed"
    row.refresh_from_db()
    assert (row.state, row.note) == ("failed", "error:AttributeError")
    assert Firm.objects.filter(pk=acme.pk).exists()
