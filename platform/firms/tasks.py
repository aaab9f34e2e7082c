"""Background work of firm offboarding (firms.offboarding). Both tasks run in the public
schema's terms: the services enter the firm's schema themselves (tenant_context). The
arguments are record ids, never anything secret; the clock is never a task argument, so
nothing sent through the broker can make a key go or a schema drop early."""

from __future__ import annotations

from celery import shared_task

from authz.actions import Action

from . import offboarding


@shared_task(name="firms.offboarding_start", authz_action=Action.OFFBOARD)
def offboarding_start(record_id: str) -> str:
    """After the owner's request: stop billing, make the final export."""
    return offboarding.offboarding_start(record_id).stage


@shared_task(name="firms.offboarding_sweep", authz_action=Action.SYSTEM_SCHEDULE)
def offboarding_sweep() -> str:
    """Beat, hourly: every offboarding step that is due (export retries, billing, key
    destruction, schema drop)."""
    return offboarding.offboarding_sweep().summary()
