"""A handler uploads a 給与所得の源泉徴収票 (375) file, reads its summary, answers the review
(picks one of two people of the same name, leaves a stranger's column blank with a reason),
downloads the file filled, and makes the person's copy without numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role
from tenants.auditlog.models import AccessLogEntry
from tenants.custody import services as custody
from tenants.custody.models import Person
from tenants.filings.records import holds_numbers, parse
from tests.browser.conftest import shoot
from tests.browser.test_reveal_journey import sign_in
from tests.filings import test_fill
from tests.filings.test_fill import OWNER, row, upload
from tests.filings.test_records import number
from tests.helpers import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
staff = test_fill.staff  # the fixture: 髙橋 一郎 with family, two 佐藤 花子, …


def test_upload_review_download_and_strip(site: str, page: Page, acme, staff):
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    with tenant_context(acme):
        sato = Person.objects.filter(family_name="佐藤").order_by("pk").first()
        custody.number_set(actor=OWNER, firm=acme, person=sato, raw=number(5), purpose_codes=None)
    data = upload(
        row(
            "高橋 一郎", birth=("3", "62", "04", "01"), spouse="髙橋　美咲", dependants=("高橋 翔",)
        ),
        row("佐藤 花子", birth=("4", "02", "01", "02")),
        row("田中 三郎"),
    )
    secret = get_adapter().decrypt(Authenticator.objects.get(user=harry).data["secret"])
    sign_in(page, site, "harry@acme.test", secret)
    expect(page).to_have_url(re.compile(r"^http://acme\.localhost:\d+/$"))

    page.get_by_role("link", name="法定調書・給与支払報告書").click()
    expect(page.get_by_role("heading", name="法定調書・給与支払報告書")).to_be_visible()
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "源泉徴収票.csv", "mimeType": "text/csv", "buffer": data}
    )
    shoot(page, "60-filings-list")
    page.get_by_role("button", name="アップロードして確認する").click()
    expect(page).to_have_url(re.compile(r"/filings/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("残り2件").first).to_be_visible()
    expect(page.locator("#download-warning")).to_contain_text("マイナンバーが含まれます")
    shoot(page, "61-filing-summary")

    page.get_by_role("link", name="確認する").click()
    expect(page.get_by_role("heading", name=re.compile("確認が必要な欄"))).to_be_visible()
    shoot(page, "62-filing-review")
    ambiguous = page.locator("#item-2-95")
    expect(ambiguous).to_contain_text("複数の候補")
    ambiguous.get_by_label("番号を記入する方").select_option(str(sato.pk))
    ambiguous.get_by_role("button", name="この方にする").click()
    expect(page.get_by_text("回答を記録しました。")).to_be_visible()
    stranger = page.locator("#item-3-95")
    stranger.get_by_label("記入しない理由").fill("退職済みで番号の提供を受けていない")
    stranger.get_by_role("button", name="記入しない").click()
    expect(page.get_by_text("すべての欄を確認しました。")).to_be_visible()
    shoot(page, "63-filing-ready")

    with page.expect_download() as caught:
        page.get_by_role("button", name="番号を記入してダウンロード（記録されます）").click()
    download = caught.value
    assert re.fullmatch(r"375_\d{8}-\d{4}_filled\.csv", download.suggested_filename)
    filled_bytes = Path(download.path()).read_bytes()
    filled = parse(filled_bytes)
    cells = [(1, 95), (1, 99), (1, 103), (2, 95), (3, 95)]
    values = [filled.records[r - 1].text(f, "cp932") for r, f in cells]
    assert values == [number(1), number(2), number(3), number(5), ""]
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="export", result="allowed").count() == 4

    # The person's copy: the check warns of the numbers, the second step returns none.
    page.goto(page.url.split("/filings/")[0] + "/filings/strip/")
    file_input = page.get_by_label("CSVファイル")
    file_input.set_input_files(
        {"name": "filled.csv", "mimeType": "text/csv", "buffer": filled_bytes}
    )
    page.get_by_role("button", name="確認する", exact=True).click()
    warning = "このファイルには番号が4件含まれています。本人に渡す前に必ず消去してください。"
    expect(page.get_by_text(warning)).to_be_visible()
    shoot(page, "64-filing-strip-warning")
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "filled.csv", "mimeType": "text/csv", "buffer": filled_bytes}
    )
    with page.expect_download() as caught:
        page.get_by_role("button", name="番号を消去してダウンロード").click()
    assert caught.value.suggested_filename == "375_本人交付用.csv"
    stripped = parse(Path(caught.value.path()).read_bytes())
    assert holds_numbers(stripped) == []


def test_a_refused_file_is_said_in_place_and_the_next_one_goes_through(
    site: str, browser: Browser, acme, staff
):
    """upload.js sends the file; the page's answer to a refused one (400) replaces the page's
    main part, with the row and what to check, and its form sends the next file."""
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    secret = get_adapter().decrypt(Authenticator.objects.get(user=harry).data["secret"])
    sign_in(page, site, "harry@acme.test", secret)
    expect(page).to_have_url(re.compile(r"^http://acme\.localhost:\d+/$"))
    page.goto(page.url + "filings/")
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "old.csv", "mimeType": "text/csv", "buffer": upload(row("田中 三郎") + ",x")}
    )
    page.get_by_role("button", name="アップロードして確認する").click()
    expect(page.get_by_role("alert")).to_contain_text("1行目: 「375」の項目数は")
    expect(page.get_by_role("alert")).to_be_focused()
    shoot(page, "58-filing-refused")
    # On a slow line the bar shows how much has been sent.
    big = upload(*[row("田中 三郎")] * 1000)
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "new.csv", "mimeType": "text/csv", "buffer": big}
    )
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
             "downloadThroughput": -1, "uploadThroughput": len(big) / 4})  # fmt: skip
    page.get_by_role("button", name="アップロードして確認する").click()
    expect(page.get_by_text(re.compile(r"送信中… [1-9]\d?%"))).to_be_visible()
    shoot(page, "59-filing-upload-progress")
    expect(page).to_have_url(re.compile(r"/filings/[0-9a-f-]{36}/$"), timeout=30_000)
    expect(page.get_by_text("残り1000件").first).to_be_visible()
    context.close()
    # Chromium logs the refused upload's 400 as a console error; nothing else may be there.
    assert [e for e in errors if "status of 400" not in e] == []
    assert len(errors) == 1
