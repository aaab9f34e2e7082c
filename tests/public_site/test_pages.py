"""The public site on the bare domain (issue 20): a landing page that makes the case, pricing
with worked examples, the security page that states each promise precisely, a page for
accounting offices and the FAQ, in Japanese and English, with pictures of the real product."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from billing import plans
from public_site import examples, faq, screenshots
from tests.helpers import PUBLIC_HOST, signed_in_firm_client
from tests.ux.pages import text
from tests.ux.test_help import english_catalogue

pytestmark = pytest.mark.django_db

# Each page, its heading and the sections a reader must find on it.
PAGES = {
    "/": ("マイナンバーの保管を、専門のサービスに任せる。", [
        "マイナンバーを預かる事業者に、法律が求めること", "仕組みがないと、何が起きるか",
        "使い方は3ステップ", "安全の仕組み", "料金", "会計事務所・社労士事務所の方へ",
        "よくある質問", "今日から、番号の管理を記録つきに。"]),
    "/pricing/": ("料金", ["料金の例", "数え方とお支払い"]),
    "/security/": ("安全管理の仕組み", [
        "暗号化と鍵", "アクセス記録", "期限どおりの削除", "運用者の権限", "ログインと権限",
        "委託先の監督と漏えいへの備え"]),
    "/for-accountants/": ("会計事務所・社労士事務所の方へ", [
        "顧問先の一覧（ポートフォリオ）", "顧問先をまたいだ作業", "顧問先とのつながり方",
        "会計事務所プラン", "1月の繁忙期のために"]),
    "/faq/": ("よくある質問", [str(question.question) for question in faq.QUESTIONS]),
}  # fmt: skip
# The four duties the law puts on a firm keeping numbers, and the four promises, on the
# landing page in the words of the guidelines.
DUTIES = ["安全管理措置", "利用目的の通知", "保管期間経過後の廃棄", "委託先の監督"]
PROMISES = ["事業者ごとの暗号鍵", "改ざんを検知できるアクセス記録", "期限どおりの削除",
            "運用者は番号を見られない"]  # fmt: skip


def visitor(language: str = "ja") -> Client:
    client = Client(HTTP_HOST=PUBLIC_HOST)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def headings(page: str, level: int) -> list[str]:
    return [text(h) for h in re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", page, re.S)]


def figure(page: str, bill_id: str, name: str) -> str:
    start = page.index(f'id="{bill_id}"')
    found = re.search(rf'data-figure="{name}">([^<]*)<', page[start:])
    assert found, (bill_id, name)
    return found.group(1)


def yen(amount: int) -> str:
    return f"¥{amount:,}"


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_answers_in_japanese_with_its_headings(path):
    response = visitor().get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ja">' in page
    heading, sections = PAGES[path]
    assert headings(page, 1) == [heading]
    shown = headings(page, 2) + headings(page, 3)
    for section in sections:
        assert section in shown, section


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_answers_in_english(path):
    response = visitor("en").get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    catalogue = english_catalogue()
    heading, sections = PAGES[path]
    assert headings(page, 1) == [catalogue[heading]]
    shown = headings(page, 2) + headings(page, 3)
    for section in sections:
        assert catalogue[section] in shown, section


def test_the_landing_page_names_the_duties_and_the_promises():
    page = visitor().get("/").content.decode()
    shown = headings(page, 3)
    for words in DUTIES + PROMISES:
        assert words in shown, words
    # Three steps, in order: request, the employee submits on a phone, use with a record.
    steps = re.findall(r'<li class="card how-step">.*?<h3>(.*?)</h3>', page, re.S)
    assert steps == [
        "提出を依頼する",
        "従業員がスマートフォンで提出する",
        "目的を選んで使い、記録を残す",
    ]
    for slug in faq.ON_LANDING:
        assert str(faq.BY_SLUG[slug].question) in shown


@pytest.mark.parametrize("path", ["/", "/pricing/"])
def test_the_twenty_person_example_is_what_billing_computes(path):
    bill = plans.monthly_bill(plans.PLANS[plans.STANDARD], examples.SMALL_FIRM_PEOPLE)
    assert examples.SMALL_FIRM_PEOPLE == 20
    page = visitor().get(path).content.decode()
    assert figure(page, "example-small-firm", "total") == yen(bill.total)
    assert figure(page, "example-small-firm", "yearly") == yen(bill.yearly_total)
    example = text(page[page.index('id="example-small-firm"') :].split("</table>", 1)[0])
    assert "例: 従業員20名の番号を預かる会社" in example
    assert f"¥{bill.plan.unit_amount:,} × 20人（税抜）{yen(bill.subtotal)}" in example
    assert f"消費税（10%）{yen(bill.tax)}" in example
    # Tax-included first (総額表示): the total comes before the tax-excluded breakdown.
    assert example.index(yen(bill.total)) < example.index("税抜")


@pytest.mark.parametrize("path", ["/pricing/", "/for-accountants/"])
def test_the_practice_example_is_what_billing_computes(path):
    bill = plans.monthly_bill(plans.PLANS[plans.ACCOUNTANT], examples.PRACTICE_CLIENTS)
    page = visitor().get(path).content.decode()
    assert figure(page, "example-practice", "total") == yen(bill.total)
    assert figure(page, "example-practice", "yearly") == yen(bill.yearly_total)


def test_the_examples_follow_a_price_change_in_the_plans(monkeypatch):
    dearer = dataclasses.replace(plans.PLANS[plans.STANDARD], unit_amount=450)
    monkeypatch.setitem(plans.PLANS, plans.STANDARD, dearer)
    page = visitor().get("/").content.decode()
    # 20 × ¥450 = ¥9,000, tax ¥900: the page's figure is computed, not written in.
    assert figure(page, "example-small-firm", "total") == "¥9,900"
    assert "月額 ¥495（税込）" in text(page)


def test_the_monthly_bill_takes_the_tax_on_the_total_as_the_invoice_does():
    bill = plans.monthly_bill(plans.PLANS[plans.STANDARD], 20)
    assert (bill.subtotal, bill.tax, bill.total, bill.yearly_total) == (6000, 600, 6600, 79200)
    odd = dataclasses.replace(plans.PLANS[plans.STANDARD], unit_amount=305)
    # 3 × ¥305 = ¥915: tax ¥91.5 rounds half up once on the line, not ¥30.5 three times.
    assert plans.monthly_bill(odd, 3).tax == 92


def _local_links(page: str) -> list[str]:
    return sorted({href for href in re.findall(r'href="(/[^"]*)"', page)
                   if not href.startswith(("/static/", "/i18n/"))})  # fmt: skip


@pytest.mark.parametrize("path", list(PAGES))
def test_every_link_on_the_page_resolves_to_a_page_with_its_anchor(path):
    client = visitor()
    page = client.get(path).content.decode()
    links = _local_links(page)
    assert links
    for link in links:
        target, _hash, anchor = link.partition("#")
        response = client.get(target)
        assert response.status_code == 200, link
        if anchor:
            assert f'id="{anchor}"' in response.content.decode(), link


def test_each_promise_links_to_the_page_that_states_it_precisely():
    page = visitor().get("/").content.decode()
    for promise, anchor in [("promise-keys", "/security/#keys"),
                            ("promise-log", "/security/#access-log"),
                            ("promise-deletion", "/security/#deletion"),
                            ("promise-operators", "/security/#operators")]:  # fmt: skip
        card = page[page.index(f'id="{promise}"') :].split("</article>", 1)[0]
        assert f'href="{anchor}"' in card, promise
        assert 'href="/help/' in card, promise


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/"])
def test_a_firm_host_does_not_serve_the_public_site(path, acme, alice):
    anonymous = Client(HTTP_HOST=f"{acme.slug}.{settings.BASE_DOMAIN}")
    assert anonymous.get(path).status_code == anonymous.get("/terms/").status_code
    assert anonymous.get(path).status_code in (302, 404)
    member = signed_in_firm_client(alice, acme)
    assert member.get(path).status_code == 404


def test_every_picture_exists_in_each_language_at_its_size_and_is_small():
    folder = Path(settings.STATICFILES_DIRS[0])
    for shot in screenshots.SCREENSHOTS:
        for language in screenshots.LANGUAGES:
            path = folder / shot.path(language)
            assert path.exists(), path
            with Image.open(path) as image:
                assert image.format == "WEBP", path
                assert image.size == (shot.width, shot.height), path
            assert path.stat().st_size < 150_000, path


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_pictures_carry_alt_text_and_sizes_in_the_readers_language(language):
    for path in ("/", "/for-accountants/"):
        page = visitor(language).get(path).content.decode()
        images = re.findall(r"<img\b[^>]*>", page)
        assert images, path
        for tag in images:
            assert re.search(r'alt="[^"]{20,}"', tag), tag
            assert re.search(r'width="\d+" height="\d+"', tag), tag
            assert f"-{language}.webp" in tag, tag


@pytest.mark.parametrize("path", list(PAGES))
def test_the_pages_need_no_script_no_inline_style_and_nothing_from_elsewhere(path):
    page = visitor().get(path).content.decode()
    assert "<script" not in page
    assert "style=" not in page
    # Absolute links only to the site itself (the footer's links on the bare domain).
    hosts = re.findall(r'(?:src|href)="(?:https?:)?//([^/":]+)', page)
    assert set(hosts) <= {settings.BASE_DOMAIN}, hosts


def test_the_trial_is_promised_only_when_there_is_one(settings):
    settings.BILLING_TRIAL_DAYS = 30
    assert "30日間の無料トライアル" in text(visitor().get("/pricing/").content.decode())
    settings.BILLING_TRIAL_DAYS = 0
    assert "無料トライアル" not in text(visitor().get("/pricing/").content.decode())


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_describes_itself_to_search_engines_in_the_readers_language(path):
    for language in ("ja", "en"):
        page = visitor(language).get(path).content.decode()
        found = re.search(r'<meta name="description" content="([^"]{30,})">', page)
        assert found, (path, language)
        assert bool(re.search(r"[\u3040-\u30ff]", found.group(1))) == (language == "ja")
