"""The person's side in the person's language (issue 18): which language a page speaks, the
switch, refusals in that language, the purposes beside their Japanese original, furigana for
やさしい日本語, and the log recording the language the notice was read in."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.collection import languages
from tenants.custody.models import Person

from .factories import NUMBER, anonymous_client, issue, make_person, submission, token_of

pytestmark = pytest.mark.django_db


def page_of(acme, harry, **person) -> tuple[object, str]:
    issued = issue(acme, harry, make_person(acme, **person), documents=["number_check"])
    return anonymous_client(acme), f"/s/{token_of(issued)}/"


def html_lang(html: str) -> str:
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_page_follows_the_switch_then_the_handlers_pick_then_the_browser(acme, harry):
    client, path = page_of(acme, harry, language="vi")
    assert html_lang(client.get(path).content.decode()) == "vi"  # the handler's pick
    # The browser does not outrank the handler's pick; the person's own switch does, and
    # is remembered.
    assert html_lang(client.get(path, HTTP_ACCEPT_LANGUAGE="ko").content.decode()) == "vi"
    # A language only carried in the URL (as the done page's is) is not remembered...
    assert html_lang(client.get(path + "?lang=ko").content.decode()) == "ko"
    assert html_lang(client.get(path).content.decode()) == "vi"
    # ...the switch is.
    switched = client.get(path + "?lang=zh-hant&switched=1")
    assert html_lang(switched.content.decode()) == "zh-Hant"
    assert switched["Content-Language"] == "zh-Hant"
    assert html_lang(client.get(path).content.decode()) == "zh-Hant"  # the cookie
    other, path2 = page_of(acme, harry, family_name="佐藤")
    assert (
        html_lang(other.get(path2, HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9").content.decode())
        == "pt-BR"
    )
    assert html_lang(other.get(path2).content.decode()) == "ja"  # nothing said: Japanese


@pytest.mark.parametrize(
    ("tag", "code"),
    [("vi-VN", "vi"), ("zh-CN", "zh-hans"), ("zh-TW", "zh-hant"), ("zh", "zh-hans"),
     ("pt", "pt-br"), ("tl", "fil"), ("ne-NP", "ne"), ("ja-JP", "ja"), ("xx", None),
     ("", None)],
)  # fmt: skip
def test_browser_tags_map_to_our_languages(tag, code):
    assert languages.supported(tag) == code


def test_the_switch_lists_every_language_named_in_itself(acme, harry):
    client, path = page_of(acme, harry)
    html = client.get(path + "?lang=en").content.decode()
    for code, name in languages.settings.PERSON_LANGUAGES:
        assert f'value="{code}" lang="{languages.html_lang(code)}"' in html
        assert name in html


def test_purposes_stand_beside_their_japanese_original(acme, harry):
    client, path = page_of(acme, harry)
    english = client.get(path + "?lang=en").content.decode()
    assert "Withholding slips for salaries" in english
    assert '<span lang="ja">給与所得の源泉徴収票作成事務</span>' in english
    assert '<span lang="ja">利用目的を確認しました</span>' in english
    japanese = client.get(path + "?lang=ja").content.decode()
    assert "原文" not in japanese


def test_a_refusal_speaks_the_persons_language(acme, harry):
    client, path = page_of(acme, harry, language="en")
    person = Person.objects.none()
    with tenant_context(acme):
        person = Person.objects.get(family_name="山田")
    response = client.post(path, submission([person.pk], ["123456789010"],
                                            document_number_check=""))  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert html_lang(html) == "en" and "check digit" in html.lower()


def test_submit_and_decline_record_the_language_read(acme, harry):
    client, path = page_of(acme, harry)
    with tenant_context(acme):
        person = Person.objects.get(family_name="山田")
    response = client.post(
        path + "?lang=en", submission([person.pk], [NUMBER], document_identity_check="")
    )
    assert response.status_code == 302 and response["Location"] == "/s/done/?lang=en"
    with tenant_context(acme):
        entry = AccessLogEntry.objects.get(action="submit")
    assert entry.detail["language"] == "en"
    assert entry.detail["purposes"]  # what the person acknowledged
    declining, path2 = page_of(acme, harry, family_name="佐藤", language="ko")
    declined = declining.post(path2.rstrip("/") + "/decline/", {"reason": "持っていない"})
    assert declined.status_code == 302
    with tenant_context(acme):
        assert AccessLogEntry.objects.get(action="decline").detail["language"] == "ko"


def test_easy_japanese_furigana_become_ruby():
    assert languages.ruby_html("番号{ばんごう}を 入力{にゅうりょく}して") == (
        "<ruby>番号<rt>ばんごう</rt></ruby>を <ruby>入力<rt>にゅうりょく</rt></ruby>して"
    )
    assert languages.ruby_plain("番号{ばんごう}") == "番号（ばんごう）"
    # A placeholder or anything but kanji before a brace is left alone.
    assert languages.ruby_html("あと {n} 桁") == "あと {n} 桁"
    assert languages.ruby_html("<b>{x}</b>") == "<b>{x}</b>"
    # Attributes and plain-text elements lose the reading instead.
    page = '<title>番号{ばんごう}</title><span data-ok="正{ただ}しい">入力{にゅうりょく}</span>'
    assert languages.ruby_html(page) == (
        '<title>番号</title><span data-ok="正しい"><ruby>入力<rt>にゅうりょく</rt></ruby></span>'
    )


def test_an_easy_japanese_email_has_ruby_in_html_and_readings_in_brackets_in_text(acme, harry):
    from django.core import mail

    issue(acme, harry, make_person(acme, language="ja-easy"), email="easy@example.test")
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert "<ruby>" in html and '<html lang="ja">' in html
    assert "{" not in message.body and "（" in message.body
    assert "{" not in message.subject and "<ruby>" not in message.subject
    assert message.extra_headers["Content-Language"] == "ja"
