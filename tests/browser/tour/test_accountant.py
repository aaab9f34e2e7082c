"""An accountant whose practice serves two firms: the portfolio, the cross-firm lists, then
each firm in turn through the firm switcher; last, a client's 法定調書 file uploaded from the
portfolio (refused once, with the row and field beside that client, then taken), and one ZIP
holding a file per client, shared out by file name."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from firms.models import Firm
from tests.browser.tour.conftest import Tour, firm_site, sign_in
from tests.filings.test_fill import row, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_accountant_across_two_firms(tour: Tour, site: str):
    from tenants.workspace.models import FirmSettings

    # デモ商事 lets its accountants reveal and export, and so prepare filings; デモ工業 does not.
    with tenant_context(Firm.objects.get(slug="demo")):
        FirmSettings.current()
        FirmSettings.objects.update(accountants_may_reveal=True)
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

    # A client's 法定調書 file from the portfolio, on デモ商事's row (デモ工業's has no form).
    page.goto(site + "/portfolio/")
    demo_row = page.locator("#firm-demo")
    expect(page.locator("#firm-demo2 input[type=file]")).to_have_count(0)
    tour.refused_files_expected += 1
    demo_row.get_by_label("デモ商事株式会社の法定調書ファイル（CSV）").set_input_files(
        {"name": "375.csv", "mimeType": "text/csv",
         "buffer": upload(row("山田 花子"), row("伊藤 さくら", person_number="1234-5678"))}
    )  # fmt: skip
    demo_row.get_by_role("button", name="法定調書ファイルをアップロード").click()
    alert = demo_row.get_by_role("alert")  # the row of the page's answer, put in place
    expect(alert).to_contain_text("2行目95項目: 番号欄に番号以外の値があります")
    expect(alert).to_be_focused()
    tour.look("portfolio-upload-refused")
    demo_row.get_by_label("デモ商事株式会社の法定調書ファイル（CSV）").set_input_files(
        {"name": "375.csv", "mimeType": "text/csv",
         "buffer": upload(row("山田 花子"), row("伊藤 さくら"), row("山田 一郎"))}
    )  # fmt: skip
    demo_row.get_by_role("button", name="法定調書ファイルをアップロード").click()
    demo = re.escape(firm_site(site, "demo"))
    expect(page).to_have_url(re.compile(demo + r"/filings/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("給与所得の源泉徴収票")
    tour.look("portfolio-filing-summary")

    # One ZIP of client files: デモ商事's is taken, デモ工業's refused (accountants may not
    # prepare filings there), the page says which went where.
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("demo_375.csv", upload(row("山田 花子"), row("伊藤 さくら")))
        archive.writestr("demo2_375.csv", upload(row("山田 花子")))
    page.goto(site + "/portfolio/")
    page.get_by_text("顧問先ごとのファイルをZIPでまとめてアップロード").click()
    page.get_by_label("ZIPファイル", exact=True).set_input_files(
        {"name": "clients.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}
    )
    page.get_by_role("button", name="ZIPファイルをアップロードして振り分ける").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ZIPファイルの振り分け結果")
    expect(page.locator("#archive-file-1")).to_contain_text("受付済み")
    expect(page.locator("#archive-file-2")).to_contain_text("準備できません")
    tour.look("portfolio-archive")
