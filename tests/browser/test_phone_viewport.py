"""The public pages and sign-up fit a phone screen: no sideways scrolling, labels on inputs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/", "/pricing/", "/accounts/signup/", "/accounts/login/"])
def test_public_pages_fit_a_phone(site: str, browser: Browser, path: str):
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(site + path)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select')]
           .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
           .map(el => el.name)"""
    )
    shoot(page, "phone" + path.replace("/", "-").rstrip("-"))
    context.close()
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    assert unlabelled == [], f"{path} has inputs without a label: {unlabelled}"
