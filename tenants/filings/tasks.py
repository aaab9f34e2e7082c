"""Beat runs `filings.purge_all` every 15 minutes; it fans out one task per firm, and
tenant-schemas-celery switches the worker to the firm's schema from the `_schema_name`
header (as the other fan-outs do). The task checks it runs there."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from audit.checkpoints import firms_with_logs
from authz.actions import Action
from firms.models import Firm

from .workflow import purge_expired


@shared_task(name="filings.purge_all", authz_action=Action.SYSTEM_SCHEDULE)
def purge_all() -> int:
    schemas = [firm.schema_name for firm in firms_with_logs()]
    for schema in schemas:
        purge_firm.apply_async(args=[schema], headers={"_schema_name": schema})
    return len(schemas)


@shared_task(name="filings.purge_firm", authz_action=Action.SYSTEM_SCHEDULE)
def purge_firm(schema_name: str) -> int:
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"filings purge for {schema_name!r} ran in schema {current!r}")
    return purge_expired(Firm.objects.get(schema_name=schema_name))
