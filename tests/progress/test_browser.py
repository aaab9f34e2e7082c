"""progress.js in Chromium, under the real Content-Security-Policy: a confirmed import's
page fills its bar and its line from the JSON status and the page's own templates, and
reloads when the import is done. The worker's part is played by the test: it writes the
row's figures as the task would, then runs the task's body."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import Role
from tenants.custody import tasks
from tenants.custody.csv_import import run_import
from tenants.custody.models import ImportUpload, Person
from tests.browser.test_reveal_journey import sign_in
from tests.helpers import make_firm, make_user

from .test_import_progress import people_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_import_page_follows_the_job_and_reloads_when_done(site: str, page: Page,
                                                                monkeypatch):  # fmt: skip
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    queued: list = []
    monkeypatch.setattr(tasks.import_upload, "apply_async", lambda *a, **k: queued.append(k))
    acme = make_firm("acme", "アクメ株式会社")
    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    secret = get_adapter().decrypt(Authenticator.objects.get(user=harry).data["secret"])
    sign_in(page, site, "harry@acme.test", secret)
    expect(page).to_have_url(re.compile(r"^http://acme\.localhost:\d+/$"))

    page.goto(page.url + "people/import/")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": people_csv(12)}],
    )
    page.get_by_role("button", name="アップロードして確認する").click()
    page.get_by_role("button", name=re.compile("12 人を登録する")).click()
    line = page.locator("[data-progress-text]")
    expect(line).to_have_text("開始を待っています")
    assert len(queued) == 1
    with tenant_context(acme):
        upload = ImportUpload.objects.get()
        # The worker, partway: 3,200 of 10,000 rows in 160 s.
        ImportUpload.objects.filter(pk=upload.pk).update(
            status="running", progress_done=3_200, progress_total=10_000,
            started_at=timezone.now() - timedelta(seconds=160),
        )  # fmt: skip
    expect(line).to_have_text("3,200 / 10,000 件・残り約 6 分", timeout=8_000)
    expect(page.locator("progress")).to_have_attribute("value", "32")
    page.reload()  # the same figures after a reload
    expect(page.locator("progress")).to_have_attribute("value", "32")
    with tenant_context(acme):
        ImportUpload.objects.filter(pk=upload.pk).update(status="queued")
        assert run_import(upload.pk).status == "done"
        assert Person.objects.count() == 12
    expect(page.get_by_text("12人を登録しました。")).to_be_visible(timeout=8_000)
    expect(page.locator("progress")).to_have_count(0)
