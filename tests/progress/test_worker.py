"""With data committed for real: progress written inside a job's open transaction is seen
by others at once (and survives that transaction's rollback), and a real Celery worker
process runs a confirmed import (through the broker: its arguments pass config.celery's
check) in the firm's schema, to the end."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role
from config.progress import ProgressWriter
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.verification import verify_chain
from tenants.custody import tasks
from tenants.custody.models import ImportUpload, Person
from tests.helpers import (
    make_firm,
    make_user,
    signed_in_firm_client,
    start_worker,
    stop_worker,
)

from .test_import_progress import staged

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue)
    yield queue
    stop_worker(worker)


def test_progress_written_inside_a_transaction_is_seen_at_once_and_kept():
    acme = make_firm("acme")
    with tenant_context(acme):
        upload = ImportUpload.objects.create(
            ciphertext=b"x", row_count=10, expires_at=timezone.now() + timedelta(hours=1)
        )
        with pytest.raises(RuntimeError), transaction.atomic():
            # The job's own transaction, as the import's.
            Person.objects.create(kind="employee", family_name="仮", given_name="人",
                                  family_name_kana="カリ", given_name_kana="ヒト")  # fmt: skip
            with ProgressWriter(ImportUpload, upload.pk) as progress:
                progress.update(4, 10)
            # Committed by the writer's own connection: this transaction's next statement
            # already sees it (READ COMMITTED).
            assert ImportUpload.objects.values_list("progress_done", "progress_total").get(
                pk=upload.pk
            ) == (4, 10)
            raise RuntimeError("the job fails")
        assert not Person.objects.exists()  # the job's work rolled back...
        assert ImportUpload.objects.get(pk=upload.pk).progress_done == 4  # ...its progress not
    assert "progress" not in connections  # the writer's connection is its own, and closed


def test_a_worker_runs_a_confirmed_import_in_the_firms_schema(worker_queue, monkeypatch):
    acme = make_firm("acme")
    harry = make_user("harry@acme.test", firm=acme, role=Role.HANDLER)
    client = signed_in_firm_client(harry, acme)
    pk = staged(client, 25)
    real = tasks.import_upload.apply_async
    sent: list = []

    def to_the_test_queue(*args, **kwargs):
        sent.append(kwargs)
        return real(*args, queue=worker_queue, **kwargs)

    monkeypatch.setattr(tasks.import_upload, "apply_async", to_the_test_queue)
    response = client.post(f"/people/import/{pk}/", {"action": "confirm"})
    assert response.status_code == 302 and len(sent) == 1  # queued after the commit
    assert sent[0]["args"] == [acme.schema_name, str(pk)]  # the schema and the id, nothing else
    deadline = time.monotonic() + 90
    while client.get(f"/people/import/{pk}/status/").json()["status"] != "done":
        assert time.monotonic() < deadline, "the worker did not import within 90 s"
        time.sleep(0.3)
    assert "25人を登録しました" in client.get(f"/people/import/{pk}/").content.decode()
    with tenant_context(acme):
        assert Person.objects.count() == 25
        entries = AccessLogEntry.objects.filter(action="create", actor_email=harry.email)
        assert entries.count() == 25 and verify_chain().ok
        upload = ImportUpload.objects.get(pk=pk)
        assert (upload.progress_done, upload.progress_total, upload.imported_count) == (25, 25, 25)
