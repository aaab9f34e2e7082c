"""Japanese by default, English on request: the catalogue is complete and actually used."""

from __future__ import annotations

import re

import polib
import pytest
from django.conf import settings
from django.test import Client

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

PO_PATH = settings.LOCALE_PATHS[0] / "en" / "LC_MESSAGES" / "django.po"
HERO_JA = "マイナンバーの保管を、専門のサービスに任せる。"
HERO_EN = "Leave My Number custody to the specialists."
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture
def client():
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def english_client(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    return client


def test_landing_page_is_japanese_by_default(client):
    html = client.get("/").content.decode()
    assert '<html lang="ja">' in html
    assert HERO_JA in html
    assert HERO_EN not in html


def test_landing_page_is_english_after_choosing_english(english_client):
    html = english_client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert HERO_EN in html
    assert HERO_JA not in html
    assert "Start for free" in html


def test_signup_in_english_labels_the_firm_fields_and_reports_a_reserved_slug(english_client):
    html = english_client.get("/accounts/signup/").content.decode()
    assert '<html lang="en">' in html
    assert "Firm name" in html
    assert "Subdomain" in html
    assert "事業者名" not in html
    assert "サブドメイン" not in html

    response = english_client.post(
        "/accounts/signup/",
        {
            "email": "hanako@yamada.test",
            "password1": PASSWORD,
            "firm_name": "Yamada Trading",
            "firm_slug": "admin",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert "“admin” is a reserved word and cannot be used." in html
    assert "予約語" not in html


def test_every_english_message_is_translated():
    catalogue = polib.pofile(str(PO_PATH))
    assert catalogue.metadata["Language"] == "en"
    assert len(catalogue) > 0
    untranslated = [
        entry.msgid
        for entry in catalogue
        if not entry.obsolete
        and (
            not entry.msgstr.strip()
            if not entry.msgid_plural
            else not all(text.strip() for text in entry.msgstr_plural.values())
        )
    ]
    assert untranslated == []
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []


def test_english_messages_keep_the_placeholders():
    catalogue = polib.pofile(str(PO_PATH))

    def translations(entry):
        # A plural entry keeps its forms in msgstr_plural; msgstr stays empty.
        return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]

    mismatched = [
        entry.msgid
        for entry in catalogue
        for translation in translations(entry)
        if sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        != sorted(PLACEHOLDER.findall(translation))
    ]
    assert mismatched == []


def test_purposes_show_in_the_language_of_the_page(acme, harry):
    from tests.helpers import signed_in_firm_client

    client = signed_in_firm_client(harry, acme)
    assert "給与所得の源泉徴収票作成事務" in client.get("/exports/").content.decode()
    client.cookies["django_language"] = "en"
    page = client.get("/exports/").content.decode()
    assert "Withholding slips for salaries" in page and "給与所得の源泉徴収票作成事務" not in page
