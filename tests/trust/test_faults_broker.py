"""Faults: the broker (Redis) is down while a page starts background work.

A real fault: the Celery app's broker URL points at a closed port, so publishing fails as it
does when Redis is down. The pages that start background work must still answer and the
site keep serving (docs/decisions.md D25):

- a consolidated audit export waits, queued, on its own row; once the broker is back, beat's
  `audit.dispatch_queued_exports` sends it again and a real worker makes it;
- a CSV import says at once that it could not start and nothing was registered; the same
  button starts it once the broker is back.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role
from audit.models import AuditExportJob
from audit.tasks import dispatch_queued_exports
from config.celery import app
from infra.audit.verify_audit_export import verify
from tenants.custody import csv_import
from tenants.custody.models import ImportUpload, Person
from tenants.custody.mynumber import check_digit
from tests.helpers import (
    closed_port,
    make_firm,
    make_user,
    signed_in_firm_client,
    signed_in_public_client,
    start_worker,
    stop_worker,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.trust]


def point_the_app_at(url: str) -> None:
    """Switch the Celery app's broker and drop its references to the cached connection and
    producer pools (kombu keeps the pools themselves, one per URL, for when it comes back)."""
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url


@pytest.fixture
def broker_down() -> Iterator[None]:
    working = app.conf.broker_url
    dead = f"redis://127.0.0.1:{closed_port()}/15"
    if not working.startswith("redis://"):
        dead = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    point_the_app_at(dead)
    yield
    point_the_app_at(working)


@pytest.fixture
def private_files(settings, tmp_path):
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
    return settings


def start_export_worker(queue: str, settings) -> subprocess.Popen:
    """A worker that writes audit exports where this test's settings read them."""
    return start_worker(
        queue,
        AUDIT_EXPORT_SIGNING_KEY_PATH=settings.AUDIT_EXPORT_SIGNING_KEY_PATH,
        OBJECT_STORE="local",
        OBJECT_STORE_LOCAL_DIR=settings.OBJECT_STORE_LOCAL_DIR,
        AUDIT_EXPORT_REDISPATCH_SECONDS="0",
    )


def test_with_the_broker_down_the_export_page_answers_and_the_export_runs_once_it_is_back(
    broker_down, private_files, settings
):
    firm = make_firm("brokerdown")
    alice = make_user("alice@brokerdown.test", firm=firm)
    public = signed_in_public_client(alice)
    today = timezone.localdate().isoformat()

    started = time.monotonic()
    response = public.post(
        "/audit-exports/",
        {"firms": [firm.pk], "since": today, "until": today, "format": "jsonl"},
        follow=True,
    )
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert "出力を開始しました" in response.content.decode()
    job = AuditExportJob.objects.get()
    assert job.status == AuditExportJob.Status.QUEUED
    # The rest of the site keeps serving, on both hosts.
    assert public.get("/audit-exports/").status_code == 200
    assert signed_in_firm_client(alice, firm).get("/people/").status_code == 200

    # Redis is back: beat's next dispatch sends the queued export; a real worker makes it.
    point_the_app_at(settings.CELERY_BROKER_URL)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_export_worker(queue, settings)
    try:
        dispatch_queued_exports.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while AuditExportJob.objects.get().status != AuditExportJob.Status.DONE:
            assert AuditExportJob.objects.get().status != AuditExportJob.Status.FAILED
            assert time.monotonic() < deadline, "the export did not run within 60 s"
            time.sleep(0.2)
        # A second dispatch (the next minute's) finds nothing queued: made once.
        dispatch_queued_exports.apply_async(queue=queue)
        time.sleep(1)
    finally:
        stop_worker(worker)
    job.refresh_from_db()
    assert job.status == AuditExportJob.Status.DONE and job.entries >= 1
    download = public.get(f"/audit-exports/{job.pk}/download/")
    assert download.status_code == 200
    assert verify(b"".join(download.streaming_content)).firms == ["brokerdown"]


def test_with_the_broker_down_an_import_says_it_did_not_start_and_can_be_started_again(
    broker_down, settings, monkeypatch
):
    firm = make_firm("brokerimport")
    harry = make_user("harry@brokerimport.test", firm=firm, role=Role.HANDLER)
    client = signed_in_firm_client(harry, firm)
    body = f"{41_500_000_000:011d}"
    data = f"区分,姓,名,姓（カナ）,名（カナ）,個人番号\n従業員,山田,太郎,ヤマダ,タロウ,{body}{check_digit(body)}"
    uploaded = client.post(
        "/people/import/", {"file": SimpleUploadedFile("p.csv", data.encode(), "text/csv")}
    )
    assert uploaded.status_code == 302
    preview = uploaded["Location"]
    assert client.get(preview).status_code == 200

    started = time.monotonic()
    response = client.post(preview, {"action": "confirm"}, follow=True)
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    page = response.content.decode()
    assert "何も登録していません" in page and "もう一度" in page
    assert "登録を開始しました" not in page  # it did not start, and the page says only that
    assert 'value="confirm"' in page  # the same button, to start it again
    assert client.get("/people/").status_code == 200
    with tenant_context(firm):
        upload = ImportUpload.objects.get()
        assert csv_import.import_state(upload) == ImportUpload.Status.FAILED
        assert not Person.objects.exists()

    # The broker is back: the same button queues it (sent here instead of to a worker).
    point_the_app_at(settings.CELERY_BROKER_URL)
    sent: list = []
    monkeypatch.setattr(csv_import, "_enqueue", lambda schema, pk: sent.append(pk))
    assert client.post(preview, {"action": "confirm"}).status_code == 302
    assert sent == [upload.pk]
    with tenant_context(firm):
        assert ImportUpload.objects.get().status == ImportUpload.Status.QUEUED


def test_with_the_broker_down_offboarding_starts_and_the_sweep_makes_the_export(
    broker_down, private_files
):
    """The operator's offboarding request answers; the start task was not sent, and the
    hourly sweep makes the final export from the stored record instead."""
    from firms.models import Firm, OffboardingRecord
    from firms.offboarding import offboarding_sweep

    acme = make_firm("acme")
    make_user("alice@acme.test", firm=acme, role=Role.OWNER)
    olga = make_user("olga@ops.test", operator=True)
    console = signed_in_public_client(olga)
    response = console.post("/operator/firms/acme/offboard/", {"reason": "契約終了"})
    assert response.status_code == 302
    assert Firm.objects.get(pk=acme.pk).status == "offboarding"
    record = OffboardingRecord.objects.get(firm=acme)
    assert record.stage == OffboardingRecord.Stage.REQUESTED

    result = offboarding_sweep()
    assert result.exported == ["acme"]
    assert OffboardingRecord.objects.get(pk=record.pk).stage == OffboardingRecord.Stage.EXPORTED


def test_an_export_whose_worker_died_mid_run_is_made_by_the_next(private_files, settings,
                                                                 monkeypatch):  # fmt: skip
    """The worker was killed after claiming the job: it stays `running` with nobody on it.
    Past AUDIT_EXPORT_STALE_MINUTES the dispatcher sends it again, and the next run claims
    it and makes the file; a job running for less than that is left alone."""
    from datetime import timedelta

    from audit.export_jobs import dispatch_queued_exports as dispatch
    from audit.export_jobs import job_run

    firm = make_firm("diedmidrun")
    alice = make_user("alice@diedmidrun.test", firm=firm)
    public = signed_in_public_client(alice)
    today = timezone.localdate().isoformat()
    public.post("/audit-exports/", {"firms": [firm.pk], "since": today, "until": today,
                                    "format": "jsonl"})  # fmt: skip
    job = AuditExportJob.objects.get()
    job_run(str(job.pk))  # the normal run, then pretend a later one died holding it
    AuditExportJob.objects.filter(pk=job.pk).update(
        status=AuditExportJob.Status.RUNNING, started_at=timezone.now() - timedelta(minutes=5)
    )
    assert job_run(str(job.pk)).status == AuditExportJob.Status.RUNNING  # still live: left
    AuditExportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(minutes=settings.AUDIT_EXPORT_STALE_MINUTES + 1)
    )
    from audit import export_jobs

    sent: list = []  # what the dispatcher hands the broker (the broker itself is not needed)
    monkeypatch.setattr(export_jobs, "_enqueue", lambda job, queue: sent.append(job.pk) or True)
    assert dispatch() == 1 and sent == [job.pk]
    done = job_run(str(job.pk))
    assert done.status == AuditExportJob.Status.DONE
    download = public.get(f"/audit-exports/{job.pk}/download/")
    assert verify(b"".join(download.streaming_content)).firms == ["diedmidrun"]
