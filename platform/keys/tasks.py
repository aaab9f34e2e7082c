"""Beat tasks for keys: automatic rotation (daily check, yearly by default) and KMS health
checks, each fanned out as one task per firm. Both run in the public schema: the services
enter the firm's schema themselves (tenant_context) to write its log. Arguments are firm ids,
never anything secret."""

from __future__ import annotations

from celery import shared_task

from authz.actions import Action
from firms.models import Firm

from .errors import CiphertextInvalid, KeyUnavailable
from .health import check_firm_key, firms_to_check
from .rotation import ROTATION_ACTOR, due_firms, is_due, retire_unused_keks, rotate_firm_key


@shared_task(name="keys.rotate_due", authz_action=Action.SYSTEM_SCHEDULE)
def rotate_due() -> int:
    """Destroy replaced KEKs nothing refers to any more (retries after a provider failure),
    then send one rotation per firm whose key is due."""
    retire_unused_keks()
    firms = due_firms()
    for firm in firms:
        rotate_firm.apply_async(args=[firm.pk])
    return len(firms)


@shared_task(name="keys.rotate_firm", authz_action=Action.SYSTEM_SCHEDULE)
def rotate_firm(firm_id: int) -> int | None:
    firm = Firm.objects.get(pk=firm_id)
    if not is_due(firm):  # rotated meanwhile (by an operator, or a duplicate message)
        return None
    try:
        result = rotate_firm_key(firm, actor_email=ROTATION_ACTOR.email, automatic=True)
    except (KeyUnavailable, CiphertextInvalid):
        return None  # logged (KEY_ROTATION_FAILED) and recorded in both logs; retried tomorrow
    return result.data_key_version


@shared_task(name="keys.health_check_all", authz_action=Action.SYSTEM_SCHEDULE)
def health_check_all() -> int:
    firms = firms_to_check()
    for firm in firms:
        health_check_firm.apply_async(args=[firm.pk])
    return len(firms)


@shared_task(name="keys.health_check_firm", authz_action=Action.SYSTEM_SCHEDULE)
def health_check_firm(firm_id: int) -> bool | None:
    result = check_firm_key(Firm.objects.get(pk=firm_id))
    return None if result is None else result.ok
