"""The Stripe client. Billing is on only with STRIPE_SECRET_KEY; STRIPE_API_BASE points the
real SDK elsewhere (the tests' local stub, or stripe-mock)."""

from __future__ import annotations

import stripe
from django.conf import settings


def billing_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else None,
        # The SDK sends an idempotency key with POSTs and retries network errors with it.
        max_network_retries=2,
    )
