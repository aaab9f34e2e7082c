"""Messages to the person asked for a number, in the language chosen on the request: the
request, a reminder, the new link after a rejection (why, and what to do next), and the
confirmation once a handler verified the submission."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.collection import services
from tenants.collection.models import CollectionRequest, RequestStatus
from tenants.custody.models import MyNumberRecord
from tests.collection.factories import (
    NUMBER,
    anonymous_client,
    handler_actor,
    issue,
    make_person,
    submission,
)
from tests.helpers import firm_host, signed_in_firm_client

from .conftest import after_commit, in_language, no_number, only_message, read

pytestmark = pytest.mark.django_db
EMAIL = "hanako@example.test"
DATE_JA = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
DATE_EN = re.compile(r"\d{1,2} (January|February|March|April|May|June|July|August|September"
                     r"|October|November|December) \d{4}")  # fmt: skip


def submitted(firm, handler, *, language: str = "ja") -> tuple[CollectionRequest, str]:
    """A request answered through its link, with the person's number and documents; and
    the link it was answered through."""
    person = make_person(firm)
    issued = issue(firm, handler, person, email=EMAIL, language=language)
    response = anonymous_client(firm).post(
        urlsplit(issued.url).path, submission([person.pk], [NUMBER])
    )
    assert response.status_code == 302
    mail.outbox.clear()
    with tenant_context(firm):
        request = CollectionRequest.objects.select_related("person").get(pk=issued.request.pk)
    assert request.status == RequestStatus.SUBMITTED
    return request, issued.url


def submit_link(message) -> str:
    [link] = [link for link in message.links() if "/s/" in link]
    return link


def test_the_request_is_japanese_by_default_and_english_when_chosen_on_the_form(acme, harry):
    person = make_person(acme)
    handler = signed_in_firm_client(harry, acme)
    with after_commit():
        handler.post(
            "/collection/new/",
            {"people": [person.pk], "email": EMAIL, "documents": ["number_check"]},
        )
    message = only_message()
    in_language(message, "ja")
    assert message.to == [EMAIL]
    assert "アクメ株式会社からマイナンバー提出のお願い" in message.subject
    assert "山田 花子 様" in message.text and DATE_JA.search(message.text)
    assert urlsplit(submit_link(message)).hostname == firm_host(acme)
    assert submit_link(message) in message.html
    no_number(message)

    mail.outbox.clear()
    other = make_person(acme, given_name="太郎")
    with after_commit():
        handler.post(
            "/collection/new/",
            {"people": [other.pk], "email": "taro@example.test", "language": "en",
             "documents": ["number_check"]},
        )  # fmt: skip
    message = only_message()
    in_language(message, "en")
    assert "Dear 山田 太郎," in message.text and DATE_EN.search(message.text)
    assert "Open the submission page" in message.html
    assert urlsplit(submit_link(message)).hostname == firm_host(acme)


def test_a_reminder_says_it_is_sent_again_in_the_requests_language(acme, harry, settings):
    issue(acme, harry, make_person(acme), email=EMAIL, language="en")
    mail.outbox.clear()
    with tenant_context(acme):
        CollectionRequest.objects.update(
            last_sent_at=timezone.now() - timedelta(days=settings.COLLECTION_REMINDER_DAYS + 1)
        )
        with after_commit():
            assert services.send_due_reminders(acme) == 1
    message = only_message()
    in_language(message, "en")
    assert "sending the link again" in message.text
    assert urlsplit(submit_link(message)).hostname == firm_host(acme)


def test_a_rejection_says_why_and_what_to_do_next_with_a_new_link(acme, harry):
    request, old_link = submitted(acme, harry)
    with tenant_context(acme), after_commit():
        services.request_reject(
            actor=handler_actor(harry),
            firm=acme,
            request=request,
            reason="写真がぼやけて読めません",
        )
    message = only_message()
    in_language(message, "ja")
    assert "再提出のお願い" in message.subject
    assert "写真がぼやけて読めません" in message.text and "写真がぼやけて読めません" in message.html
    assert "新しいリンクからもう一度提出してください" in message.text
    link = submit_link(message)
    assert urlsplit(link).hostname == firm_host(acme) and link != old_link
    no_number(message, NUMBER)


def test_a_rejection_in_english(acme, harry):
    request, _link = submitted(acme, harry, language="en")
    with tenant_context(acme), after_commit():
        services.request_reject(
            actor=handler_actor(harry), firm=acme, request=request, reason="The photo is blurred"
        )
    message = only_message()
    in_language(message, "en")
    assert "Please check the reason and submit again through the new link below" in message.text
    assert "The photo is blurred" in message.text
    # The new request keeps the language: its reminders are in English too.
    with tenant_context(acme):
        assert CollectionRequest.objects.get(pk=request.pk).follow_up.language == "en"


def test_verification_tells_the_person_it_is_done_without_the_number(acme, harry):
    request, _link = submitted(acme, harry)
    with tenant_context(acme), after_commit():
        services.request_approve(
            actor=handler_actor(harry), firm=acme, request=request, method="my_number_card"
        )
        assert MyNumberRecord.objects.filter(person=request.person).exists()  # now held
    message = only_message()
    in_language(message, "ja")
    assert message.to == [EMAIL]
    assert "マイナンバーを受け取り、確認しました" in message.subject
    assert "お手続きはこれで完了です" in message.text and DATE_JA.search(message.text)
    assert "源泉徴収" in message.text  # the purposes it is used for
    assert message.links() == []  # nothing to click: nothing more is needed
    no_number(message, NUMBER)


def test_verification_in_english(acme, harry):
    request, _link = submitted(acme, harry, language="en")
    with tenant_context(acme), after_commit():
        services.request_approve(
            actor=handler_actor(harry), firm=acme, request=request, method="my_number_card"
        )
    message = read(mail.outbox[0])
    in_language(message, "en")
    assert "received and verified" in message.subject
    assert "Nothing more is needed from you." in message.text and DATE_EN.search(message.text)
    no_number(message, NUMBER)


def test_a_request_without_an_email_sends_nothing_when_verified(acme, harry):
    person = make_person(acme)
    issued = issue(acme, harry, person)  # handed over as a QR code
    anonymous_client(acme).post(urlsplit(issued.url).path, submission([person.pk], [NUMBER]))
    with tenant_context(acme), after_commit():
        services.request_approve(
            actor=handler_actor(harry), firm=acme, request=issued.request, method="my_number_card"
        )
    assert mail.outbox == []
