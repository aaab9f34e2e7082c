"""Plan limits and non-payment refuse only new data, with a clear way forward; reveal,
export and deletion keep working whatever the billing state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import FirmBilling, Status
from tenants.custody.models import Person
from tests.billing.conftest import subscribe
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
PERSON_FORM = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": "1990-04-01",
}


def add_people(firm, count: int) -> None:
    with tenant_context(firm):
        for i in range(count):
            Person.objects.create(kind="employee", family_name=f"社員{i}", given_name="一郎",
                                  family_name_kana="シャイン", given_name_kana="イチロウ")  # fmt: skip


def people_in(firm) -> int:
    with tenant_context(firm):
        return Person.objects.count()


def api_client(firm, user) -> Client:
    from accounts.api_tokens import api_token_create

    raw = api_token_create(firm=firm, user=user, scopes=["read", "write"], name="payroll")[1]
    return Client(HTTP_HOST=f"{firm.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_sixth_person_on_free_is_refused_with_an_upgrade_prompt(billing_on, acme, harry, alice):
    add_people(acme, 4)
    client = signed_in_firm_client(harry, acme)
    assert client.post("/people/new/", PERSON_FORM).status_code == 302  # the 5th
    assert people_in(acme) == 5

    page = client.post("/people/new/", PERSON_FORM, follow=True).content.decode()
    assert "フリープランで登録できるのは5名までです" in page
    assert "スタンダードプラン" in page
    assert people_in(acme) == 5
    # Every page says so, and the owner gets the way to the plans.
    assert "フリープランの上限（5名）に達しました" in client.get("/").content.decode()
    owner_page = signed_in_firm_client(alice, acme).get("/").content.decode()
    assert 'href="/billing/"' in owner_page

    response = api_client(acme, harry).post(
        "/api/v1/people/", {k: v for k, v in PERSON_FORM.items()}, content_type="application/json"
    )
    assert response.status_code == 402
    assert response.json()["code"] == "plan_limit"
    assert "スタンダードプラン" in response.json()["detail"]
    assert people_in(acme) == 5


def test_an_import_that_would_pass_the_free_limit_is_refused_whole(billing_on, in_acme):
    from billing.errors import BillingBlocked
    from tenants.auditlog.services import Actor
    from tenants.custody.importing import ImportRow, people_import

    rows = [ImportRow(kind="employee", family_name=f"姓{i}", given_name="名",
                      family_name_kana="セイ", given_name_kana="メイ") for i in range(6)]  # fmt: skip
    with pytest.raises(BillingBlocked) as refused:
        people_import(actor=Actor.system("test"), firm=in_acme, rows=rows)
    assert refused.value.code == "plan_limit"
    assert Person.objects.count() == 0
    assert people_import(actor=Actor.system("test"), firm=in_acme, rows=rows[:5]) == 5


def test_on_standard_there_is_no_people_limit(billing_on, acme, harry):
    subscribe(acme, billing_on, status="active")
    add_people(acme, 5)
    client = signed_in_firm_client(harry, acme)
    assert client.post("/people/new/", PERSON_FORM).status_code == 302
    assert people_in(acme) == 6


def test_with_billing_off_every_firm_is_on_the_default_plan(acme, harry, settings):
    assert settings.STRIPE_SECRET_KEY == ""
    add_people(acme, 5)
    client = signed_in_firm_client(harry, acme)
    assert client.post("/people/new/", PERSON_FORM).status_code == 302
    assert 'id="billing-banner"' not in client.get("/").content.decode()


def test_the_default_plan_can_be_free(acme, harry, settings):
    settings.BILLING_DEFAULT_PLAN = "free"
    add_people(acme, 5)
    page = signed_in_firm_client(harry, acme).post("/people/new/", PERSON_FORM, follow=True)
    assert "フリープランで登録できるのは5名までです" in page.content.decode()


def register_number(client) -> int:
    response = client.post("/people/new/", PERSON_FORM)
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    response = client.post(
        f"/people/{pk}/number/", {"my_number": NUMBER, "purposes": ["withholding_slip"]}
    )
    assert response.status_code == 302
    return pk


def test_past_due_gives_a_grace_period_then_read_only_with_reveal_still_working(
    billing_on, acme, harry, quantity_sync_inline
):
    sub = subscribe(acme, billing_on, status="active")
    client = signed_in_firm_client(harry, acme)
    pk = register_number(client)

    billing_on.set_status(sub["id"], "past_due")
    from billing import services

    services.reconcile_subscription(acme, sub["id"], snapshot=None, as_of=timezone.now())
    record = FirmBilling.objects.get(firm=acme)
    assert record.status == Status.PAST_DUE
    assert record.grace_until > timezone.now() + timedelta(days=13)
    # In the grace period: a warning, and new data is still accepted.
    banner = client.get("/people/").content.decode()
    assert "お支払いが確認できていません" in banner
    assert client.post("/people/new/", PERSON_FORM).status_code == 302

    # Grace over: read-only.
    FirmBilling.objects.filter(firm=acme).update(grace_until=timezone.now() - timedelta(minutes=1))
    count = people_in(acme)
    page = client.post("/people/new/", PERSON_FORM, follow=True).content.decode()
    assert "猶予期間が終わったため、新しい登録はできません" in page
    assert people_in(acme) == count
    refused = client.post(f"/people/{pk}/number/", {"my_number": "987654321018",
                                                    "purposes": ["withholding_slip"]})  # fmt: skip
    assert refused.status_code == 400
    api = api_client(acme, harry).post("/api/v1/people/", PERSON_FORM,
                                       content_type="application/json")  # fmt: skip
    assert (api.status_code, api.json()["code"]) == (402, "read_only")

    # Legal duties go on: reveal, export and deletion.
    revealed = client.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"})
    assert revealed.status_code == 200 and "1234-5678-9018" in revealed.content.decode()
    export = client.post("/exports/", {"purpose": "withholding_slip", "people": [pk]})
    assert export.status_code == 200
    assert NUMBER in b"".join(export.streaming_content).decode("utf-8-sig")
    assert client.post(f"/people/{pk}/delete/").status_code == 302
    assert people_in(acme) == count - 1

    # Paid again: writable.
    billing_on.set_status(sub["id"], "active")
    services.reconcile_subscription(acme, sub["id"], snapshot=None, as_of=timezone.now())
    assert client.post("/people/new/", PERSON_FORM).status_code == 302


def test_canceled_is_read_only_and_reveal_keeps_working(
    billing_on, acme, harry, quantity_sync_inline, django_capture_on_commit_callbacks
):
    from tests.billing.conftest import deliver
    from tests.billing.stripe_stub import event

    sub = subscribe(acme, billing_on, status="active")
    client = signed_in_firm_client(harry, acme)
    pk = register_number(client)
    canceled = billing_on.set_status(sub["id"], "canceled")
    deliver(event("customer.subscription.deleted", canceled), django_capture_on_commit_callbacks)
    assert FirmBilling.objects.get(firm=acme).status == Status.CANCELED

    page = client.post("/people/new/", PERSON_FORM, follow=True).content.decode()
    assert "解約されているため、新しい登録はできません" in page
    revealed = client.post(f"/people/{pk}/reveal/", {"purpose": "withholding_slip"})
    assert revealed.status_code == 200 and "1234-5678-9018" in revealed.content.decode()
    # Nothing was deleted by the cancellation.
    assert people_in(acme) == 1
