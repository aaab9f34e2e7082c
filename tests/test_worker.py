"""A real Celery worker process runs the project's tasks against the same database.

The broker is CELERY_BROKER_URL when set (CI: Redis on 127.0.0.1:6379), else the
filesystem transport of the embedded default; a private queue keeps a running `make run`
worker from taking the test's message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import HostHandoff
from accounts.tasks import purge_expired_task
from tests.helpers import database_url, make_firm, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle",
         "--loglevel", "WARNING"],
        env=env,
    )  # fmt: skip
    yield queue
    worker.terminate()
    worker.wait(timeout=20)


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
