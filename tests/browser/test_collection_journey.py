"""Collection in a real browser: a handler requests a number, the person answers on a phone,
the handler verifies, and the number is active and can be revealed."""

from __future__ import annotations

import io
import re

import pytest
from django_tenants.utils import tenant_context
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role
from tenants.custody.models import Person
from tests.browser.conftest import shoot
from tests.browser.test_reveal_journey import sign_in
from tests.helpers import make_firm, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 500), (230, 220, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_request_submit_on_a_phone_verify_and_reveal(site: str, page: Page, browser: Browser,
                                                     settings, tmp_path):  # fmt: skip
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
    acme = make_firm("acme", "アクメ株式会社")
    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    with tenant_context(acme):
        person = Person.objects.create(
            kind="employee", family_name="山田", given_name="花子",
            family_name_kana="ヤマダ", given_name_kana="ハナコ",
        )  # fmt: skip
    secret = get_adapter().decrypt(Authenticator.objects.get(user=harry).data["secret"])
    sign_in(page, site, "harry@acme.test", secret)
    expect(page).to_have_url(re.compile(r"^http://acme\.localhost:\d+/$"))
    firm_site = page.url.rstrip("/")

    # The handler asks for the number from the person's page.
    page.goto(f"{firm_site}/people/{person.pk}/")
    page.get_by_role("link", name="番号の提出を依頼").click()
    expect(page.get_by_label(re.compile("山田 花子"))).to_be_checked()
    page.get_by_label("送付先メールアドレス").fill("hanako@example.test")
    page.get_by_role("button", name="依頼を作成する", exact=True).click()
    expect(page.locator(".badge")).to_have_text("提出待ち")
    expect(page.locator(".link-box svg")).to_be_visible()
    shoot(page, "40-request-created-with-qr")
    link = page.get_by_label("提出ページのリンク").input_value()
    assert "/s/" in link

    # The person opens the link on a phone.
    phone = browser.new_context(
        locale="ja-JP", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    mobile = phone.new_page()
    errors: list[str] = []
    mobile.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    mobile.goto(link)
    expect(mobile.get_by_role("heading", name="マイナンバーの提出")).to_be_visible()
    expect(mobile.get_by_text("アクメ株式会社から 山田 花子 様へのお願いです。")).to_be_visible()
    shoot(mobile, "41-phone-submission-page")
    number = mobile.get_by_label("山田 花子 様のマイナンバー")
    number.fill("1234 5678 9019")
    expect(mobile.locator(".check-result")).to_contain_text("検査用数字が一致しません")
    shoot(mobile, "42-phone-check-digit-as-typed")
    number.fill("１２３４ ５６７８ ９０１８")
    expect(mobile.locator(".check-result")).to_contain_text("正しい形式")
    mobile.get_by_label("利用目的を確認しました").check()
    files = mobile.get_by_label("ファイルを選ぶ")
    files.nth(0).set_input_files({"name": "back.jpg", "mimeType": "image/jpeg", "buffer": photo()})
    files.nth(1).set_input_files({"name": "front.jpg", "mimeType": "image/jpeg", "buffer": photo()})
    shoot(mobile, "43-phone-filled-in")
    mobile.get_by_role("button", name="提出する").click()
    expect(mobile.get_by_role("heading", name="送信しました")).to_be_visible()
    shoot(mobile, "44-phone-sent")
    phone.close()
    assert not errors, errors

    # The handler verifies from the queue.
    page.goto(f"{firm_site}/collection/?status=submitted")
    page.get_by_role("link", name="山田 花子").click()
    expect(page.locator(".badge")).to_have_text("確認待ち")
    page.get_by_role("button", name=re.compile("番号を表示して書類と照合する")).click()
    expect(page.get_by_test_id("submitted-number")).to_have_text("1234-5678-9018")
    page.get_by_label(re.compile("マイナンバーカード（番号確認")).check()
    shoot(page, "45-verification")
    page.get_by_role("button", name="承認して番号を登録する").click()
    expect(page.get_by_text("確認しました。マイナンバーを登録しました。")).to_be_visible()
    expect(page.locator(".badge")).to_have_text("確認済み")
    shoot(page, "46-verified")

    # The number is active: it can be revealed for a notified purpose.
    page.goto(f"{firm_site}/people/{person.pk}/")
    page.get_by_label("表示する目的").select_option("withholding_slip")
    page.get_by_role("button", name="表示する（記録されます）").click()
    expect(page.locator("#revealed-number")).to_have_text("1234-5678-9018")
    shoot(page, "47-collected-number-revealed")
