"""Beat fans out one reminder task per firm; tenant-schemas-celery switches the worker to the
firm's schema from the `_schema_name` header (as audit.tasks does), and the task checks it."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from audit.checkpoints import firms_with_logs
from authz.actions import Action
from firms.models import Firm

from .services import purge_deleted_documents, purge_orphan_documents, send_due_reminders


@shared_task(name="collection.remind_all", authz_action=Action.SYSTEM_SCHEDULE)
def remind_all() -> int:
    schemas = [firm.schema_name for firm in firms_with_logs()]
    for schema in schemas:
        remind_firm.apply_async(args=[schema], headers={"_schema_name": schema})
    return len(schemas)


@shared_task(name="collection.remind_firm", authz_action=Action.SYSTEM_SCHEDULE)
def remind_firm(schema_name: str) -> int:
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"reminder task for {schema_name!r} ran in schema {current!r}")
    firm = Firm.objects.get(schema_name=schema_name)
    sent = send_due_reminders(firm)
    # Files whose removal failed after an approval are retried here too, and so are those
    # of people deleted while the store did not answer (no row is left to retry from).
    purge_deleted_documents()
    purge_orphan_documents(firm)
    return sent
