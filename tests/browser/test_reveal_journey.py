"""A handler registers a person's number, reveals it for a purpose, and watches it hide."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.browser.conftest import shoot
from tests.helpers import PASSWORD, make_firm, make_user, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, site: str, email: str, secret: str, *, password: str = PASSWORD) -> None:
    page.goto(site + "/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label(re.compile("コード")).first.fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("ログイン|サインイン|確認")).first.click()


def test_register_reveal_and_hide(site: str, page: Page, settings):
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    settings.REVEAL_DISPLAY_SECONDS = 2
    acme = make_firm("acme", "アクメ株式会社")
    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    secret = get_adapter().decrypt(Authenticator.objects.get(user=harry).data["secret"])
    sign_in(page, site, "harry@acme.test", secret)
    expect(page).to_have_url(re.compile(r"^http://acme\.localhost:\d+/$"))

    page.get_by_role("link", name="従業員等").first.click()
    page.get_by_role("link", name="新規登録").click()
    page.get_by_label("区分").select_option("employee")
    page.get_by_label("姓:", exact=True).fill("山田")
    page.get_by_label("名:", exact=True).fill("花子")
    page.get_by_label("姓（カナ）").fill("ヤマダ")
    page.get_by_label("名（カナ）").fill("ハナコ")
    page.get_by_role("button", name="保存").click()
    shoot(page, "20-person-created")

    page.get_by_text("番号を登録する").click()
    page.get_by_label("マイナンバー（12桁）").fill("１２３４−５６７８−９０１８")
    page.get_by_label("給与所得の源泉徴収票作成事務").check()
    page.get_by_role("button", name="暗号化して保存").click()
    expect(page.locator(".number.masked")).to_have_text("****-****-****")
    shoot(page, "21-number-stored-masked")

    page.get_by_label("表示する目的").select_option("withholding_slip")
    page.get_by_role("button", name="表示する（記録されます）").click()
    expect(page.locator("#revealed-number")).to_have_text("1234-5678-9018")
    shoot(page, "22-number-revealed")
    expect(page.locator("#revealed-number")).to_have_text("****-****-****", timeout=6000)
    shoot(page, "23-number-hidden-again")

    page.goto(page.url.split("/people/")[0] + "/access-log/")
    expect(page.locator("table.log")).to_contain_text("番号表示")
    shoot(page, "24-access-log")
