"""An accountant whose practice serves two firms: the portfolio, the cross-firm lists, then
each firm in turn through the firm switcher."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, firm_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_accountant_across_two_firms(tour: Tour, site: str):
    page = tour.page
    sign_in(page, site, "accountant@demo.test")
    tour.look("home")
    for name, path in [("portfolio", "/portfolio/"), ("new-hires", "/portfolio/new-hires/"),
                       ("portfolio-deletions", "/portfolio/deletions/"),
                       ("practices", "/practices/")]:  # fmt: skip
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        tour.look(name)

    for slug, name in [("demo", "デモ商事株式会社"), ("demo2", "デモ工業株式会社")]:
        page.goto(site + f"/go/{slug}/")
        expect(page).to_have_url(firm_site(site, slug) + "/")
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
        tour.look(f"{slug}-dashboard")
        page.goto(firm_site(site, slug) + "/people/")
        tour.look(f"{slug}-people")
