"""Pictures of the real product for the public site: `make site-screenshots` runs this file
(pytest collects it only when named, so `make test` does not rewrite the committed pictures).

It starts from the demo world `make run` serves, walks it in Debian's Chromium as an owner, an
employee on a phone and an accountant, in each language of the site, and saves each page
named in public_site.screenshots as an optimised WebP under frontend/static/img/site/.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from public_site.screenshots import BY_NAME, DESKTOP_CLIP, FOLDER, LANGUAGES, Screenshot
from tests.browser.tour.conftest import firm_site, sign_in
from tests.helpers import seed_demo_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUT = Path(settings.STATICFILES_DIRS[0])
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# WebP at this quality keeps screen text sharp at a tenth of the PNG's size.
QUALITY = 80


@pytest.fixture
def demo(settings, tmp_path) -> None:
    seed_demo_world(settings, tmp_path / "objects")


def _context(browser: Browser, site: str, language: str, *, phone: bool = False) -> BrowserContext:
    context = browser.new_context(
        locale="ja-JP" if language == "ja" else "en-US",
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
    )
    choose_language(context, site, language)
    return context


def choose_language(context: BrowserContext, site: str, language: str) -> None:
    """The language switch's cookie, on the bare domain and on the demo firm's host."""
    context.add_cookies([
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": url}
        for url in (site, firm_site(site, "demo"))
    ])  # fmt: skip


def _save(page: Page, shot: Screenshot, language: str) -> None:
    page.wait_for_load_state("networkidle")
    clip = None if shot.phone else DESKTOP_CLIP
    image = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
    if image.size != (shot.width, shot.height):
        image = image.resize((shot.width, shot.height), Image.Resampling.LANCZOS)
    path = OUT / shot.path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "WEBP", quality=QUALITY, method=6)


def _signed_in(browser: Browser, site: str, email: str, language: str) -> Page:
    """Signed in in Japanese (the tour's sign_in reads the Japanese labels), then switched."""
    context = _context(browser, site, "ja")
    page = context.new_page()
    sign_in(page, site, email)
    choose_language(context, site, language)
    return page


def _owner_pages(browser: Browser, site: str, language: str) -> None:
    page = _signed_in(browser, site, "owner@demo.test", language)
    context = page.context
    demo = firm_site(site, "demo")
    expect(page).to_have_url(demo + "/")
    page.reload()
    _save(page, BY_NAME["dashboard"], language)
    # A number shown for a purpose, so the log's first line is the kind that matters.
    page.goto(demo + "/people/")
    page.locator("a", has_text="山田 花子").first.click()
    page.locator(".reveal-form select").select_option("withholding_slip")
    page.locator(".reveal-form button[type=submit]").click()
    expect(page.locator("#revealed-number")).to_be_visible()
    page.goto(demo + "/access-log/")
    _save(page, BY_NAME["access-log"], language)
    context.close()


def _submission_page(browser: Browser, site: str, language: str) -> None:
    from firms.models import Firm
    from tenants.auditlog.services import Actor
    from tenants.collection import services
    from tenants.custody.models import Person

    firm = Firm.objects.get(slug="demo")
    with tenant_context(firm):
        person = Person.objects.create(kind="employee", family_name="中村", given_name="陽向",
                                       family_name_kana="ナカムラ", given_name_kana="ヒナタ")  # fmt: skip
        issued = services.request_create(actor=Actor.system("site-screenshots"), firm=firm,
                                         person=person, email="hinata@example.test")  # fmt: skip
    context = _context(browser, site, language, phone=True)
    page = context.new_page()
    page.goto(issued.url)
    expect(page.locator("h1")).to_be_visible()
    _save(page, BY_NAME["submission"], language)
    context.close()


def _portfolio(browser: Browser, site: str, language: str) -> None:
    page = _signed_in(browser, site, "accountant@demo.test", language)
    context = page.context
    page.goto(site + "/portfolio/")
    _save(page, BY_NAME["portfolio"], language)
    context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_photograph_the_product_for_the_public_site(browser: Browser, site, demo, language):
    _owner_pages(browser, site, language)
    _submission_page(browser, site, language)
    _portfolio(browser, site, language)
    for shot in BY_NAME.values():
        assert (OUT / shot.path(language)).exists(), f"{FOLDER}/{shot.name}"
