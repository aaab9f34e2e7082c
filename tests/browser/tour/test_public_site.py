"""A visitor deciding whether to sign up: the landing page, the security page it links each
promise to, pricing with its worked example, the page for accounting offices and the FAQ, in
Japanese and then in English from the header's switch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("pricing", "/pricing/"),
    ("for-accountants", "/for-accountants/"),
    ("faq", "/faq/"),
    ("help", "/help/"),
]


def _pictures_loaded(tour: Tour) -> None:
    """Every picture on the page was found and decoded (a missing file has no width)."""
    for image in tour.page.locator("main img").all():
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")


def test_a_visitor_reads_the_public_site(tour: Tour, site: str):
    page = tour.page
    page.goto(site + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "マイナンバーの保管を、専門のサービスに任せる。"
    )
    _pictures_loaded(tour)
    tour.look("landing")

    # A promise's link leads to the paragraph that states it precisely.
    page.locator("#promise-log").get_by_role("link", name="詳しく: アクセス記録").click()
    expect(page).to_have_url(re.compile(r"/security/#access-log$"))
    expect(page.get_by_role("heading", name="アクセス記録", exact=True)).to_be_in_viewport()
    tour.look("security")

    for name, path in PAGES:
        page.goto(site + path)
        _pictures_loaded(tour)
        tour.look(name)

    page.goto(site + "/")
    page.locator(".lang-form select").select_option("en")
    page.locator(".lang-form button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Leave My Number custody to the specialists."
    )
    _pictures_loaded(tour)
    assert page.locator("main img").first.get_attribute("src").endswith("-en.webp")
    tour.look("landing-english")
    for name, path in [("security", "/security/"), *PAGES[:3]]:
        page.goto(site + path)
        tour.look(f"{name}-english")
