"""The daily sweep in a real Celery worker process (Redis where CELERY_BROKER_URL points at
it, as on CI), with the sweep's clock moved forward to 2040 through RETENTION_NOW. Beat's
task fans out one task per firm, carried into the firm's schema by tenant-schemas-celery."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
from django_tenants.utils import tenant_context

from tenants.custody.models import MyNumberRecord
from tenants.retention.models import DeletionRecord
from tenants.retention.tasks import sweep_all
from tests.helpers import make_firm, start_worker, stop_worker

from .conftest import FAR_FUTURE, person_with_number

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, RETENTION_NOW=FAR_FUTURE.isoformat())
    yield queue
    stop_worker(worker)


def deleted(firm) -> list[int]:
    with tenant_context(firm):
        return list(DeletionRecord.objects.values_list("person_id", flat=True))


def test_the_worker_sweeps_every_firm_once_with_time_moved_forward(worker_queue):
    acme, globex = make_firm("acme"), make_firm("globex")
    # Due 2028-01-11: not yet today, long past in the worker's 2040.
    due = {
        acme: [person_with_number(acme, i, ended=date(2020, 3, 31)).pk for i in range(3)],
        globex: [person_with_number(globex, 10 + i, ended=date(2020, 3, 31)).pk for i in range(2)],
    }
    kept = person_with_number(acme, 20, ended=date(2036, 3, 31))  # due 2044
    sweep_all.apply_async(queue=worker_queue)
    sweep_all.apply_async(queue=worker_queue)  # a second run: nothing more happens
    deadline = time.monotonic() + 90
    while sorted(deleted(acme)) != sorted(due[acme]) or sorted(deleted(globex)) != sorted(
        due[globex]
    ):
        assert time.monotonic() < deadline, "the worker did not sweep within 90 s"
        time.sleep(0.3)
    time.sleep(2)  # let the second run finish
    for firm in (acme, globex):
        assert sorted(deleted(firm)) == sorted(due[firm])  # once each
        with tenant_context(firm):
            assert set(MyNumberRecord.objects.values_list("person_id", flat=True)) <= {kept.pk}
    with tenant_context(acme):
        assert MyNumberRecord.objects.filter(person_id=kept.pk).exists()
        record = DeletionRecord.objects.first()
        assert record.deleted_at.year == 2040 and record.deleted_by == "system:retention-sweep"
