"""Employees who do not read Japanese (issue 18), on a phone: the submission page in every
language of the person's side, photographed and audited with axe; then a worker who picks
Vietnamese gives her own number and her child's and her mother's documents (she lives in
Vietnam: no number, the deduction's documents instead), and the log records the language."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.browser.tour.conftest import PHONE, Tour
from tests.browser.tour.test_employee import photo
from tests.collection.factories import DEPENDENT_NUMBER, NUMBER
from tests.filings.test_records import number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_submission_page_in_every_language_and_a_vietnamese_worker_submits(
    tour: Tour, site: str
):
    from django.utils import translation

    from firms.models import Firm
    from tenants.auditlog.models import AccessLogEntry
    from tenants.auditlog.services import Actor
    from tenants.collection import services
    from tenants.collection.languages import html_lang
    from tenants.custody.models import Person

    firm = Firm.objects.get(slug="demo")
    with tenant_context(firm):
        worker = Person.objects.create(kind="employee", family_name="グエン", given_name="ティ ラン",
                                       family_name_kana="グエン", given_name_kana="ティ ラン")  # fmt: skip
        child = Person.objects.create(kind="dependent", employee=worker, relationship="子",
                              family_name="グエン", given_name="ミン",
                              family_name_kana="グエン", given_name_kana="ミン")  # fmt: skip
        # 55 at the end of the year: one of the exceptions must be proved (remittance).
        mother = Person.objects.create(kind="dependent", employee=worker, relationship="母",
                                       family_name="グエン", given_name="ホア",
                                       family_name_kana="グエン", given_name_kana="ホア",
                                       birth_date=date(date.today().year - 55, 5, 1),
                                       lives_abroad=True, country="ベトナム")  # fmt: skip
        issued = services.request_create(actor=Actor.system("tour"), firm=firm, person=worker,
                                         email="lan@example.test", include_dependents=True)  # fmt: skip
    page = tour.page
    page.set_viewport_size(PHONE)
    # One person per language, the handler having picked it on the request: each reads the
    # page in it, submits, and the log records it.
    for serial, (code, _name) in enumerate(settings.PERSON_LANGUAGES, start=1):
        if code == "vi":
            continue  # below, in full
        with tenant_context(firm):
            person = Person.objects.create(kind="employee", family_name="言語", given_name=code,
                                           family_name_kana="ゲンゴ", given_name_kana="テスト")  # fmt: skip
            asked = services.request_create(actor=Actor.system("tour"), firm=firm,
                                            person=person, language=code)  # fmt: skip
        page.goto(asked.url)
        expect(page.locator("html")).to_have_attribute("lang", html_lang(code))
        with translation.override(code):
            heading = translation.gettext("マイナンバーの提出")
        if code == "ja-easy":
            heading = heading.replace("{", "").replace("}", "")  # no kanji in this heading
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{code}: the page scrolls sideways by {overflow}px"
        tour.look(f"submission-{code}")
        page.locator("input[name=acknowledge]").check()
        page.locator("input[data-mynumber]").fill(number(100 + serial))
        for kind in ("number_check", "identity_check"):
            page.locator(f"#document_{kind}").set_input_files(
                files=[{"name": f"{kind}.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
            )
        page.locator("button[type=submit].wide").click()
        expect(page).to_have_url(re.compile(rf"/s/done/\?lang={re.escape(code)}$"))
        expect(page.locator("html")).to_have_attribute("lang", html_lang(code))
        with tenant_context(firm):
            entry = AccessLogEntry.objects.get(action="submit", person_id=person.pk)
        assert entry.detail["language"] == code

    # She picks Vietnamese with the page's own switch (nothing was picked for her, and the
    # phone speaks Japanese), and it stays picked.
    page.goto(issued.url)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.locator("#person-lang").select_option("vi")
    page.locator("form.person-lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.locator("input[name=acknowledge]").check()
    fields = page.locator("input[data-mynumber]")
    expect(fields).to_have_count(2)
    fields.nth(0).fill(NUMBER)
    fields.nth(1).fill(DEPENDENT_NUMBER)
    with translation.override("vi"):
        valid = translation.gettext("検査用数字は正しい形式です。")
    expect(page.locator(".check-result").first).to_have_text(valid)
    for kind in ("number_check", "identity_check"):
        page.locator(f"#document_{kind}").set_input_files(
            files=[{"name": f"{kind}.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
        )
    # Her mother's documents: no number field for her, the rule's documents instead.
    abroad = page.get_by_test_id(f"abroad-{mother.pk}")
    expect(abroad).to_be_visible()
    abroad.locator("input[type=radio][value=remittance_380k]").check()
    for kind in ("abroad_relationship", "abroad_remittance"):
        page.locator(f"#abroad_{mother.pk}_{kind}").set_input_files(
            files=[{"name": f"{kind}.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
        )
    tour.look("submission-vi-filled")
    page.locator("button[type=submit].wide").click()
    expect(page).to_have_url(
        f"{site.split('//')[0]}//demo.localhost:{site.rsplit(':', 1)[1]}/s/done/?lang=vi"
    )
    tour.look("done-vi")
    with tenant_context(firm):
        entries = list(AccessLogEntry.objects.filter(action="submit",
                                                     person_id__in=[worker.pk, child.pk]))  # fmt: skip
    assert len(entries) == 2 and {e.detail["language"] for e in entries} == {"vi"}
    from tenants.collection.models import Document

    with tenant_context(firm):
        kinds = set(Document.objects.filter(request__person=worker)
                    .values_list("kind", flat=True))  # fmt: skip
    assert {"abroad_relationship", "abroad_remittance"} <= kinds
