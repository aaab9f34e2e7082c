"""Progress of the consolidated audit exports (bare domain, the requester's jobs only) and
of the offboarding export (firm host, owners only): the JSON status of a job partway done,
404 to anyone else, the bar with the stored figures on the page, and the figures the jobs
write as they go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

import config.progress
from audit import export as audit_export
from audit.export_jobs import job_run
from audit.models import AuditExportJob
from firms.models import OffboardingRecord
from tenants.auditlog.services import Actor, log_access
from tests.helpers import signed_in_firm_client, signed_in_public_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_export_files")]


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


# --- consolidated audit exports -------------------------------------------------------------


@pytest.fixture
def export_job(acme, alice):
    today = timezone.localdate()
    job = AuditExportJob.objects.create(requested_by=alice, since=today, until=today,
                                        firms_total=1, status="running", started_at=ago(160),
                                        entries=3_200, entries_total=10_000)  # fmt: skip
    job.firms.set([acme])
    return job


def test_the_status_of_an_audit_export_partway_done(export_job, alice):
    figures = signed_in_public_client(alice).get(f"/audit-exports/{export_job.pk}/status/").json()
    assert {k: figures[k] for k in ("status", "done", "total", "percent", "firms_total")} == {
        "status": "running", "done": 3_200, "total": 10_000, "percent": 32, "firms_total": 1}  # fmt: skip
    # 3,200 in 160 s: 6,800 more take 340 s (a little more as the test runs).
    assert 340 <= figures["eta_seconds"] <= 350


def test_only_the_requester_sees_an_audit_exports_progress(export_job, carol, gina):
    for someone in (carol, gina):  # carol audits Acme too, but did not ask for this one
        client = signed_in_public_client(someone)
        assert client.get(f"/audit-exports/{export_job.pk}/status/").status_code == 404
        assert "<progress" not in client.get("/audit-exports/").content.decode()


def test_a_reload_mid_export_shows_the_stored_progress(export_job, alice):
    page = signed_in_public_client(alice).get("/audit-exports/").content.decode()
    assert '<progress max="100" value="32"' in page
    assert "3,200 / 10,000 件・残り約 6 分" in page  # 340 s and a little more
    assert f'data-progress-url="/audit-exports/{export_job.pk}/status/"' in page


def test_an_export_counts_its_entries_first_and_reports_every_block(acme, alice, monkeypatch):
    with tenant_context(acme):
        actor = Actor(user_id=alice.pk, email=alice.email, role="owner")
        for _ in range(7):
            log_access(actor=actor, action="login")
    monkeypatch.setattr(audit_export, "CHUNK", 3)
    reported: list[tuple[int, dict]] = []
    monkeypatch.setattr(config.progress.ProgressWriter, "_write",
                        lambda self, values: reported.append((self.pk, values)))  # fmt: skip
    monkeypatch.setattr(config.progress.ProgressWriter, "update", _every_call)
    today = timezone.localdate()
    job = AuditExportJob.objects.create(requested_by=alice, since=today, until=today,
                                        firms_total=1)  # fmt: skip
    job.firms.set([acme])
    job = job_run(str(job.pk))
    assert job.status == "done" and job.entries_total == job.entries == 7
    entries = [values["entries"] for pk, values in reported if pk == job.pk]
    assert entries == [3, 6, 7, 7]  # after each block of 3, then after the firm
    assert job.progress_figures()["percent"] == 100


def _every_call(self, done, total=None, **extra):
    """ProgressWriter.update without its time throttle: every report is seen."""
    self._values[self.done_field] = done
    if total is not None:
        self._values[self.total_field] = total
    self._values.update(extra)
    self._pending = True
    self.flush()


# --- offboarding ----------------------------------------------------------------------------


@pytest.fixture
def offboarding(acme, alice):
    return OffboardingRecord.objects.create(
        firm=acme, firm_pk=acme.pk, firm_name=acme.name, firm_slug=acme.slug,
        schema_name=acme.schema_name, requested_by=alice, requested_by_email=alice.email,
        owner_user_ids=[alice.pk], requested_at=ago(200), export_started_at=ago(160),
        export_done=3_200, export_total=10_000,
    )  # fmt: skip


def test_the_status_of_an_offboarding_export_partway_done(offboarding, acme, alice):
    figures = signed_in_firm_client(alice, acme).get("/offboarding/status/").json()
    assert {k: figures[k] for k in ("status", "done", "total", "percent")} == {
        "status": "running", "done": 3_200, "total": 10_000, "percent": 32}  # fmt: skip
    # 3,200 in 160 s: 6,800 more take 340 s (a little more as the test runs).
    assert 340 <= figures["eta_seconds"] <= 350


def test_only_the_firms_owners_see_the_offboarding_progress(offboarding, acme, harry, globex, gina):
    assert signed_in_firm_client(harry, acme).get("/offboarding/status/").status_code == 403
    # Gina's own firm has no offboarding; Acme's host is not hers at all.
    assert signed_in_firm_client(gina, globex).get("/offboarding/status/").status_code == 404


def test_a_reload_mid_offboarding_export_shows_the_stored_progress(offboarding, acme, alice):
    page = signed_in_firm_client(alice, acme).get("/offboarding/").content.decode()
    assert '<progress max="100" value="32"' in page
    assert "3,200 / 10,000 件・残り約 6 分" in page  # 340 s and a little more
    assert 'data-progress-url="/offboarding/status/"' in page and "js/progress.js" in page


def test_a_failed_offboarding_export_says_it_will_be_retried(offboarding, acme, alice):
    OffboardingRecord.objects.filter(pk=offboarding.pk).update(
        export_started_at=None, export_error="ObjectStoreUnavailable"
    )
    client = signed_in_firm_client(alice, acme)
    assert client.get("/offboarding/status/").json()["status"] == "failed"
    page = client.get("/offboarding/").content.decode()
    assert "自動で再試行します" in page and "<progress" not in page
