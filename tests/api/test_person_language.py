"""A person's language through the firm API (issue 18), as payroll software sends it: read and
written on people, alternatives stored as the code, anything else a 400 field error listing
the codes (never a 500), described in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.custody.models import Person
from tests.api.test_api import api, create_person, token

pytestmark = pytest.mark.django_db
CODES = "ja, ja-easy, en, vi, id, zh-hans, zh-hant, ko, fil, ne, my, pt-br"


def post(client, **extra):
    body = {"kind": "employee", "family_name": "山田", "given_name": "花子",
            "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ", **extra}  # fmt: skip
    return client.post("/api/v1/people/", body, content_type="application/json")


def patch(client, pk: int, **changes):
    return client.patch(f"/api/v1/people/{pk}/", changes, content_type="application/json")


@pytest.fixture
def client(acme, harry):
    return api(acme, token(acme, harry))


def test_the_language_is_written_read_back_changed_and_cleared(client):
    person = create_person(client, language="vi")
    assert person["language"] == "vi"
    assert client.get(f"/api/v1/people/{person['id']}/").json()["language"] == "vi"
    assert create_person(client, given_name="次郎")["language"] == ""  # optional
    changed = patch(client, person["id"], language="ko")
    assert changed.status_code == 200 and changed.json()["language"] == "ko"
    cleared = patch(client, person["id"], language="")
    assert cleared.status_code == 200 and cleared.json()["language"] == ""


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("zh-CN", "zh-hans"),
        ("zh_CN", "zh-hans"),
        ("zh-TW", "zh-hant"),
        ("pt", "pt-br"),
        ("pt-BR", "pt-br"),
        ("tl", "fil"),
        ("やさしい日本語", "ja-easy"),
        ("Tiếng Việt", "vi"),
        ("EN-us", "en"),
    ],
)
def test_alternatives_are_stored_as_the_code(acme, client, sent, stored):
    person = create_person(client, language=sent)
    assert person["language"] == stored
    with tenant_context(acme):
        assert Person.objects.get(pk=person["id"]).language == stored
    assert patch(client, person["id"], language=sent).json()["language"] == stored


@pytest.mark.parametrize("sent", ["fr", "zh", "Klingon", "123456789018"])
def test_an_unknown_language_is_a_400_field_error_listing_the_codes(acme, client, sent):
    response = post(client, language=sent)
    assert response.status_code == 400
    [message] = response.json()["language"]
    assert "本人向けの言語が分かりません" in message and CODES in message
    assert "123456789018" not in response.content.decode()
    with tenant_context(acme):
        assert not Person.objects.exists()
    person = create_person(client, language="vi")
    refused = patch(client, person["id"], language=sent)
    assert refused.status_code == 400 and "language" in refused.json()
    assert client.get(f"/api/v1/people/{person['id']}/").json()["language"] == "vi"


def test_a_dependent_may_have_a_language(client):
    parent = create_person(client)
    child = create_person(client, kind="dependent", employee=parent["id"], relationship="子",
                          language="pt")  # fmt: skip
    assert child["language"] == "pt-br"


def test_another_firms_people_are_untouched(acme, harry, globex, gina):
    ours = create_person(api(acme, token(acme, harry)), language="ne")
    theirs = create_person(api(globex, token(globex, gina)))
    assert theirs["language"] == ""
    with tenant_context(acme):
        assert Person.objects.get(pk=ours["id"]).language == "ne"
    with tenant_context(globex):
        assert Person.objects.get().language == ""


def test_the_schema_documents_the_language_and_its_codes():
    schema = Client(HTTP_HOST="localhost").get("/api/schema/", HTTP_ACCEPT="application/json")
    document = schema.json()
    language = document["components"]["schemas"]["Person"]["properties"]["language"]
    assert language["type"] == "string" and CODES in language["description"]
    assert "zh-CN" in language["description"] and "400" in language["description"]
