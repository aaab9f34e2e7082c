"""Beat fans out one checkpoint task per firm. tenant-schemas-celery reads the schema from
the `_schema_name` message header and switches the worker's connection to it before the task
runs; the schema is also passed as an argument so a task that lost its header refuses to run
instead of checkpointing the wrong schema."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection

from authz.actions import Action
from firms.models import Firm

from .checkpoints import firms_with_logs, record_checkpoint

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint_all", authz_action=Action.SYSTEM_SCHEDULE)
def checkpoint_all() -> int:
    schemas = [firm.schema_name for firm in firms_with_logs()]
    for schema in schemas:
        checkpoint_firm.apply_async(args=[schema], headers={"_schema_name": schema})
    return len(schemas)


@shared_task(name="audit.checkpoint_firm", authz_action=Action.SYSTEM_SCHEDULE)
def checkpoint_firm(schema_name: str) -> int | None:
    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"checkpoint task for {schema_name!r} ran in schema {current!r}")
    checkpoint = record_checkpoint(Firm.objects.get(schema_name=schema_name))
    return None if checkpoint is None else checkpoint.seq


@shared_task(name="audit.verify_all_chains", authz_action=Action.SYSTEM_SCHEDULE)
def verify_all_chains() -> int:
    """Beat, nightly after the anchor: one incremental verification task per firm
    (audit.chain_verification), each given the newest anchor's name so every firm checks
    against the same one. An anchor that does not verify is reported here, once, and the
    firms are still verified, without moving their points."""
    from .chain_verification import usable_anchor

    anchor = usable_anchor()
    schemas = [firm.schema_name for firm in firms_with_logs()]
    for schema in schemas:
        verify_firm_chain.apply_async(args=[schema, anchor], headers={"_schema_name": schema})
    return len(schemas)


@shared_task(name="audit.verify_firm_chain", authz_action=Action.SYSTEM_SCHEDULE)
def verify_firm_chain(schema_name: str, anchor_name: str | None) -> bool:
    """The firm's verification, in the firm's schema only (as checkpoint_firm)."""
    from .chain_verification import verify_schema

    current = getattr(connection, "schema_name", None)
    if current != schema_name:
        raise RuntimeError(f"verification task for {schema_name!r} ran in schema {current!r}")
    return verify_schema(schema_name, anchor_name=anchor_name).ok


@shared_task(
    name="audit.run_export_job",
    autoretry_for=(ConnectionError,),
    max_retries=3,
    authz_action=Action.AUDIT_EXPORT,
)
def run_export_job(job_id: str) -> int:
    from .export_jobs import job_run

    return job_run(job_id).entries


@shared_task(name="audit.dispatch_queued_exports", bind=True, authz_action=Action.SYSTEM_SCHEDULE)
def dispatch_queued_exports(self) -> int:
    """Beat, every minute: send again the exports still queued (docs/decisions.md D25), to
    the queue this task came from (so a worker serving one queue does all of it)."""
    from .export_jobs import dispatch_queued_exports as dispatch

    return dispatch(queue=(self.request.delivery_info or {}).get("routing_key") or None)


@shared_task(name="audit.purge_expired_exports", authz_action=Action.SYSTEM_SCHEDULE)
def purge_expired_exports() -> int:
    from .export_jobs import purge_expired_exports as purge

    return purge()


@shared_task(name="audit.anchor_heads", authz_action=Action.SYSTEM_SCHEDULE)
def anchor_heads() -> str:
    """Beat, daily: sign every firm's chain head into write-once storage (audit.anchoring)."""
    from .anchoring import anchor_heads as anchor

    return anchor().root
