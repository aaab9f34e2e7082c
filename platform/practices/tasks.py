"""The practices' background work.

- The bulk onboarding of client firms runs here, not in the request: provisioning a firm
  takes a moment each, and an office imports dozens (practices.client_import). The task is
  given the import's id only; the rows stay in the database. It runs in the public schema.
- Beat fans out one escalation task per client firm whose practice has escalation on, as
  the reminders do (tenants.collection.tasks): tenant-schemas-celery switches the worker to
  the firm's schema from the `_schema_name` header, and the task checks it.
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from authz.actions import Action
from firms.models import Firm

from .escalation import firms_to_check, notify_owners


@shared_task(name="practices.client_import", authz_action=Action.PRACTICE_MANAGE)
def client_import(import_id: int) -> str:
    from .client_import import run_import

    done = run_import(import_id)
    return done.status if done is not None else "gone"


@shared_task(name="practices.escalate_all", authz_action=Action.SYSTEM_SCHEDULE)
def escalate_all() -> int:
    schemas = [firm.schema_name for firm in firms_to_check()]
    for schema in schemas:
        escalate_firm.apply_async(args=[schema], headers={"_schema_name": schema})
    return len(schemas)


@shared_task(name="practices.escalate_firm", authz_action=Action.SYSTEM_SCHEDULE)
def escalate_firm(schema_name: str) -> int:
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"escalation task for {schema_name!r} ran in schema {current!r}")
    return notify_owners(Firm.objects.get(schema_name=schema_name))
