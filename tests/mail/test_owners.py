"""Messages to a firm's owners, each in the owner's own language: the retention sweep's
deletion summary, billing (a failed payment, the subscription ended) and offboarding
started by an operator."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import TestCase
from django_tenants.utils import tenant_context

from accounts.models import Role
from billing import services as billing
from billing.models import WebhookEvent
from firms.offboarding import offboarding_start_by_operator
from tenants.retention import services as retention
from tests.billing.conftest import post_event, subscribe
from tests.billing.stripe_stub import event
from tests.helpers import firm_host, make_user
from tests.retention.conftest import FAR_FUTURE, add_documents, number, person_with_number

from .conftest import after_commit, in_language, no_number, only_message, read

pytestmark = pytest.mark.django_db
ENDED = date(2017, 6, 30)  # every rule's date has passed long before FAR_FUTURE


def speaks(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


# --- retention ------------------------------------------------------------------------------


def sweep(firm) -> retention.SweepResult:
    with tenant_context(firm), after_commit():
        return retention.retention_sweep(firm, now=FAR_FUTURE)


def test_the_sweep_sends_each_owner_one_summary_with_counts_and_no_numbers(acme, alice, harry):
    people = [person_with_number(acme, i, ended=ENDED) for i in (1, 2)]
    add_documents(acme, people[1], count=2)
    person_with_number(acme, 3)  # still employed: kept

    assert sweep(acme).deleted == 2
    message = only_message()  # one message for the run, to the only owner (not the handler)
    assert message.to == [alice.email]
    in_language(message, "ja")
    assert "保存期間を過ぎたマイナンバーを削除しました" in message.subject
    assert "2人分のマイナンバーを削除しました。" in message.text
    assert "本人確認書類の画像を2件削除しました。" in message.text
    assert "2040年6月1日" in message.text
    # Counts only: no names, no numbers, and a link to the records behind the firm's login.
    assert "太郎1" not in message.everything and "太郎2" not in message.everything
    no_number(message, number(1), number(2), number(3))
    [link] = message.links()
    assert urlsplit(link).hostname == firm_host(acme)
    assert urlsplit(link).path == "/retention/deletions/"

    # A second run deletes nothing, and says nothing.
    mail.outbox.clear()
    assert sweep(acme).deleted == 0
    assert mail.outbox == []


def test_each_owner_reads_the_summary_in_their_own_language(acme, alice):
    speaks(make_user("bob@acme.test", firm=acme, role=Role.OWNER), "en")
    person_with_number(acme, 1, ended=ENDED)
    sweep(acme)
    by_recipient = {m.to[0]: read(m) for m in mail.outbox}
    assert sorted(by_recipient) == ["alice@acme.test", "bob@acme.test"]
    in_language(by_recipient["alice@acme.test"], "ja")
    english = by_recipient["bob@acme.test"]
    in_language(english, "en")
    assert "Deleted the My Number of 1 person." in english.text
    assert "1 June 2040" in english.text and "identity document" not in english.text
    assert "Open the deletion records" in english.html
    no_number(english, number(1))


def test_a_sweep_with_nothing_due_sends_nothing(acme, alice):
    person_with_number(acme, 1)
    sweep(acme)
    assert mail.outbox == []


# --- billing --------------------------------------------------------------------------------


def process(evt: dict) -> None:
    """Stripe delivers the event; the task applies it (and the owners' email follows the
    commit)."""
    with TestCase.captureOnCommitCallbacks(execute=False):  # not to the broker
        assert post_event(evt).status_code == 200
    pk = WebhookEvent.objects.get(event_id=evt["id"]).pk
    with after_commit():
        billing.process_event(pk)


def test_a_failed_payment_tells_the_owners_once_with_the_date_and_the_billing_page(
    billing_on, acme, alice, harry
):
    sub = subscribe(acme, billing_on, status="active")
    billing_on.set_status(sub["id"], "past_due")
    failed = event(
        "invoice.payment_failed", {"customer": sub["customer"], "subscription": sub["id"]}
    )
    process(failed)
    message = only_message()
    assert message.to == [alice.email]
    in_language(message, "ja")
    assert "お支払いができませんでした" in message.subject
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日までにお支払い方法を更新してください", message.text)
    assert "保管中のデータが削除されることはありません" in message.text
    [link] = message.links()
    assert urlsplit(link).hostname == firm_host(acme) and urlsplit(link).path == "/billing/"
    no_number(message)

    # The same event again (Stripe retries, or the task runs twice): no second message.
    process(failed)
    billing.process_event(WebhookEvent.objects.get(event_id=failed["id"]).pk)
    assert len(mail.outbox) == 1


def test_a_failed_payment_in_english(billing_on, acme, alice):
    speaks(alice, "en")
    sub = subscribe(acme, billing_on, status="active")
    billing_on.set_status(sub["id"], "past_due")
    process(
        event("invoice.payment_failed", {"customer": sub["customer"], "subscription": sub["id"]})
    )
    message = only_message()
    in_language(message, "en")
    assert "your payment failed" in message.subject
    assert re.search(r"update your payment method by \d{1,2} [A-Z][a-z]+ \d{4}", message.text)


def test_the_end_of_the_subscription_tells_the_owners_the_firm_is_read_only(
    billing_on, acme, alice
):
    speaks(alice, "en")
    sub = subscribe(acme, billing_on, status="active")
    process(event("customer.subscription.deleted", billing_on.set_status(sub["id"], "canceled")))
    message = only_message()
    in_language(message, "en")
    assert "your subscription has ended" in message.subject
    assert (
        "Nothing new can be registered now" in message.text
        and "No data is deleted." in message.text
    )
    assert urlsplit(message.links()[0]).hostname == firm_host(acme)

    # Later events about the ended subscription do not repeat it.
    process(event("customer.subscription.updated", billing_on.set_status(sub["id"], "canceled")))
    assert len(mail.outbox) == 1


# --- offboarding ----------------------------------------------------------------------------


def test_offboarding_started_by_an_operator_tells_each_owner(acme, alice, monkeypatch):
    import firms.offboarding as offboarding

    monkeypatch.setattr(offboarding, "_enqueue_start", lambda record_id: None)
    speaks(make_user("bob@acme.test", firm=acme, role=Role.OWNER), "en")
    olga = make_user("olga@ops.test", operator=True)
    with after_commit():
        offboarding_start_by_operator(operator=olga, firm=acme, reason="契約終了")
    by_recipient = {m.to[0]: read(m) for m in mail.outbox}
    assert sorted(by_recipient) == ["alice@acme.test", "bob@acme.test"]
    japanese, english = by_recipient["alice@acme.test"], by_recipient["bob@acme.test"]
    in_language(japanese, "ja")
    assert "解約手続を運用者が開始しました" in japanese.text
    in_language(english, "en")
    assert "The operator has started the cancellation of アクメ株式会社" in english.text
    for message in (japanese, english):
        [link] = message.links()
        assert urlsplit(link).hostname == firm_host(acme)
        assert urlsplit(link).path == "/offboarding/"
        no_number(message)
