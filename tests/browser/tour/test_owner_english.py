"""The owner's main pages with English chosen from the header, as an English-speaking owner
sees them (tests/ux_words checks the text of every page; this is the picture)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, firm_site, sign_in
from tests.filings.test_fill import row, upload

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
    # A filing's summary and review, in English.
    page.goto(demo + "/filings/")
    page.get_by_label("CSV file").set_input_files(
        {"name": "375.csv", "mimeType": "text/csv",
         "buffer": upload(row("山田 花子"), row("伊藤 さくら"), row("山田 一郎"))}
    )  # fmt: skip
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("Withholding slip for employment income").first).to_be_visible()
    tour.look("filing-summary")
    page.get_by_role("link", name="Review").click()
    tour.look("filing-review")
    page.goto(demo + "/filings/")
    tour.look("filings")
    page.goto(site + "/help/employees/")
    tour.look("help-employees")
