"""Rotating a firm's keys: a new key-encryption key, every data key re-wrapped under it, a
fresh data-key version, and the old KEK destroyed once nothing refers to it.

    rotate_firm_key(firm, actor_email=...)      # "rotate now" (console, rotate_tenant_key)
    rotate_due_firms()                          # automatic, yearly by default (beat)
    retire_unused_keks()                        # destroy replaced KEKs nothing refers to

One transaction, in the firm's schema, holds the new KEK's record, the re-wrapped data keys,
the new data-key version, the FirmKey change and the two log entries (firm log and operator
log): all of it commits, or none. Only after the commit is the old KEK destroyed at the
provider, so a rolled-back rotation never leaves data keys wrapped by a destroyed KEK.

With the firm's own key (bring your own key, keys.byok) there is no new KEK to create: the
data keys are re-wrapped under the same key (picking up its newest key material, if the firm
rotates it in KMS) and a new data-key version is added; the firm's key is never destroyed.
docs/keys.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from firms.models import Firm, FirmKey
from operators.log import OperatorLogUnavailable
from tenants.auditlog.errors import AuditLogUnavailable

from . import generation
from .aws import AwsKmsProvider
from .envelope import add_data_key_version, rewrap_data_keys, use_data_key_version
from .errors import CiphertextInvalid, KeyUnavailable
from .events import KeyActor, record_key_event, record_key_event_now
from .models import DataKey, RetiredKek
from .providers import KeyProvider, get_provider

logger = logging.getLogger(__name__)

ROTATION_ACTOR = KeyActor.system("key-rotation")


@dataclass(frozen=True)
class RotationResult:
    firm_slug: str
    provider: str
    old_key_id: str
    new_key_id: str
    data_keys_rewrapped: int
    data_key_version: int
    old_key_retired: bool


def rotate_firm_key(
    firm: Firm,
    *,
    actor_email: str,
    actor_user_id: int | None = None,
    ip: str | None = None,
    automatic: bool = False,
) -> RotationResult:
    """Rotate the firm's KEK and data key now. `actor_email` is the operator's, or
    `system:<reason>` for a job. Raises KeyUnavailable if the provider refuses (nothing
    changes then; the failure is logged in both logs)."""
    actor = KeyActor(email=actor_email, user_id=actor_user_id, ip=ip)
    event = "auto_rotate" if automatic else "rotate"
    created: list[tuple[KeyProvider, str, str]] = []  # (provider, new key, old key) to undo
    try:
        result, plaintext = _rotate(firm, actor, event, created)
    except (KeyUnavailable, CiphertextInvalid) as error:
        _discard(firm, created)
        code = getattr(error, "code", "ciphertext_invalid")
        logger.error("KEY_ROTATION_FAILED firm=%s reason=%s", firm.slug, code)
        record_failure(firm, actor=actor, event=event, code=code)
        raise
    except BaseException:
        _discard(firm, created)
        raise
    use_data_key_version(firm, result.data_key_version, plaintext)
    retired = retire_unused_keks(firm=firm, actor=actor)
    logger.info(
        "rotated the key of firm %s: %d data keys re-wrapped, data key v%d",
        firm.slug,
        result.data_keys_rewrapped,
        result.data_key_version,
    )
    return replace(result, old_key_retired=result.old_key_id in retired)


def record_failure(firm: Firm, *, actor: KeyActor, event: str, code: str) -> None:
    """Both logs get the failed attempt; if even that fails, the error log has it."""
    try:
        record_key_event_now(firm, actor=actor, event=event, detail={"error": code}, allowed=False)
    except (DatabaseError, AuditLogUnavailable, OperatorLogUnavailable):
        logger.exception("could not log the failed key event %s of firm %s", event, firm.slug)


def _rotate(
    firm: Firm, actor: KeyActor, event: str, created: list[tuple[KeyProvider, str, str]]
) -> tuple[RotationResult, bytes]:
    with tenant_context(firm), transaction.atomic(durable=True):
        firm_key = FirmKey.objects.select_for_update().get(firm=firm)  # one rotation at a time
        if firm_key.state != FirmKey.State.ACTIVE or not firm_key.key_id:
            raise KeyUnavailable(
                f"the key of firm {firm.slug} is {firm_key.state}; nothing to rotate",
                code=f"key_{firm_key.state}",
            )
        provider = get_provider(firm_key.provider or None)
        old_key_id = firm_key.key_id
        if firm_key.byok:
            new_key_id = old_key_id
        else:
            new_key_id = provider.create_key(firm)
            created.append((provider, new_key_id, old_key_id))
        rewrapped = rewrap_data_keys(firm, provider, new_key_id)
        firm_key.key_id = new_key_id
        version, plaintext = add_data_key_version(firm, firm_key, provider)
        firm_key.rotated_at = timezone.now()
        firm_key.save(update_fields=["key_id", "rotated_at"])
        # Other processes pick up the new data-key version (and drop keys unwrapped through
        # the old KEK) at their next use, not when their cache expires.
        generation.bump(firm)
        if new_key_id != old_key_id:
            RetiredKek.objects.create(firm=firm, provider=provider.name, key_id=old_key_id)
        # Last, after the KMS calls, so the firm's chain lock is held only for the commit.
        record_key_event(
            firm,
            actor=actor,
            event=event,
            detail={
                "provider": provider.name,
                "byok": firm_key.byok,
                "new_kek": new_key_id != old_key_id,
                "data_keys_rewrapped": rewrapped,
                "data_key_version": version,
            },
        )
    result = RotationResult(
        firm_slug=firm.slug,
        provider=provider.name,
        old_key_id=old_key_id,
        new_key_id=new_key_id,
        data_keys_rewrapped=rewrapped,
        data_key_version=version,
        old_key_retired=False,
    )
    return result, plaintext


def _discard(firm: Firm, created: list[tuple[KeyProvider, str, str]]) -> None:
    """A rotation that rolled back: a KMS key it created holds nothing; delete it and point the
    firm's alias back. (A local KEK's row rolled back with the transaction.)"""
    for provider, new_key_id, old_key_id in created:
        if not isinstance(provider, AwsKmsProvider):
            continue
        try:
            provider.point_alias(firm, old_key_id)
            provider.schedule_key_deletion(new_key_id)
        except KeyUnavailable:
            logger.exception("could not discard the unused KMS key %s", new_key_id)


def retire_unused_keks(*, firm: Firm | None = None, actor: KeyActor = ROTATION_ACTOR) -> set[str]:
    """Destroy every replaced KEK (of one firm, or all) that no data key refers to any more.
    Returns the key ids destroyed. A provider failure leaves the KEK waiting for the next run
    (the daily rotation task runs this too)."""
    waiting = RetiredKek.objects.filter(destroyed_at__isnull=True)
    if firm is not None:
        waiting = waiting.filter(firm=firm)
    destroyed = set()
    for retired_id in list(waiting.values_list("pk", flat=True)):
        try:
            key_id = _retire(retired_id, actor)
        except KeyUnavailable as error:
            logger.error("KEY_RETIRE_FAILED retired_kek=%s reason=%s", retired_id, error.code)
            continue
        except (DatabaseError, AuditLogUnavailable, OperatorLogUnavailable):
            # Not destroyed on record; the next run tries again (destruction is idempotent).
            logger.exception("KEY_RETIRE_FAILED retired_kek=%s reason=log_unavailable", retired_id)
            continue
        if key_id:
            destroyed.add(key_id)
    return destroyed


def _retire(retired_id: int, actor: KeyActor) -> str | None:
    retired = RetiredKek.objects.select_related("firm").get(pk=retired_id)
    firm = retired.firm
    with tenant_context(firm), transaction.atomic():
        retired = RetiredKek.objects.select_for_update().get(pk=retired_id)
        if retired.destroyed_at is not None:
            return None
        if DataKey.objects.filter(provider=retired.provider, key_id=retired.key_id).exists():
            return None  # still needed
        get_provider(retired.provider).schedule_key_deletion(retired.key_id)
        retired.destroyed_at = timezone.now()
        retired.save(update_fields=["destroyed_at"])
        record_key_event(
            firm,
            actor=actor,
            event="retire",
            detail={"provider": retired.provider, "replaced_at": retired.replaced_at.isoformat()},
        )
    return retired.key_id


def due_firms(now: datetime | None = None) -> list[Firm]:
    """Firms with an active key last rotated (or created) KEY_ROTATION_DAYS ago or more."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.KEY_ROTATION_DAYS)
    due = (
        FirmKey.objects.filter(state=FirmKey.State.ACTIVE)
        .exclude(key_id="")
        .annotate(last=Coalesce(F("rotated_at"), F("created_at")))
        .filter(Q(last__lte=cutoff))
        .values_list("firm_id", flat=True)
    )
    return list(
        Firm.objects.filter(pk__in=list(due))
        .exclude(schema_name=get_public_schema_name())
        .order_by("slug")
    )


def is_due(firm: Firm, now: datetime | None = None) -> bool:
    return any(candidate.pk == firm.pk for candidate in due_firms(now))


def rotate_due_firms(now: datetime | None = None) -> list[str]:
    """In-process automatic rotation (the command line and tests; beat fans out one task per
    firm instead). Returns the slugs rotated; one firm's failure does not stop the others."""
    rotated = []
    for firm in due_firms(now):
        try:
            rotate_firm_key(firm, actor_email=ROTATION_ACTOR.email, automatic=True)
        except (KeyUnavailable, CiphertextInvalid):
            continue  # logged (KEY_ROTATION_FAILED) and recorded by rotate_firm_key
        rotated.append(firm.slug)
    return rotated
