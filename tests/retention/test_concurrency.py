"""Two sweeps of one firm at once, each on its own connection, share the due rows between
them: every number is deleted once, recorded once and logged once."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tenants.custody.models import MyNumberRecord
from tenants.retention import services
from tenants.retention.models import DeletionRecord
from tests.helpers import make_firm

from .conftest import person_with_number

pytestmark = pytest.mark.django_db(transaction=True)
PEOPLE = 40


def test_two_concurrent_sweeps_never_double_delete(monkeypatch):
    acme = make_firm("acme")
    for index in range(PEOPLE):
        person_with_number(acme, index, ended=date(2017, 6, 30))
    monkeypatch.setattr(services, "BATCH_SIZE", 3)  # many small batches: they interleave
    start = threading.Barrier(2)
    results: list[services.SweepResult] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            with tenant_context(acme):
                start.wait()
                results.append(services.retention_sweep(acme))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.deleted for r in results) == PEOPLE
    with tenant_context(acme):
        people = list(DeletionRecord.objects.values_list("person_id", flat=True))
        logged = list(
            AccessLogEntry.objects.filter(action="delete").values_list("person_id", flat=True)
        )
        assert MyNumberRecord.objects.count() == 0
        assert verify_chain().ok
    assert len(people) == len(set(people)) == PEOPLE
    assert sorted(logged) == sorted(people)
    assert connection.schema_name == "public"
