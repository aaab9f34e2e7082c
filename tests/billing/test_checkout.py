"""The firm's billing page: plans with tax shown, Checkout with a trial, the customer portal,
the registration number on invoices; only the firm's owner reaches any of it."""

from __future__ import annotations

import pytest

from billing.models import FirmBilling, Status
from tests.billing.conftest import REGISTRATION_NUMBER
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db


def test_owner_sees_the_plans_with_consumption_tax(billing_on, acme, alice):
    page = signed_in_firm_client(alice, acme).get("/billing/").content.decode()
    assert "¥330" in page and "税抜 ¥300" in page  # Standard, per person, tax included
    assert "¥2,200" in page
    assert "このプランに申し込む" in page


def test_checkout_starts_a_trial_subscription_and_comes_back_to_the_firm(billing_on, acme, alice):
    client = signed_in_firm_client(alice, acme)
    response = client.post("/billing/checkout/", {"plan": "standard"})
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/")

    (session,) = billing_on.sessions.values()
    assert session["mode"] == "subscription"
    assert session["client_reference_id"] == str(acme.pk)
    assert session["subscription_data"]["trial_period_days"] == "30"
    assert session["line_items"][0]["tax_rates"] == list(billing_on.tax_rates)
    assert session["success_url"].startswith("http://acme.localhost:8000/billing/return/")
    (customer,) = billing_on.customers.values()
    assert customer["invoice_settings"]["custom_fields"] == [
        {"name": "適格請求書発行事業者登録番号", "value": REGISTRATION_NUMBER}
    ]
    assert customer["metadata"] == {"firm_id": str(acme.pk), "firm_slug": "acme"}

    billing_on.complete_checkout(session["id"], status="trialing")
    back = client.get(f"/billing/return/?session_id={session['id']}", follow=True)
    assert "ご契約を開始しました" in back.content.decode()
    record = FirmBilling.objects.get(firm=acme)
    assert (record.status, record.plan, record.stripe_customer_id) == (
        Status.TRIALING, "standard", customer["id"]
    )  # fmt: skip
    assert record.trial_end is not None

    # Subscribed: no second Checkout; the portal instead.
    again = client.post("/billing/checkout/", {"plan": "standard"}, follow=True)
    assert "既にご契約中です" in again.content.decode()
    assert len(billing_on.sessions) == 1
    portal = client.post("/billing/portal/")
    assert portal["Location"].startswith("https://billing.stripe.com/")
    (portal_session,) = billing_on.portal_sessions.values()
    assert portal_session["customer"] == customer["id"]


def test_a_return_with_another_firms_session_applies_nothing(billing_on, acme, globex, alice):
    from billing import services

    url = services.checkout_start(firm=globex, plan_code="standard", email="g@globex.test")
    session = next(s for s in billing_on.sessions.values() if s["url"] == url)
    billing_on.complete_checkout(session["id"])
    signed_in_firm_client(alice, acme).get(f"/billing/return/?session_id={session['id']}")
    assert not FirmBilling.objects.filter(firm=acme, status=Status.TRIALING).exists()


def test_an_unknown_plan_and_free_cannot_be_checked_out(billing_on, acme, alice):
    client = signed_in_firm_client(alice, acme)
    for plan in ("free", "platinum", ""):
        page = client.post("/billing/checkout/", {"plan": plan}, follow=True).content.decode()
        assert "お申し込みできるプランから選んでください" in page
    assert not billing_on.sessions


def test_stripe_down_gives_a_clear_message(billing_on, acme, alice):
    billing_on.fail_next = 50
    page = signed_in_firm_client(alice, acme).post(
        "/billing/checkout/", {"plan": "standard"}, follow=True
    )
    assert "決済サービスに接続できませんでした" in page.content.decode()


def test_only_the_firms_owner_reaches_billing(billing_on, acme, alice, harry, globex, gina):
    handler = signed_in_firm_client(harry, acme)
    outsider = signed_in_firm_client(gina, globex)
    outsider.defaults["HTTP_HOST"] = "acme.localhost"  # Globex's owner tries Acme's host
    # A member who is not the owner is refused (403, on the firm's record); someone from
    # another firm does not learn the firm exists (404).
    for client, status in ((handler, 403), (outsider, 404)):
        assert client.get("/billing/").status_code == status
        assert client.post("/billing/checkout/", {"plan": "standard"}).status_code == status
        assert client.post("/billing/portal/").status_code == status
    assert not billing_on.sessions and not billing_on.customers
    # Gina's own firm page works and shows Globex, not Acme.
    own = signed_in_firm_client(gina, globex).get("/billing/")
    assert own.status_code == 200 and "アクメ" not in own.content.decode()


def test_with_billing_off_the_page_says_so_and_calls_nothing(acme, alice, stripe_stub, settings):
    settings.STRIPE_API_BASE = stripe_stub.url
    page = signed_in_firm_client(alice, acme).get("/billing/").content.decode()
    assert "オンライン決済を利用していません" in page
    assert "このプランに申し込む" not in page
    assert not stripe_stub.requests


def test_the_public_pricing_page_shows_the_plans_with_tax(db):
    from django.test import Client

    page = Client(HTTP_HOST="localhost").get("/pricing/").content.decode()
    assert "¥330" in page and "¥2,200" in page and "5名まで" in page


def test_a_new_firms_owner_is_asked_to_choose_a_plan(billing_on, acme, alice, harry):
    from tests.helpers import signed_in_firm_client

    page = signed_in_firm_client(alice, acme).get("/").content.decode()
    assert "まずご契約のプランを選んでください" in page and 'href="/billing/"' in page
    assert (
        "まずご契約のプランを選んでください"
        not in signed_in_firm_client(harry, acme).get("/").content.decode()
    )
