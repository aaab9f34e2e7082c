"""A platform operator: the console, one firm's record (keys, chain, status), consolidated
audit exports. Never a number."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_console(tour: Tour, site: str):
    page = tour.page
    sign_in(page, site, "operator@demo.test")
    page.goto(site + "/operator/")
    tour.look("console")
    page.get_by_role("link", name="デモ商事株式会社").first.click()
    expect(page).to_have_url(site + "/operator/firms/demo/")
    tour.look("firm")
    page.goto(site + "/audit-exports/")
    tour.look("audit-exports")
    page.goto(site + "/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    tour.look("api-docs", third_party=".opblock-summary")
