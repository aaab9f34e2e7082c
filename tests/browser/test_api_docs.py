"""The API docs render from our own origin under the strict CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_shows_the_firm_api(site: str, browser: Browser):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(site + "/api/docs/")
    expect(page.get_by_text("/api/v1/people/{id}/reveal/").first).to_be_visible(timeout=15_000)
    shoot(page, "30-api-docs")
    context.close()
    assert not errors, errors
