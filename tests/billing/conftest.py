"""Billing tests: the real `stripe` SDK against a local stub of the Stripe API, and webhook
payloads signed exactly as Stripe signs them."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from billing import services
from billing.catalog import sync_catalog
from billing.stripe_api import client
from tests.billing.stripe_stub import StripeStub, event, sign
from tests.helpers import PUBLIC_HOST

SECRET = "whsec_test_secret"
REGISTRATION_NUMBER = "T1234567890123"


@pytest.fixture
def stripe_stub():
    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def billing_on(settings, stripe_stub):
    """Billing with test keys, the catalog made in the stub (as `billing_sync_stripe` does)."""
    settings.STRIPE_SECRET_KEY = "sk_test_stub"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = stripe_stub.url
    settings.STRIPE_INVOICE_REGISTRATION_NUMBER = REGISTRATION_NUMBER
    sync_catalog(client())
    return stripe_stub


@pytest.fixture
def quantity_sync_inline(monkeypatch):
    """The quantity sync runs in the test instead of going to the broker."""
    from firms.models import Firm

    monkeypatch.setattr(
        services,
        "_enqueue_quantity_sync",
        lambda firm_id: services.sync_quantity(Firm.objects.get(pk=firm_id)),
    )


def post_event(evt: dict, *, secret: str = SECRET, timestamp: int | None = None,
               header: str | None = None):  # fmt: skip
    payload = json.dumps(evt)
    signature = header if header is not None else sign(payload, secret, timestamp=timestamp)
    return Client(HTTP_HOST=PUBLIC_HOST).post(
        "/billing/webhook/", payload, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )  # fmt: skip


def deliver(evt: dict, capture) -> int | None:
    """Post a signed event and process it as the task would; returns the event row's pk."""
    from billing.models import WebhookEvent

    with capture() as callbacks:
        response = post_event(evt)
    assert response.status_code == 200, response.content
    row = WebhookEvent.objects.get(event_id=evt["id"])
    if callbacks:
        services.process_event(row.pk)
    return row.pk


def subscribe(firm, stub, *, status: str = "trialing", plan: str = "standard") -> dict:
    """Owner goes through Checkout and Stripe creates the subscription; returns it."""
    url = services.checkout_start(firm=firm, plan_code=plan, email="owner@example.test")
    session = next(s for s in stub.sessions.values() if s["url"] == url)
    sub = stub.complete_checkout(session["id"], status=status)
    assert services.checkout_returned(firm=firm, session_id=session["id"])
    return sub


def subscription_event(kind: str, sub: dict, **kwargs) -> dict:
    return event(kind, sub, **kwargs)


@pytest.fixture
def in_acme(acme):
    with tenant_context(acme):
        yield acme
