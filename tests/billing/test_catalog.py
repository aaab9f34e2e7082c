"""billing_sync_stripe makes the Stripe catalog from the plans and can run on every deploy."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from billing import plans

pytestmark = pytest.mark.django_db


def test_running_the_command_twice_leaves_one_product_and_one_price_per_plan(settings, stripe_stub):
    settings.STRIPE_SECRET_KEY = "sk_test_stub"
    settings.STRIPE_API_BASE = stripe_stub.url
    call_command("billing_sync_stripe")
    call_command("billing_sync_stripe")

    paid = [plan.code for plan in plans.PAID_PLANS]
    assert sorted(p["metadata"]["app_plan"] for p in stripe_stub.products.values()) == sorted(paid)
    assert len(stripe_stub.prices) == len(paid)
    assert len(stripe_stub.tax_rates) == 1
    assert len(stripe_stub.calls("POST", "/v1/products")) == len(
        paid
    )  # created once, never updated
    standard = next(
        p for p in stripe_stub.prices.values() if p["metadata"]["app_plan"] == "standard"
    )
    assert (standard["unit_amount"], standard["currency"], standard["lookup_key"]) == (
        300,
        "jpy",
        "mnc_standard_monthly",
    )
    assert standard["recurring"]["interval"] == "month"
    (rate,) = stripe_stub.tax_rates.values()
    assert (rate["percentage"], rate["inclusive"], rate["country"]) == (10.0, "false", "JP")


def test_a_new_amount_is_a_new_price_that_takes_the_lookup_key(settings, stripe_stub, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_stub"
    settings.STRIPE_API_BASE = stripe_stub.url
    call_command("billing_sync_stripe")
    old = next(p for p in stripe_stub.prices.values() if p["lookup_key"] == "mnc_standard_monthly")
    changed = plans.Plan(**{**plans.PLANS["standard"].__dict__, "unit_amount": 350})
    monkeypatch.setitem(plans.PLANS, "standard", changed)
    monkeypatch.setattr(plans, "PAID_PLANS", [changed, plans.PLANS["accountant"]])
    monkeypatch.setattr("billing.catalog.PAID_PLANS", plans.PAID_PLANS)
    call_command("billing_sync_stripe")

    current = [p for p in stripe_stub.prices.values() if p["lookup_key"] == "mnc_standard_monthly"]
    assert [p["unit_amount"] for p in current] == [350]
    assert old["active"] is False and old["lookup_key"] is None


def test_the_command_refuses_without_a_secret_key(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError):
        call_command("billing_sync_stripe")


def test_prices_show_the_consumption_tax():
    standard = plans.PLANS["standard"]
    assert (standard.unit_amount, standard.unit_amount_with_tax) == (300, 330)
    assert plans.PLANS["accountant"].unit_amount_with_tax == 2200
    assert plans.PLANS["free"].max_people == 5
