"""A signed webhook is processed by a real Celery worker process, which reads the
subscription from the Stripe stub running in this test process."""

from __future__ import annotations

import time
import uuid

import pytest

from billing import services, tasks
from billing.models import FirmBilling, Status, WebhookEvent
from tests.billing.conftest import SECRET, post_event
from tests.billing.stripe_stub import event
from tests.helpers import make_firm, start_worker, stop_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stub_worker(billing_on, monkeypatch):
    queue = f"test-billing-{uuid.uuid4().hex[:8]}"
    worker = start_worker(
        queue,
        STRIPE_SECRET_KEY="sk_test_stub",
        STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_API_BASE=billing_on.url,
    )
    # The view's enqueue goes to this test's private queue, so a running `make run` worker
    # cannot take the message.
    monkeypatch.setattr(
        tasks.process_webhook_event,
        "delay",
        lambda pk: tasks.process_webhook_event.apply_async(args=[pk], queue=queue),
    )
    yield billing_on
    stop_worker(worker)


def test_a_webhook_is_processed_by_a_real_worker(stub_worker):
    acme = make_firm("acme")
    url = services.checkout_start(firm=acme, plan_code="standard", email="o@acme.test")
    session = next(s for s in stub_worker.sessions.values() if s["url"] == url)
    sub = stub_worker.complete_checkout(session["id"], status="active")
    # Quantity already right, so the worker queues no follow-up sync on the default queue.
    stub_worker.subscriptions[sub["id"]]["items"]["data"][0]["quantity"] = 0

    evt = event("invoice.paid", {"customer": sub["customer"], "subscription": sub["id"]})
    assert post_event(evt).status_code == 200
    deadline = time.monotonic() + 60
    while WebhookEvent.objects.get(event_id=evt["id"]).state == "received":
        assert time.monotonic() < deadline, "the worker did not process the event within 60 s"
        time.sleep(0.3)
    assert WebhookEvent.objects.get(event_id=evt["id"]).state == "processed"
    record = FirmBilling.objects.get(firm=acme)
    assert (record.status, record.stripe_subscription_id) == (Status.ACTIVE, sub["id"])
