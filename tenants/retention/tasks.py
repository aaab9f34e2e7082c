"""Beat runs `retention.sweep_all` daily; it fans out one task per firm. tenant-schemas-celery
switches the worker to the firm's schema from the `_schema_name` header (as audit.tasks
does), and the task refuses to run anywhere else. The per-firm tasks go to the queue the
fan-out came from, so a worker serving one queue runs the whole sweep."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from audit.checkpoints import firms_with_logs
from authz.actions import Action
from firms.models import Firm

from .services import retention_sweep


@shared_task(name="retention.sweep_all", bind=True, authz_action=Action.RETENTION_SWEEP)
def sweep_all(self) -> int:
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    schemas = [firm.schema_name for firm in firms_with_logs()]
    for schema in schemas:
        sweep_firm.apply_async(args=[schema], headers={"_schema_name": schema}, queue=queue)
    return len(schemas)


# Acknowledged only once done, and given back if the worker dies: the sweep is idempotent
# (tests/trust/test_faults_sweep.py), so a worker killed mid-sweep leaves the message for
# the next worker instead of leaving the rest of the firm for tomorrow's run.
@shared_task(
    name="retention.sweep_firm",
    acks_late=True,
    reject_on_worker_lost=True,
    authz_action=Action.RETENTION_SWEEP,
)
def sweep_firm(schema_name: str) -> int:
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"retention task for {schema_name!r} ran in schema {current!r}")
    return retention_sweep(Firm.objects.get(schema_name=schema_name)).deleted
