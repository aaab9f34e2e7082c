"""Help pages: open to anyone on the bare domain, in Japanese and in English, linked from every
page's footer and from the page where a person submits their number."""

from __future__ import annotations

import polib
import pytest
from django.conf import settings
from django.test import Client

from firms.models import public_url
from tests.collection.factories import anonymous_client, issue, make_person, token_of
from tests.helpers import PUBLIC_HOST, signed_in_firm_client

from .pages import text

pytestmark = pytest.mark.django_db

PAGES = {
    "/help/": "ヘルプ",
    "/help/employees/": "従業員・ご家族・支払先の方へ",
    "/help/owners/": "事業者（オーナー）の方へ",
    "/help/handlers/": "事務取扱担当者の方へ",
}
# What each page must say (the legal facts), as a reader sees them.
FACTS = {
    "/help/employees/": [
        "12桁の番号",
        "利用目的",
        "マイナンバーカード（表面と裏面。カード1枚で足ります）",
        "運用者は、あなたの番号を見ることができません",
        "提出期限の属する年の翌年1月10日の翌日から7年間",
        "速やかに削除",
    ],
    "/help/owners/": ["利用目的を確定する", "事務取扱担当者を指名する", "委託先監督報告",
                      "個人情報保護委員会", "4年以下の拘禁刑または200万円以下の罰金"],
    "/help/handlers/": ["番号確認", "身元確認", "利用目的を選び", "保全"],
    "/help/": ["住民票のある一人ひとり", "法定保存期間", "運用者は番号を見ることができません"],
}  # fmt: skip


def english_catalogue() -> dict[str, str]:
    path = settings.LOCALE_PATHS[0] / "en" / "LC_MESSAGES" / "django.po"
    return {entry.msgid: entry.msgstr for entry in polib.pofile(str(path)) if entry.msgstr}


@pytest.mark.parametrize("path", list(PAGES))
def test_help_pages_answer_anyone_in_japanese(path):
    response = Client(HTTP_HOST=PUBLIC_HOST).get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ja">' in page
    assert f"<h1>{PAGES[path]}</h1>" in page
    shown = text(page)
    for fact in FACTS[path]:
        assert fact in shown, fact
    # Every help page for staff links to the others. The employees' page is the person's
    # side (issue 18): its own frame, in the person's language, no staff pages.
    if path != "/help/employees/":
        for other in PAGES:
            assert f'href="{other}"' in page


@pytest.mark.parametrize("path", list(PAGES))
def test_help_pages_answer_in_english(path):
    client = Client(HTTP_HOST=PUBLIC_HOST)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    # The heading is in English once the catalogue carries it (docs/ux.md, translations).
    english = english_catalogue().get(PAGES[path])
    if english:
        assert f"<h1>{english}</h1>" in page and PAGES[path] not in text(page)


def test_every_page_links_to_help_on_the_bare_domain_in_its_footer(acme, alice):
    help_url = public_url("/help/")
    pages = [
        Client(HTTP_HOST=PUBLIC_HOST).get("/").content.decode(),
        signed_in_firm_client(alice, acme).get("/").content.decode(),
    ]
    for page in pages:
        footer = page[page.index('<footer class="site-footer') :]
        assert f'<a href="{help_url}">ヘルプ</a>' in footer


def test_the_submission_page_links_to_the_employees_help_on_the_bare_domain(acme, harry):
    issued = issue(acme, harry, make_person(acme))
    page = anonymous_client(acme).get(f"/s/{token_of(issued)}/").content.decode()
    start = page.index('id="help-link"')
    link = page[page.rindex("<a ", 0, start) : page.index("</a>", start)]
    href = link.split('href="', 1)[1].split('"', 1)[0]
    assert href.endswith("/help/employees/?lang=ja") and "acme." not in href
    assert 'target="_blank"' in link and 'rel="noopener"' in link
    # The link works for someone who has no account.
    path = "/" + href.split("://", 1)[-1].split("/", 1)[1]
    assert Client(HTTP_HOST=PUBLIC_HOST).get(path).status_code == 200


def test_on_a_firm_host_help_is_for_members(acme, alice):
    member = signed_in_firm_client(alice, acme)
    assert member.get("/help/owners/").status_code == 200
    anonymous = Client(HTTP_HOST=f"{acme.slug}.{settings.BASE_DOMAIN}")
    assert anonymous.get("/help/").status_code == 302  # to sign-in, like every firm page
