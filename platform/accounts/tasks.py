from __future__ import annotations

from celery import shared_task

from authz.actions import Action

from .housekeeping import purge_expired


@shared_task(name="accounts.purge_expired", authz_action=Action.SYSTEM_SCHEDULE)
def purge_expired_task() -> dict[str, int]:
    purged = purge_expired()
    return {
        "handoffs": purged.handoffs,
        "invitations": purged.invitations,
        "reservations": purged.reservations,
    }
