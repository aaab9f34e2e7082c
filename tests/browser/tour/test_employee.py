"""An employee on a phone: opens the link from the request email, reads why the number is
asked for, types it, photographs the documents and sends."""

from __future__ import annotations

import io
import re

import pytest
from django_tenants.utils import tenant_context
from PIL import Image
from playwright.sync_api import expect

from tests.browser.tour.conftest import PHONE, Tour

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 500), (230, 220, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_employee_submits_on_a_phone(tour: Tour, site: str):
    from firms.models import Firm
    from tenants.auditlog.services import Actor
    from tenants.collection import services
    from tenants.custody.models import Person

    firm = Firm.objects.get(slug="demo")
    with tenant_context(firm):
        person = Person.objects.create(kind="employee", family_name="中村", given_name="陽向",
                                       family_name_kana="ナカムラ", given_name_kana="ヒナタ")  # fmt: skip
        issued = services.request_create(
            actor=Actor.system("tour"), firm=firm, person=person, email="sakura@example.test"
        )
    page = tour.page
    page.set_viewport_size(PHONE)
    page.goto(issued.url)
    expect(page.get_by_role("heading", name="マイナンバーの提出")).to_be_visible()
    tour.look("submission-page")
    with page.expect_popup() as opened:
        page.locator("#help-link").click()
    help_page = opened.value
    expect(help_page).to_have_url(re.compile(r"/help/employees/(\?lang=[\w-]+)?$"))
    expect(help_page.get_by_role("heading", level=1)).to_be_visible()
    help_page.close()

    number = page.get_by_label("中村 陽向 様のマイナンバー")
    number.fill("1234 5678 9019")
    expect(page.locator(".check-result")).to_contain_text("検査用数字が一致しません")
    tour.look("check-digit-mistake")
    number.fill("１２３４ ５６７８ ９０１８")
    page.get_by_label("利用目的を確認しました").check()
    files = page.get_by_label("ファイルを選ぶ")
    for index in range(files.count()):
        files.nth(index).set_input_files(
            {"name": f"doc{index}.jpg", "mimeType": "image/jpeg", "buffer": photo()}
        )
    tour.look("filled-in")
    page.get_by_role("button", name="提出する").click()
    expect(page.get_by_role("heading", name="送信しました")).to_be_visible()
    tour.look("sent")
