"""An accounting office in January (issue 19): its admin imports new clients from a CSV
whose 担当 column assigns them, assigns one more client to a staff member on the
assignments page, and reads the January board; the staff member sees only their clients on
the board and reminds everyone outstanding at one of them. Then a client's owner reads the
compliance page, adopts the 基本方針, and opens the 扶養控除等申告書 register."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.tour.conftest import DEMO_PASSWORD, Tour, firm_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLIENTS_CSV = (
    "事業者名,サブドメイン,オーナーのメールアドレス,プラン,担当\r\n"
    "青山商事株式会社,aoyama,owner@aoyama.test,free,sato@demo.test\r\n"
    "赤坂工業株式会社,akasaka,owner@akasaka.test,free,sato@demo.test\r\n"
    "上野食品株式会社,ueno,owner@ueno.test,free,\r\n"
).encode("cp932")


@pytest.fixture
def staff(demo):
    """A staff member of the demo office, with the demo password and TOTP."""
    from practices import services
    from practices.models import PracticeMember
    from tests.helpers import make_user

    user = make_user("sato@demo.test")
    user.set_password(DEMO_PASSWORD)
    user.save()
    admin = PracticeMember.objects.get(user__email="accountant@demo.test")
    services.member_add(admin=admin, email=user.email)
    return user


@pytest.fixture
def eager():
    """The client import's task runs in the server's thread as its request commits, as a
    worker would run it a moment later."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_an_office_in_january(tour: Tour, site: str, staff, eager):
    from practices.models import Practice

    page = tour.page
    practice = Practice.objects.get(name="デモ会計事務所")
    sign_in(page, site, "accountant@demo.test")
    page.goto(f"{site}/practices/{practice.pk}/")
    tour.look("practice")

    page.get_by_role("link", name="CSVで一括作成").click()
    tour.look("client-import")
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "clients.csv", "mimeType": "text/csv", "buffer": CLIENTS_CSV}
    )
    page.get_by_role("button", name="確認して作成する").click()
    expect(page.get_by_text("作成 3 社、作成済み 0 社、作成できなかった行 0 件")).to_be_visible()
    tour.look("client-import-done")

    # One more client for the staff member, on the assignments page: デモ商事.
    page.goto(f"{site}/practices/{practice.pk}/")
    page.get_by_role("link", name="担当を設定").click()
    tour.look("assignments")
    page.get_by_label("デモ商事株式会社").check()
    page.get_by_role("button", name="担当を保存する").click()
    expect(page.get_by_text(re.compile("担当を保存しました"))).to_be_visible()

    page.goto(site + "/portfolio/january/")
    for name in ("青山商事株式会社", "上野食品株式会社", "デモ商事株式会社", "デモ工業株式会社"):
        expect(page.get_by_role("main").get_by_text(name).first).to_be_visible()
    tour.look("board-admin")

    # The staff member: their three clients only.
    page.context.clear_cookies()
    sign_in(page, site, "sato@demo.test")
    page.goto(site + "/portfolio/january/")
    main = page.get_by_role("main")
    for name in ("青山商事株式会社", "赤坂工業株式会社", "デモ商事株式会社"):
        expect(main.get_by_text(name).first).to_be_visible()
    for name in ("上野食品株式会社", "デモ工業株式会社"):
        expect(main.get_by_text(name)).to_have_count(0)
    tour.look("board-staff")
    page.locator("#firm-demo, tr:has-text('デモ商事株式会社')").first.get_by_role(
        "link", name="提出待ち全員に再送"
    ).click()
    tour.look("remind-confirm")
    button = page.get_by_role("button", name="再送する")
    if button.count():
        button.click()
        expect(page.get_by_text(re.compile("デモ商事株式会社: .*再送しました"))).to_be_visible()
        tour.look("board-reminded")

    # A client's owner: the paperwork.
    page.context.clear_cookies()
    sign_in(page, site, "owner@demo.test")
    demo = firm_site(site, "demo")
    page.goto(demo + "/compliance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("管理簿・規程・自己点検")
    for row in ("doc-file_register", "doc-basic_policy", "doc-handling_rules", "doc-self_check",
                "doc-dependents_register"):  # fmt: skip
        expect(page.locator(f"#{row}")).to_be_visible()
    tour.look("compliance")
    page.locator("#doc-basic_policy").get_by_role("button", name="内容を確認して採択する").click()
    expect(page.locator("#doc-basic_policy")).to_contain_text("採択済み")
    tour.look("compliance-adopted")
    page.locator("#doc-dependents_register").get_by_role("link", name="帳簿を開く").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("扶養控除等申告書")
    tour.look("dependents-register")
