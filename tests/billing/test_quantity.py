"""The billed quantity follows the people holding a number: synced after each change and
daily, with no call to Stripe when nothing changed."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Role
from billing import services, tasks
from billing.models import FirmBilling
from tenants.auditlog.services import Actor
from tenants.custody import services as custody
from tenants.custody.models import Person
from tests.billing.conftest import subscribe

pytestmark = pytest.mark.django_db
NUMBERS = ["123456789018", "987654321018", "111111111118"]


def stripe_quantity(stub, firm) -> int:
    record = FirmBilling.objects.get(firm=firm)
    return stub.subscriptions[record.stripe_subscription_id]["items"]["data"][0]["quantity"]


def person() -> Person:
    return Person.objects.create(kind="employee", family_name="山田", given_name="花子",
                                 family_name_kana="ヤマダ", given_name_kana="ハナコ")  # fmt: skip


def test_quantity_follows_numbers_set_and_people_deleted(
    billing_on, acme, harry, quantity_sync_inline, django_capture_on_commit_callbacks
):
    subscribe(acme, billing_on, status="active")
    actor = Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER)
    with tenant_context(acme):
        people = [person() for _ in NUMBERS]
        for who, number in zip(people, NUMBERS, strict=True):
            with django_capture_on_commit_callbacks(execute=True):
                custody.number_set(actor=actor, firm=acme, person=who, raw=number,
                                   purpose_codes=None)  # fmt: skip
        assert stripe_quantity(billing_on, acme) == 3
        with django_capture_on_commit_callbacks(execute=True):
            custody.person_delete(actor=actor, person=people[0])
    assert stripe_quantity(billing_on, acme) == 2
    assert FirmBilling.objects.get(firm=acme).quantity_synced == 2


def test_an_import_syncs_once(
    billing_on, acme, quantity_sync_inline, django_capture_on_commit_callbacks
):
    from tenants.custody.importing import ImportRow, people_import

    subscribe(acme, billing_on, status="active")
    rows = [ImportRow(kind="employee", family_name="姓", given_name="名", family_name_kana="セイ",
                      given_name_kana="メイ", my_number=n) for n in NUMBERS]  # fmt: skip
    updates = len(billing_on.calls("POST", "/v1/subscriptions/"))
    with tenant_context(acme), django_capture_on_commit_callbacks(execute=True):
        people_import(actor=Actor.system("test"), firm=acme, rows=rows)
    assert stripe_quantity(billing_on, acme) == 3
    assert len(billing_on.calls("POST", "/v1/subscriptions/")) == updates + 1


def test_the_daily_sync_catches_up_and_skips_firms_already_in_line(
    billing_on, acme, globex, monkeypatch
):
    subscribe(acme, billing_on, status="active")
    subscribe(globex, billing_on, status="trialing")
    with tenant_context(acme):
        for number in NUMBERS[:2]:
            who = person()
            custody.number_set(actor=Actor.system("test"), firm=acme, person=who, raw=number,
                               purpose_codes=None)  # fmt: skip
    # The per-change sync was lost (never committed here); the daily run fixes it.
    monkeypatch.setattr(tasks.sync_quantity, "delay", lambda firm_id: tasks.sync_quantity.apply(
        args=[firm_id]).get())  # fmt: skip
    assert tasks.sync_all_quantities.apply().get() == 2
    assert stripe_quantity(billing_on, acme) == 2
    assert stripe_quantity(billing_on, globex) == 0
    before = len(billing_on.calls("POST", "/v1/subscriptions/"))
    tasks.sync_all_quantities.apply().get()
    assert len(billing_on.calls("POST", "/v1/subscriptions/")) == before  # nothing changed


def test_no_sync_is_queued_for_a_firm_without_a_subscription_or_with_billing_off(
    billing_on, in_acme, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.headcount_changed(in_acme)
    assert not callbacks
    settings.STRIPE_SECRET_KEY = ""
    with django_capture_on_commit_callbacks() as callbacks:
        services.headcount_changed(in_acme)
    assert not callbacks


def test_an_accounting_practice_is_billed_per_client_firm(billing_on, acme):
    subscribe(acme, billing_on, status="active", plan="accountant")
    record = FirmBilling.objects.get(firm=acme)
    assert record.plan == "accountant"
    # No practice bills through acme yet: nothing to count (tests/billing/
    # test_practice_billing.py follows the count as clients come and go).
    assert services.billed_quantity(acme) == services.practice_client_count(acme) == 0
