"""Faults: the process running the retention sweep is killed (SIGKILL) partway.

The sweep runs in a process of its own (tests/trust/sweep_child.py: what
`./manage.py retention_sweep` and the Celery task run), in small batches over three firms.
It is killed with SIGKILL while a batch of the second firm is written but not committed.
The first firm's batches committed and stay; the batch in flight rolls back with the dead
connection; a rerun deletes everything still due. In the end every due number is deleted
exactly once, with exactly one DeletionRecord and one log entry, and every chain verifies.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.auditlog.verification import verify_chain
from tenants.custody import services as custody
from tenants.custody.models import MyNumberRecord
from tenants.custody.mynumber import check_digit
from tenants.retention.models import DeletionRecord
from tests.helpers import database_url, make_firm

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.trust]
SEEDER = Actor.system("test-seed")
FAR_FUTURE = datetime(2040, 6, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
DUE_PER_FIRM = 4
BATCH_SIZE = 3  # 4 due per firm: batches 1-2 are the first firm's, 3 is the second's first
KILL_AT_BATCH = 3


def number(index: int) -> str:
    body = f"{42_000_000_000 + index:011d}"
    return body + str(check_digit(body))


def seed(firm, start: int) -> tuple[set[int], int]:
    """DUE_PER_FIRM people whose relationship ended long ago, and one still employed."""
    due = set()
    with tenant_context(firm):
        for index in range(start, start + DUE_PER_FIRM + 1):
            person = custody.person_create(
                actor=SEEDER,
                data={"kind": "employee", "family_name": "山田", "given_name": f"{index}郎",
                      "family_name_kana": "ヤマダ", "given_name_kana": "タロウ"},
            )  # fmt: skip
            custody.number_set(actor=SEEDER, firm=firm, person=person, raw=number(index),
                               purpose_codes=None)  # fmt: skip
            if index < start + DUE_PER_FIRM:
                custody.person_update(actor=SEEDER, person=person,
                                      changes={"relationship_end": date(2015, 3, 31)})  # fmt: skip
                due.add(person.pk)
            else:
                kept = person.pk
    return due, kept


def deletions(firm) -> tuple[Counter, Counter, set[int]]:
    """(DeletionRecords per person, delete log entries per person, people with a number)."""
    with tenant_context(firm):
        records = Counter(DeletionRecord.objects.values_list("person_id", flat=True))
        logged = Counter(
            AccessLogEntry.objects.filter(action="delete").values_list("person_id", flat=True)
        )
        numbers = set(MyNumberRecord.objects.values_list("person_id", flat=True))
    return records, logged, numbers


def read_batch(process: subprocess.Popen[str], timeout: float) -> list[str]:
    """The next "BATCH ..." line (the command's own report lines are skipped)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([process.stdout], [], [], max(0, deadline - time.monotonic()))
        assert ready, "the sweep process printed no batch in time"
        line = process.stdout.readline()
        assert line, f"the sweep process ended (exit code {process.wait()})"
        if line.startswith("BATCH "):
            return line.split()


def wait_for_backend_to_end(pid: int) -> None:
    """PostgreSQL rolls a dead client's transaction back when it notices the closed socket;
    wait for that, so the rerun does not meet the batch's row locks (it would skip them)."""
    deadline = time.monotonic() + 10
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() is None:
                return
        assert time.monotonic() < deadline, "the killed sweep's backend is still there"
        time.sleep(0.05)


def test_a_sweep_killed_mid_batch_finishes_on_the_rerun_deleting_each_number_once(settings):
    firms = [make_firm(slug) for slug in ("sweep-a", "sweep-b", "sweep-c")]  # slug order
    seeded = [seed(firm, start=10 * i) for i, firm in enumerate(firms)]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "RETENTION_NOW": FAR_FUTURE.isoformat(),
        "SWEEP_BATCH_SIZE": str(BATCH_SIZE),
        "SWEEP_PAUSE_AT_BATCH": str(KILL_AT_BATCH),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.trust.sweep_child"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        batches = [read_batch(child, 60) for _ in range(KILL_AT_BATCH)]
        assert [b[:3] for b in batches] == [
            ["BATCH", "1", "firm_sweep_a"],
            ["BATCH", "2", "firm_sweep_a"],
            ["BATCH", "3", "firm_sweep_b"],
        ]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    wait_for_backend_to_end(int(batches[-1][4]))

    # Killed: the first firm's committed batches stay, the batch in flight rolled back, the
    # third firm was never reached.
    (a_due, a_kept), (b_due, b_kept), (c_due, c_kept) = seeded
    records, logged, numbers = deletions(firms[0])
    assert set(records) == set(logged) == a_due and numbers == {a_kept}
    for firm, (due, kept) in zip(firms[1:], seeded[1:], strict=True):
        records, logged, numbers = deletions(firm)
        assert not records and not logged and numbers == due | {kept}

    # The rerun (the next beat, or an operator's `retention_sweep`), then another for luck.
    settings.RETENTION_NOW = FAR_FUTURE.isoformat()
    call_command("retention_sweep")
    call_command("retention_sweep")

    for firm, (due, kept) in zip(firms, seeded, strict=True):
        records, logged, numbers = deletions(firm)
        assert records == Counter(dict.fromkeys(due, 1)), firm.slug  # each once
        assert logged == Counter(dict.fromkeys(due, 1)), firm.slug
        assert numbers == {kept}
        with tenant_context(firm):
            assert verify_chain().ok
