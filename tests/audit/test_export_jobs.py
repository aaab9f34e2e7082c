"""Exports from the UI: only firms the user may audit, progress, an encrypted file with a
download window, and a copy pushed to S3."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.export_jobs import job_run, purge_expired_exports
from audit.models import AuditExportJob
from infra.audit.verify_audit_export import verify
from tenants.auditlog.models import AccessLogEntry
from tests.helpers import signed_in_public_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")


def ask(client, firms, **extra):
    today = timezone.localdate().isoformat()
    return client.post(
        "/audit-exports/",
        {
            "firms": [f.pk for f in firms],
            "since": today,
            "until": today,
            "format": "jsonl",
            **extra,
        },
    )


def test_an_owner_exports_their_firm_and_downloads_a_file_that_verifies(acme, alice, tmp_path):
    client = signed_in_public_client(alice)
    assert acme.name in client.get("/audit-exports/").content.decode()
    ask(client, [acme])
    job = AuditExportJob.objects.get()
    status = client.get(f"/audit-exports/{job.pk}/status/").json()
    assert status["status"] == "queued" and status["firms_total"] == 1
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == "done" and job.entries >= 1 and job.percent == 100
    blob = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()][0].read_bytes()
    assert b'"type":"manifest"' not in blob  # encrypted at rest
    response = client.get(f"/audit-exports/{job.pk}/download/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    report = verify(response.content)
    assert report.firms == ["acme"]
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(
            action="audit_export", actor_email=alice.email
        ).exists()


def test_firms_one_may_not_audit_are_refused(acme, globex, alice, harry):
    assert ask(signed_in_public_client(alice), [acme, globex]).status_code == 302
    assert not AuditExportJob.objects.exists()
    ask(signed_in_public_client(harry), [acme])  # a handler is not an auditor here
    assert not AuditExportJob.objects.exists()


def test_only_the_requester_downloads_and_only_within_the_window(acme, alice, carol):
    client = signed_in_public_client(alice)
    ask(client, [acme])
    job = AuditExportJob.objects.get()
    job_run(str(job.pk))
    other = signed_in_public_client(carol)
    assert other.get(f"/audit-exports/{job.pk}/download/").status_code == 404
    assert other.get(f"/audit-exports/{job.pk}/status/").status_code == 404
    AuditExportJob.objects.filter(pk=job.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(f"/audit-exports/{job.pk}/download/", follow=True)
    assert "期限が過ぎました" in response.content.decode()
    assert purge_expired_exports() == 1
    assert AuditExportJob.objects.get(pk=job.pk).storage_key == ""


def test_a_finished_export_is_pushed_to_s3(acme, alice, settings, s3_store):
    settings.AUDIT_EXPORT_S3_BUCKET = s3_store.name
    settings.OBJECT_STORE = "local"  # the encrypted copy stays local; the push goes to S3
    ask(signed_in_public_client(alice), [acme])
    job = job_run(str(AuditExportJob.objects.get().pk))
    assert job.pushed_to.startswith(f"s3://{s3_store.name}/audit-exports/")
    key = job.pushed_to.split("/", 3)[3]
    assert verify(s3_store.raw(key)).firms == ["acme"]
