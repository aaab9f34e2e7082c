"""The retention sweep in a process of its own, for tests/trust/test_faults_sweep.py to kill.

Runs what `./manage.py retention_sweep` runs (every firm, in slug order), in batches of
SWEEP_BATCH_SIZE. After each batch's deletions, records and log entries are written, and
before its transaction commits, it prints "BATCH <n> <schema> <records> <backend pid>"; at
batch SWEEP_PAUSE_AT_BATCH it waits there, holding the uncommitted batch, until it is killed.
The pause only makes the moment of the kill certain; the kill itself is a real SIGKILL.
"""

from __future__ import annotations

import os
import time

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tenants.retention import services  # noqa: E402

services.BATCH_SIZE = int(os.environ["SWEEP_BATCH_SIZE"])
PAUSE_AT = int(os.environ.get("SWEEP_PAUSE_AT_BATCH", "0"))
real_erase = services._erase
batches = 0


def erase(locked, **kwargs):
    global batches
    records = real_erase(locked, **kwargs)
    batches += 1
    pid = connection.connection.info.backend_pid
    print(f"BATCH {batches} {connection.schema_name} {len(records)} {pid}", flush=True)
    if batches == PAUSE_AT:
        time.sleep(3600)  # killed here: this batch is written, not committed
    return records


services._erase = erase
call_command("retention_sweep")
print("DONE", flush=True)
