"""The bulk onboarding of client firms runs here, not in the request: provisioning a firm
takes a moment each, and an office imports dozens (practices.client_import). The task is
given the import's id only; the rows stay in the database. It runs in the public schema."""

from __future__ import annotations

from celery import shared_task

from authz.actions import Action


@shared_task(name="practices.client_import", authz_action=Action.PRACTICE_MANAGE)
def client_import(import_id: int) -> str:
    from .client_import import run_import

    done = run_import(import_id)
    return done.status if done is not None else "gone"
