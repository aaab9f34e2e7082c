"""The language of a request (issue 18): one of the person's-side languages or blank (not
picked). The request form defaults to the person's language; a language a handler picks (on
the form or through the API) is remembered as the person's, in the request's transaction and
on its log entry; the emails and reminders speak it (accounts.mail.person_language_of); other
firms are untouched."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.mail import language_of, person_language_of
from tenants.auditlog.models import AccessLogEntry
from tenants.collection import emails, services
from tenants.collection.errors import AlreadyRequested
from tenants.collection.models import CollectionRequest
from tenants.custody.models import Person
from tests.api.test_api import api, token
from tests.helpers import signed_in_firm_client

from .factories import committing, handler_actor, issue, make_person

EMAIL = "hanako@example.test"


def selected(page: str) -> str:
    """The value of the request form's selected language."""
    select = re.search(r'<select name="language".*?</select>', page, re.S)
    assert select is not None
    found = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    assert found is not None
    return found.group(1)


def language_of_person(firm, pk: int) -> str:
    with tenant_context(firm):
        return Person.objects.get(pk=pk).language


def request_entry(firm, request_pk: int) -> dict:
    with tenant_context(firm):
        entry = AccessLogEntry.objects.get(action="request", detail__request=request_pk)
    return entry.detail


# --- the email language (no database) --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "language"),
    [
        ("vi", "vi"),
        ("ja-easy", "ja-easy"),
        ("zh-hans", "zh-hans"),
        ("ZH-HANT", "zh-hant"),
        ("pt_br", "pt-br"),
        ("vi-VN", "vi"),
        ("en", "en"),
        ("", "ja"),
        (None, "ja"),
        ("fr", "ja"),
    ],
)
def test_person_emails_speak_every_person_language_and_japanese_otherwise(value, language):
    assert person_language_of(value) == language


def test_staff_emails_stay_in_the_staff_languages():
    assert language_of("vi") == "ja" and language_of("en-us") == "en"


# --- the form --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_defaults_to_the_persons_language_and_offers_every_language(acme, harry):
    client = signed_in_firm_client(harry, acme)
    with_language = make_person(acme, language="vi")
    without = make_person(acme, given_name="太郎")
    page = client.get(f"/collection/new/?person={with_language.pk}").content.decode()
    assert selected(page) == "vi" and "本人向けの言語" in page
    assert '<option value="my">မြန်မာဘာသာ</option>' in page
    assert selected(client.get(f"/collection/new/?person={without.pk}").content.decode()) == ""
    assert selected(client.get("/collection/new/").content.decode()) == ""


@pytest.mark.django_db
def test_a_language_picked_on_the_form_is_remembered_on_the_person(acme, harry):
    person = make_person(acme)
    client = signed_in_firm_client(harry, acme)
    with committing():
        response = client.post(
            "/collection/new/",
            {"people": [person.pk], "email": EMAIL, "language": "zh-hant",
             "documents": ["number_check"]},
        )  # fmt: skip
    assert response.status_code == 302
    assert language_of_person(acme, person.pk) == "zh-hant"
    with tenant_context(acme):
        request = CollectionRequest.objects.get()
    assert request.language == "zh-hant"
    detail = request_entry(acme, request.pk)
    assert detail["language"] == "zh-hant" and detail["language_remembered"] is True
    [message] = mail.outbox
    assert '<html lang="zh-Hant">' in message.alternatives[0][0]
    assert message.extra_headers["Content-Language"] == "zh-Hant"
    assert message.subject.startswith("[個人編號保管] ")
    # The next request for them starts from it.
    page = client.get(f"/collection/new/?person={person.pk}").content.decode()
    assert selected(page) == "zh-hant"


@pytest.mark.django_db
def test_not_picked_uses_the_persons_language_and_changes_nothing(acme, harry):
    speaks = make_person(acme, language="ne")
    silent = make_person(acme, given_name="太郎")
    client = signed_in_firm_client(harry, acme)
    with committing():
        client.post("/collection/new/",
                    {"people": [speaks.pk, silent.pk], "documents": ["number_check"]})  # fmt: skip
    with tenant_context(acme):
        requests = dict(CollectionRequest.objects.values_list("person_id", "language"))
    assert requests == {speaks.pk: "ne", silent.pk: ""}
    assert language_of_person(acme, speaks.pk) == "ne"
    assert language_of_person(acme, silent.pk) == ""
    with tenant_context(acme):
        entries = AccessLogEntry.objects.filter(action="request")
        assert all("language_remembered" not in entry.detail for entry in entries)


@pytest.mark.django_db
def test_a_bulk_request_with_a_language_remembers_it_for_each_or_for_nobody(acme, harry):
    one = make_person(acme, language="ko")
    two = make_person(acme, given_name="太郎")
    client = signed_in_firm_client(harry, acme)
    client.post("/collection/new/",
                {"people": [one.pk, two.pk], "language": "fil", "documents": ["number_check"]})  # fmt: skip
    assert language_of_person(acme, one.pk) == "fil" and language_of_person(acme, two.pk) == "fil"
    # A refused batch (one of them already has an open request) remembers nothing.
    three = make_person(acme, given_name="三郎")
    response = client.post(
        "/collection/new/",
        {"people": [three.pk, one.pk], "language": "en", "documents": ["number_check"]},
    )
    assert "回答待ちの依頼が既にあります" in response.content.decode()
    assert language_of_person(acme, three.pk) == "" and language_of_person(acme, one.pk) == "fil"


@pytest.mark.django_db
def test_a_refused_request_leaves_the_persons_language_as_it_was(acme, harry):
    person = make_person(acme, language="vi")
    issue(acme, harry, person)
    with tenant_context(acme), pytest.raises(AlreadyRequested):
        services.request_create(actor=handler_actor(harry), firm=acme, person=person,
                                language="en")  # fmt: skip
    assert language_of_person(acme, person.pk) == "vi"


# --- emails and reminders --------------------------------------------------------------------


@pytest.mark.django_db
def test_emails_without_a_language_are_japanese_and_follow_one_picked_later(acme, harry, settings):
    person = make_person(acme)
    issued = issue(acme, harry, person, email=EMAIL)
    [message] = mail.outbox
    assert issued.request.language == "" and message.extra_headers["Content-Language"] == "ja"
    # The person's language is set later (their page, the API): the reminders speak it.
    with tenant_context(acme):
        Person.objects.filter(pk=person.pk).update(language="id")
        CollectionRequest.objects.update(
            last_sent_at=timezone.now() - timedelta(days=settings.COLLECTION_REMINDER_DAYS + 1)
        )
        assert emails.language_for(CollectionRequest.objects.get()) == "id"
        mail.outbox.clear()
        with committing():
            assert services.send_due_reminders(acme) == 1
    [reminder] = mail.outbox
    assert reminder.extra_headers["Content-Language"] == "id"
    assert '<html lang="id">' in reminder.alternatives[0][0]


@pytest.mark.django_db
def test_a_request_keeps_its_own_language_for_its_reminders(acme, harry, settings):
    person = make_person(acme, language="en")
    issue(acme, harry, person, email=EMAIL, language="my")
    with tenant_context(acme):
        CollectionRequest.objects.update(
            last_sent_at=timezone.now() - timedelta(days=settings.COLLECTION_REMINDER_DAYS + 1)
        )
        mail.outbox.clear()
        with committing():
            services.send_due_reminders(acme)
    [reminder] = mail.outbox
    assert reminder.extra_headers["Content-Language"] == "my"


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_reads_alternatives_remembers_them_and_refuses_the_rest(acme, harry):
    client = api(acme, token(acme, harry))
    person = make_person(acme)
    with committing():
        response = client.post(
            "/api/v1/collection-requests/",
            {"person": person.pk, "email": EMAIL, "language": "zh-CN"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "zh-hans"
    assert language_of_person(acme, person.pk) == "zh-hans"
    assert mail.outbox[0].extra_headers["Content-Language"] == "zh-Hans"  # the BCP 47 tag
    assert client.get(f"/api/v1/people/{person.pk}/").json()["language"] == "zh-hans"

    other = make_person(acme, given_name="太郎", language="vi")
    refused = client.post(
        "/api/v1/collection-requests/",
        {"person": other.pk, "language": "Klingon"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "zh-hans, zh-hant" in refused.json()["language"][0]
    assert language_of_person(acme, other.pk) == "vi"
    with tenant_context(acme):
        assert not CollectionRequest.objects.filter(person=other).exists()
    # Left out: the person's own.
    answer = client.post(
        "/api/v1/collection-requests/", {"person": other.pk}, content_type="application/json"
    )
    assert answer.status_code == 201 and answer.json()["language"] == "vi"


@pytest.mark.django_db
def test_another_firms_people_are_untouched(acme, harry, globex, gina):
    ours = make_person(acme)
    theirs = make_person(globex)
    assert ours.pk == theirs.pk  # the same id, in another schema
    client = signed_in_firm_client(harry, acme)
    client.post("/collection/new/",
                {"people": [ours.pk], "language": "pt-br", "documents": ["number_check"]})  # fmt: skip
    assert language_of_person(acme, ours.pk) == "pt-br"
    assert language_of_person(globex, theirs.pk) == ""
    with tenant_context(globex):
        assert not CollectionRequest.objects.exists()
    # And the other firm's form, opened for that id, starts from its own person.
    page = signed_in_firm_client(gina, globex).get(f"/collection/new/?person={theirs.pk}")
    assert selected(page.content.decode()) == ""


@pytest.mark.django_db
def test_the_schema_documents_the_requests_language():
    schema = Client(HTTP_HOST="localhost").get("/api/schema/", HTTP_ACCEPT="application/json")
    schemas = schema.json()["components"]["schemas"]
    sent = schemas["CollectionRequestIn"]["properties"]["language"]
    assert (
        "ja, ja-easy, en, vi, id, zh-hans, zh-hant, ko, fil, ne, my, pt-br" in sent["description"]
    )
    assert "language" in schemas["CollectionRequest"]["properties"]
