"""A real Celery worker process runs the project's tasks against the same database.

The broker is CELERY_BROKER_URL when set (CI: Redis on 127.0.0.1:6379), else the
filesystem transport of the embedded default; a private queue keeps a running `make run`
worker from taking the test's message.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import HostHandoff
from accounts.tasks import purge_expired_task
from tests.helpers import make_firm, make_user, start_worker, stop_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue)
    yield queue
    stop_worker(worker)


@pytest.fixture
def acme():
    return make_firm("acme")


def test_worker_purges_expired_handoff_tickets(worker_queue, acme):
    alice = make_user("alice@acme.test", firm=acme)
    stale = HostHandoff.objects.create(
        token_hash="a" * 64, user=alice, firm=acme, parent_session_key="s"
    )
    HostHandoff.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    fresh = HostHandoff.objects.create(
        token_hash="b" * 64, user=alice, firm=acme, parent_session_key="s"
    )
    purge_expired_task.apply_async(queue=worker_queue)
    deadline = time.monotonic() + 60
    while HostHandoff.objects.filter(pk=stale.pk).exists():
        assert time.monotonic() < deadline, "the worker did not run the task within 60 s"
        time.sleep(0.3)
    assert HostHandoff.objects.filter(pk=fresh.pk).exists()
