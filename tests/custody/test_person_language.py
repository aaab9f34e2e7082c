"""The language a person reads (本人向けの言語, issue 18) on the firm's pages: one reading of a
value for every door (person_language: codes, own names, the common alternatives; anything
else refused with the codes listed), the person form with its help, the person page naming
the language in itself, dependents allowed one, and other firms untouched."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.custody import person_language, services
from tenants.custody.models import Person
from tests.helpers import signed_in_firm_client

HELP = (
    "提出依頼のページとメールをこの言語で表示します。空欄のときは本人のブラウザの言語に合わせます。"
)
PERSON_FORM = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
}


# --- reading a value (no database) -----------------------------------------------------------


@pytest.mark.parametrize(("code", "name"), settings.PERSON_LANGUAGES)
def test_every_code_and_every_own_name_is_read_in_any_case(code, name):
    assert person_language.parse(code) == code
    assert person_language.parse(code.upper()) == code
    assert person_language.parse(f" {name} ") == code
    assert person_language.parse(name.upper()) == code
    assert person_language.name(code) == name


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("zh-CN", "zh-hans"),
        ("zh_CN", "zh-hans"),
        ("ZH-cn", "zh-hans"),
        ("zh-SG", "zh-hans"),
        ("zh_Hans", "zh-hans"),
        ("zh-TW", "zh-hant"),
        ("zh_TW", "zh-hant"),
        ("zh-HK", "zh-hant"),
        ("pt", "pt-br"),
        ("pt-BR", "pt-br"),
        ("pt_BR", "pt-br"),
        ("PT-PT", "pt-br"),
        ("tl", "fil"),
        ("Tagalog", "fil"),
        ("やさしい日本語", "ja-easy"),
        ("やさしいにほんご", "ja-easy"),
        ("ja-JP", "ja"),
        ("en-US", "en"),
        ("en_gb", "en"),
        ("vi-VN", "vi"),
        ("tiếng việt", "vi"),
        ("ＶＩ", "vi"),  # full width
        ("Vietnamese", "vi"),
        ("ベトナム語", "vi"),
        ("中国語（繁体字）", "zh-hant"),
        ("英語", "en"),
    ],
)
def test_common_alternatives_become_the_code(given, code):
    assert person_language.parse(given) == code
    assert person_language.clean(given) == code


def test_blank_is_not_picked():
    assert person_language.parse("") == "" and person_language.clean("  ") == ""
    assert person_language.clean(None) == ""


@pytest.mark.parametrize("given", ["fr", "zh", "zh-XX", "klingon", "日本", "123456789018"])
def test_anything_else_is_refused_with_the_codes_and_never_echoed(given):
    # "zh" alone does not say which written Chinese: refused, not guessed.
    assert person_language.parse(given) is None
    with pytest.raises(ValidationError) as refused:
        person_language.clean(given)
    [message] = refused.value.messages
    assert refused.value.error_list[0].code == "unknown"
    assert "ja, ja-easy, en, vi, id, zh-hans, zh-hant, ko, fil, ne, my, pt-br" in message
    with pytest.raises(ValidationError) as other:
        person_language.clean("something else")
    assert other.value.messages == [message]  # the same words whatever was given


def test_tags_for_lang_attributes():
    assert [person_language.tag(code) for code in person_language.CODES] == [
        "ja", "ja", "en", "vi", "id", "zh-Hans", "zh-Hant", "ko", "fil", "ne", "my", "pt-BR",
    ]  # fmt: skip
    assert person_language.tag("") == "" and person_language.shown("") is None


# --- the pages -------------------------------------------------------------------------------


def create(client, **extra):
    return client.post("/people/new/", {**PERSON_FORM, **extra})


def created_pk(response) -> int:
    assert response.status_code == 302, response.content.decode()[-1500:]
    return int(response["Location"].rstrip("/").split("/")[-1])


def language_errors(response) -> str:
    page = response.content.decode()
    found = re.search(r'<ul class="errorlist" id="id_language_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


@pytest.mark.django_db
def test_the_form_offers_every_language_named_in_itself_with_its_help(acme, harry):
    page = signed_in_firm_client(harry, acme).get("/people/new/").content.decode()
    assert "本人向けの言語" in page and HELP in page
    assert '<option value="" selected>未設定（本人のブラウザの言語）</option>' in page
    for code, name in settings.PERSON_LANGUAGES:
        assert f'<option value="{code}">{name}</option>' in page


@pytest.mark.django_db
def test_a_language_is_saved_and_the_person_page_names_it_in_itself(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = created_pk(create(client, language="vi"))
    with tenant_context(acme):
        assert Person.objects.get(pk=pk).language == "vi"
    detail = client.get(f"/people/{pk}/").content.decode()
    assert '<dt>本人向けの言語</dt><dd><span lang="vi">Tiếng Việt</span></dd>' in detail
    edit = client.get(f"/people/{pk}/edit/").content.decode()
    assert '<option value="vi" selected>Tiếng Việt</option>' in edit
    # Changed, then cleared: not picked again.
    assert (
        client.post(f"/people/{pk}/edit/", {**PERSON_FORM, "language": "zh-hant"}).status_code
        == 302
    )
    detail = client.get(f"/people/{pk}/").content.decode()
    assert '<span lang="zh-Hant">繁體中文</span>' in detail
    assert client.post(f"/people/{pk}/edit/", PERSON_FORM).status_code == 302
    detail = client.get(f"/people/{pk}/").content.decode()
    assert "<dt>本人向けの言語</dt><dd>未設定（本人のブラウザの言語）</dd>" in detail
    with tenant_context(acme):
        assert Person.objects.get(pk=pk).language == ""
        updates = AccessLogEntry.objects.filter(action="update", person_id=pk)
        assert all("language" in entry.detail["fields"] for entry in updates)


@pytest.mark.django_db
def test_the_language_is_optional(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = created_pk(create(client))
    with tenant_context(acme):
        assert Person.objects.get(pk=pk).language == ""


@pytest.mark.django_db
def test_a_language_the_form_does_not_offer_is_a_field_error(acme, harry):
    client = signed_in_firm_client(harry, acme)
    response = create(client, language="fr")
    assert response.status_code == 200 and language_errors(response)
    with tenant_context(acme):
        assert not Person.objects.exists()


@pytest.mark.django_db
def test_a_dependent_may_have_a_language(acme, harry):
    client = signed_in_firm_client(harry, acme)
    parent = created_pk(create(client))
    pk = created_pk(create(client, kind="dependent", employee=str(parent), relationship="子",
                           given_name="一郎", language="pt-br"))  # fmt: skip
    detail = client.get(f"/people/{pk}/").content.decode()
    assert '<span lang="pt-BR">Português (Brasil)</span>' in detail


@pytest.mark.django_db
def test_the_services_read_alternatives_and_refuse_the_rest_under_the_field(acme, harry):
    actor = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="test")
    with tenant_context(acme):
        person = services.person_create(actor=actor, data={**PERSON_FORM, "language": "zh_CN"})
        assert Person.objects.get(pk=person.pk).language == "zh-hans"
        services.person_update(actor=actor, person=person, changes={"language": "Tagalog"})
        assert Person.objects.get(pk=person.pk).language == "fil"
        with pytest.raises(ValidationError) as refused:
            services.person_update(actor=actor, person=person, changes={"language": "fr"})
        assert list(refused.value.message_dict) == ["language"]
        assert Person.objects.get(pk=person.pk).language == "fil"


@pytest.mark.django_db
def test_another_firms_people_are_untouched(acme, harry, globex, gina):
    ours = created_pk(create(signed_in_firm_client(harry, acme), language="ko"))
    theirs = created_pk(create(signed_in_firm_client(gina, globex)))
    with tenant_context(globex):
        assert Person.objects.get(pk=theirs).language == ""
    with tenant_context(acme):
        assert Person.objects.get(pk=ours).language == "ko"


@pytest.mark.django_db
def test_the_language_reads_in_english_too(acme, harry):
    client = signed_in_firm_client(harry, acme)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    form = client.get("/people/new/").content.decode()
    assert "Language of the person&#x27;s pages" in form
    assert "The request page and its emails are shown in this language" in form
    assert "Not set (the person&#x27;s browser language)" in form
    pk = created_pk(create(client, language="ne"))
    assert '<span lang="ne">नेपाली</span>' in client.get(f"/people/{pk}/").content.decode()
