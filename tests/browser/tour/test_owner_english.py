"""The owner's main pages with English chosen from the header, as an English-speaking owner
sees them (tests/ux_words checks the text of every page; this is the picture)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, firm_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("people", "/people/"),
    ("collection", "/collection/"),
    ("retention", "/retention/"),
    ("access-log", "/access-log/"),
    ("purposes", "/purposes/"),
    ("members", "/members/"),
]


def test_owner_in_english(tour: Tour, site: str):
    page = tour.page
    sign_in(page, site, "owner@demo.test")
    demo = firm_site(site, "demo")
    expect(page).to_have_url(demo + "/")
    page.locator(".lang-form select").select_option("en")
    page.locator(".lang-form button").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    tour.look("dashboard")
    for name, path in PAGES:
        page.goto(demo + path)
        tour.look(name)
    page.goto(site + "/help/employees/")
    tour.look("help-employees")
