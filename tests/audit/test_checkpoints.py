"""Chain heads are checkpointed in the public schema, per firm, only when they advance; the
beat task fans out one task per firm, each run in that firm's schema."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from audit.checkpoints import record_all_checkpoints, record_checkpoint
from audit.models import AuditCheckpoint
from audit.tasks import checkpoint_all, checkpoint_firm
from config.celery import app

from .conftest import append

pytestmark = pytest.mark.django_db


def checkpoints(firm) -> list[tuple[int, str]]:
    return list(
        AuditCheckpoint.objects.filter(firm=firm).order_by("seq").values_list("seq", "hash")
    )


def test_checkpoints_are_per_firm_and_only_when_the_chain_advanced(acme, globex):
    acme_entries = append(acme, 3)
    assert record_checkpoint(globex) is None  # nothing logged yet: nothing to protect
    stored = record_checkpoint(acme)
    assert stored is not None and (stored.seq, stored.hash) == (3, acme_entries[-1].hash)
    assert record_checkpoint(acme) is None  # unchanged: no duplicate
    globex_entries = append(globex, 2)
    append(acme, 1)
    recorded = record_all_checkpoints()
    assert sorted((c.firm.slug, c.seq) for c in recorded) == [("acme", 4), ("globex", 2)]
    assert [seq for seq, _hash in checkpoints(acme)] == [3, 4]
    assert checkpoints(globex) == [(2, globex_entries[-1].hash)]
    assert record_all_checkpoints() == []
    assert connection.schema_name == "public"


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_beat_task_fans_out_to_every_firm_in_its_schema(acme, globex, eager_celery):
    append(acme, 2)
    append(globex, 5)
    assert checkpoint_all.apply().get() == 2
    assert [seq for seq, _ in checkpoints(acme)] == [2]
    assert [seq for seq, _ in checkpoints(globex)] == [5]
    checkpoint_all.apply().get()
    assert AuditCheckpoint.objects.count() == 2
    assert connection.schema_name == "public"


def test_firm_task_refuses_to_run_outside_its_schema(acme):
    """Without the schema header tenant-schemas-celery would run it in public."""
    result = checkpoint_firm.apply(args=[acme.schema_name])
    assert result.failed() and "ran in schema 'public'" in str(result.result)
    ok = checkpoint_firm.apply(args=[acme.schema_name], headers={"_schema_name": "firm_acme"})
    assert ok.successful()


def test_beat_runs_it_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoints"]
    assert entry == {"task": "audit.checkpoint_all", "schedule": 3600.0}
