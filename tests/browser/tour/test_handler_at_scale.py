"""A handler at a 300-person firm (issue 20, `DEMO_PEOPLE=300 make run`): finds a person by
kana, filters the employees without a number, asks all of them at once, and records two
leavers with their last day."""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, firm_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def three_hundred(demo):
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", people=300, stdout=quiet)


@pytest.fixture
def eager():
    """A bulk job of more than 50 people runs in the server's thread as its request
    commits, as a worker would run it a moment later."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_handler_at_a_firm_of_300(tour: Tour, site: str, three_hundred, eager):
    from django_tenants.utils import tenant_context

    from firms.models import Firm
    from tenants.custody.models import Person

    page = tour.page
    sign_in(page, site, "handler@demo.test")
    demo = firm_site(site, "demo")
    page.goto(demo + "/people/")
    expect(page.get_by_role("status")).to_contain_text("300人")
    tour.look("people-300")

    # By kana, typed in hiragana with a space: 山本 陽子 is found.
    page.get_by_label("氏名・フリガナ・コードで検索").fill("やまもと ようこ")
    page.get_by_role("button", name="検索").click()
    expect(page.get_by_role("link", name="山本 陽子").first).to_be_visible()
    tour.look("people-search-kana")

    # The employees without a number, all asked at once.
    page.goto(demo + "/people/")
    page.get_by_label("区分").select_option("employee")
    page.get_by_label("マイナンバー", exact=True).select_option("no")
    page.get_by_role("button", name="検索").click()
    count = int(re.search(r"(\d+)人", page.get_by_role("status").inner_text())[1])
    assert count > 50
    tour.look("people-without-number")
    page.get_by_label(re.compile("条件に該当する全員")).check()
    page.get_by_role("button", name="番号の提出を依頼").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("人が対象です")
    tour.look("bulk-request-confirm")
    page.get_by_role("button", name="実行する").click()
    expect(page.get_by_role("status")).to_contain_text("について完了しました")
    tour.look("bulk-request-done")
    page.get_by_role("link", name="提出用リンクとQRコードの一覧").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Two leavers, ticked in the list, with their last day.
    page.goto(demo + "/people/")
    page.get_by_label("氏名・フリガナ・コードで検索").fill("E100")
    page.get_by_role("button", name="検索").click()
    boxes = page.get_by_role("checkbox", name=re.compile("さんを選択"))
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="関係の終了を記録").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("2人が対象です")
    page.get_by_label("関係の終了日（退職日・契約終了日）").fill("2026-11-30")
    tour.look("leavers-confirm")
    page.get_by_role("button", name="実行する").click()
    expect(page.get_by_role("status")).to_contain_text("2人について完了しました")
    tour.look("leavers-done")
    with tenant_context(Firm.objects.get(slug="demo")):
        assert Person.objects.filter(relationship_end="2026-11-30", status="ended").count() == 2
