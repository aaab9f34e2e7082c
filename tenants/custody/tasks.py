"""The CSV import of people runs here, not in the request (tenants.custody.csv_import).
tenant-schemas-celery switches the worker to the firm's schema from the `_schema_name`
header; the schema is also an argument, so a task that lost its header refuses to run
instead of looking in the wrong schema. Only the upload's id travels, never anything of the
file."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from authz.actions import Action


@shared_task(name="custody.import_upload", authz_action=Action.PEOPLE_WRITE)
def import_upload(schema_name: str, upload_id: str) -> str:
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"import task for {schema_name!r} ran in schema {current!r}")
    from .csv_import import run_import

    upload = run_import(upload_id)
    return upload.status if upload is not None else "gone"


@shared_task(name="custody.bulk_run", authz_action=Action.PEOPLE_WRITE)
def bulk_run(schema_name: str, job_id: str) -> str:
    """A bulk action from the people list (tenants.custody.bulk): only the job's id travels;
    the job holds person ids, and the action is decided again for who confirmed it."""
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"bulk task for {schema_name!r} ran in schema {current!r}")
    from .bulk import run

    job = run(job_id)
    return job.status if job is not None else "gone"
