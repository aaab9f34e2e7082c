"""A handler: finds a person, reveals a number for a notified purpose, verifies a submitted
number against its documents, exports, and prepares a filing."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.browser.tour.conftest import Tour, firm_site, sign_in
from tests.filings.test_fill import row, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_handler_reveals_and_verifies(tour: Tour, site: str):
    page = tour.page
    sign_in(page, site, "handler@demo.test")
    demo = firm_site(site, "demo")
    expect(page).to_have_url(demo + "/")
    tour.look("dashboard")

    page.get_by_role("link", name="従業員等").first.click()
    tour.look("people")
    page.get_by_role("link", name="山田 花子").click()
    tour.look("person")
    page.get_by_label("表示する目的").select_option("withholding_slip")
    page.get_by_role("button", name="表示する（記録されます）").click()
    expect(page.locator("#revealed-number")).to_have_text(re.compile(r"^\d{4}-\d{4}-\d{4}$"))
    tour.look("number-revealed")

    page.goto(demo + "/collection/?status=submitted")
    tour.look("collection-submitted")
    page.get_by_role("link", name="渡辺 健").click()
    tour.look("submission")
    page.get_by_role("button", name=re.compile("番号を表示して書類と照合する")).click()
    expect(page.get_by_test_id("submitted-number")).to_be_visible()
    page.get_by_label(re.compile("マイナンバーカード（番号確認")).check()
    tour.look("verification")
    page.get_by_role("button", name="承認して番号を登録する").click()
    expect(page.get_by_text("確認しました。マイナンバーを登録しました。")).to_be_visible()
    tour.look("verified")

    for name, path in [("exports", "/exports/"), ("access-log", "/access-log/"),
                       ("retention", "/retention/")]:  # fmt: skip
        page.goto(demo + path)
        tour.look(name)

    # Filings: a 給与所得の源泉徴収票 file with demo people (one numbered, one without a
    # number, one nobody is), its summary and its review; the person's copy.
    page.get_by_role("link", name="法定調書・給与支払報告書").click()
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "375.csv", "mimeType": "text/csv",
         "buffer": upload(row("山田 花子"), row("伊藤 さくら"), row("山田 一郎"))}
    )  # fmt: skip
    page.get_by_role("button", name="アップロードして確認する").click()
    expect(page).to_have_url(re.compile(r"/filings/[0-9a-f-]{36}/$"))
    tour.look("filing-summary")
    page.get_by_role("link", name="確認する").click()
    expect(page.locator("#item-3-95")).to_contain_text("該当者なし")
    tour.look("filing-review")
    page.goto(demo + "/filings/")
    tour.look("filings")
    page.get_by_role("link", name="本人交付用に番号を消去する").click()
    tour.look("filings-strip")

    # Dependants abroad (issue 18): the year-end list of the documents the deduction needs.
    from firms.models import Firm
    from tenants.custody.models import Person

    with tenant_context(Firm.objects.get(slug="demo")):
        employee = Person.objects.filter(kind="employee").first()
        Person.objects.create(kind="dependent", employee=employee, relationship="母",
                              family_name="グエン", given_name="ホア", family_name_kana="グエン",
                              given_name_kana="ホア", lives_abroad=True, country="ベトナム")  # fmt: skip
    page.goto(demo + "/people/abroad/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("グエン")
    tour.look("dependants-abroad")

    # An owner's page: our 403 page says so and what to do, and the refusal is on record.
    tour.refusals_expected += 1
    page.goto(demo + "/api-tokens/")
    expect(page.get_by_role("heading", name="この操作は許可されていません")).to_be_visible()
    expect(page.get_by_text("事業者のオーナーに依頼してください")).to_be_visible()
    tour.look("refused-owner-page")
    page.goto(demo + "/access-log/?action=tokens_manage")
    expect(page.locator("tbody").get_by_text("APIトークンの管理").first).to_be_visible()
    tour.look("refusal-in-the-log")
