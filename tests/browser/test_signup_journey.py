"""The first journey a new firm takes: sign up → verify email → enable TOTP → dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from firms.models import Firm
from tests.browser.conftest import shoot
from tests.helpers import PASSWORD, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_enable_totp_and_land_in_the_firm(site: str, page: Page):
    page.goto(site + "/")
    expect(page.locator("h1")).to_contain_text("マイナンバーの保管")
    shoot(page, "01-landing")

    page.get_by_role("link", name="無料で始める").first.click()
    page.get_by_label("メールアドレス").fill("hanako@yamada.test")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_label("事業者名").fill("山田商事株式会社")
    page.get_by_label("サブドメイン").fill("yamada")
    page.get_by_label("利用規約と個人情報の取扱いに同意します").check()
    shoot(page, "02-signup-filled")
    page.get_by_role("button", name=re.compile("登録|Sign Up")).click()
    expect(page.locator("h1")).to_contain_text("メールアドレスを確認")
    shoot(page, "03-verification-sent")
    assert not Firm.objects.filter(slug="yamada").exists()

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)[0]
    page.goto(link)
    shoot(page, "04-confirm-email")
    page.get_by_role("button", name=re.compile("確認|Confirm")).click()

    # The firm exists now; its dashboard first asks for two-factor authentication.
    expect(page).to_have_url(re.compile(r"/mfa/required/$"))
    assert Membership.objects.get(firm__slug="yamada").role == Role.OWNER
    shoot(page, "05-mfa-required")
    page.get_by_role("link", name="認証アプリを設定する").click()
    # Binding a second factor asks for the password again (allauth's reauthentication).
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("確認|Confirm")).click()
    secret = page.locator("#authenticator_secret").input_value()
    shoot(page, "06-totp-activate")

    page.get_by_label(re.compile("認証アプリコード|Authenticator code")).fill("000000")
    page.get_by_role("button", name=re.compile("有効|Activate")).click()
    expect(page.locator(".errorlist, .error, [role=alert]").first).to_be_visible()
    shoot(page, "07-totp-wrong-code")

    page.get_by_label(re.compile("認証アプリコード|Authenticator code")).fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("有効|Activate")).click()
    expect(page.locator("#recovery_codes")).to_be_visible()
    shoot(page, "08-recovery-codes")

    page.get_by_role("link", name="保管しました。続ける").click()
    expect(page).to_have_url(re.compile(r"^http://yamada\.localhost:\d+/$"))
    expect(page.locator("h1")).to_contain_text("山田商事株式会社")
    expect(page.locator(".stat").first).to_have_text("オーナー")
    shoot(page, "09-firm-dashboard")

    # The account page lists the factors; adding a passkey loads allauth's scripts under
    # the strict CSP (the page fixture fails the test on any console error).
    page.get_by_role("link", name="hanako@yamada.test").click()
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/accounts/2fa/$"))
    shoot(page, "10-account-security")
    page.goto(page.url + "webauthn/add/")
    expect(page.locator("h1")).to_be_visible()
    shoot(page, "11-passkey-add")
