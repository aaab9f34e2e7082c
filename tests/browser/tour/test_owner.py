"""A firm owner: the public site, sign-in, the dashboard, and every page an owner runs the
firm from, inviting a handler on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, firm_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER_PAGES = [
    ("purposes", "/purposes/"),
    ("people", "/people/"),
    ("person-new", "/people/new/"),
    ("import", "/people/import/"),
    ("collection", "/collection/"),
    ("collection-new", "/collection/new/"),
    ("retention", "/retention/"),
    ("retention-rules", "/retention/rules/"),
    ("deletions", "/retention/deletions/"),
    ("access-log", "/access-log/"),
    ("exports", "/exports/"),
    ("settings", "/settings/"),
    ("byok", "/settings/byok/"),
    ("practices", "/practices/"),
    ("support-access", "/support-access/"),
    ("api-tokens", "/api-tokens/"),
    ("billing", "/billing/"),
    ("supervision-report", "/reports/supervision/"),
    ("investigation", "/reports/investigation/"),
    ("offboarding", "/offboarding/"),
]


def test_owner_runs_the_firm(tour: Tour, site: str):
    page = tour.page
    page.goto(site + "/")
    tour.look("landing")
    page.goto(site + "/pricing/")
    tour.look("pricing")
    page.goto(site + "/help/")
    tour.look("help")
    page.goto(site + "/help/owners/")
    tour.look("help-owners")
    page.goto(site + "/accounts/login/")
    tour.look("login")

    sign_in(page, site, "owner@demo.test")
    demo = firm_site(site, "demo")
    expect(page).to_have_url(demo + "/")
    tour.look("dashboard")

    page.get_by_role("link", name="メンバーを管理").click()
    page.locator("#id_email").fill("new-handler@demo.test")
    page.locator("#id_role").select_option("handler")
    page.get_by_role("button", name="招待メールを送る").click()
    expect(page.get_by_text("招待メールを送信しました。")).to_be_visible()
    tour.look("members-invited")

    for name, path in OWNER_PAGES:
        response = page.goto(demo + path)
        assert response is not None and response.status == 200, (path, response)
        tour.look(name)
