"""Every message of the person's side is translated in every language the person may read,
with the same placeholders (issue 18, docs/translations.md); and the pages really speak them."""

from __future__ import annotations

import os
import sys

import pytest
from django.conf import settings

sys.path.insert(0, str(settings.REPO_ROOT / "infra" / "dev"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import person_messages  # noqa: E402 (infra/dev is a script directory)

from tests.collection.factories import anonymous_client, issue, make_person, token_of  # noqa: E402

MESSAGES = person_messages.person_messages()


def test_the_persons_side_is_found():
    # The submission page, the done page, the help, the emails, the refusals.
    ids = {message.msgid for message in MESSAGES}
    for expected in ("マイナンバーの提出", "利用目的を確認しました", "提出する", "あと{n}桁です。",
                     "給与所得の源泉徴収票作成事務", "提供を拒否する"):  # fmt: skip
        assert expected in ids, expected
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("code", person_messages.person_languages())
def test_every_message_is_translated_with_the_same_placeholders(code):
    assert person_messages.missing(code, MESSAGES) == []


@pytest.mark.django_db
@pytest.mark.parametrize("code", person_messages.person_languages())
def test_the_submission_page_speaks_the_language(acme, harry, code):
    issued = issue(acme, harry, make_person(acme))
    html = anonymous_client(acme).get(f"/s/{token_of(issued)}/?lang={code}").content.decode()
    from django.utils import translation

    with translation.override(code):
        heading = translation.gettext("マイナンバーの提出")
        acknowledge = translation.gettext("利用目的を確認しました")
    if code != "ja-easy":
        assert heading != "マイナンバーの提出", "not compiled or not translated"
    assert f"<h1>{heading}</h1>" in html
    from tenants.collection.languages import ruby_html

    assert ruby_html(acknowledge) in html


@pytest.mark.django_db
@pytest.mark.parametrize("code", person_messages.person_languages())
def test_the_request_email_is_written_in_the_language(acme, harry, code):
    from django.core import mail
    from django.utils import translation

    from tenants.collection.languages import html_lang, without_readings

    issue(acme, harry, make_person(acme, language=code), email="person@example.test")
    [message] = mail.outbox
    with translation.override(code):
        prefix = without_readings(translation.gettext("[マイナンバー保管] "))
    assert message.subject.startswith(prefix)
    if code not in ("ja-easy",):
        assert "マイナンバー保管" not in message.subject
    assert f'<html lang="{html_lang(code)}">' in message.alternatives[0][0]
    assert message.extra_headers["Content-Language"] == html_lang(code)
