"""KMS health checks that alert: a round trip under each firm's KEK.

Per firm with an active key, `check_firm_key` wraps a fresh random value under the firm's KEK
with the encryption context {"firm": <schema>, "purpose": "health", "version": "0"} and unwraps
it again (aws: Encrypt + Decrypt; local: the same with the master key and the local KEK). That
proves the key is enabled, reachable and usable by the platform with this firm's context,
which a DescribeKey alone would not (a revoked grant still describes).

A failure is logged at ERROR with a stable line alarms can match:

    KMS_HEALTH_FAILED firm=<slug> reason=<code>

The result is kept on firms.FirmKey (last_health_check_at, last_health_ok,
last_health_error), and a change of state (failing, or working again) is written to the
firm's log and the operator log. docs/keys.md.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from firms.models import Firm, FirmKey

from . import generation
from .errors import CiphertextInvalid, KeyUnavailable
from .events import KeyActor, record_key_event
from .providers import KeyProvider, get_provider

logger = logging.getLogger(__name__)

HEALTH_ACTOR = KeyActor.system("kms-health")


@dataclass(frozen=True)
class HealthResult:
    firm_slug: str
    ok: bool
    reason: str = ""
    changed: bool = False


def round_trip(provider: KeyProvider, key_id: str, context: dict[str, str]) -> None:
    """Wrap a random value under the KEK and unwrap it; raise KeyUnavailable (or
    CiphertextInvalid) unless it comes back unchanged."""
    probe = secrets.token_bytes(32)
    wrapped = provider.wrap_data_key(key_id, probe, context)
    if provider.decrypt_data_key(key_id, wrapped, context) != probe:
        raise CiphertextInvalid(f"the round trip under {key_id} returned another value")


def health_context(firm: Firm) -> dict[str, str]:
    return {"firm": firm.schema_name, "purpose": "health", "version": "0"}


def check_firm_key(firm: Firm) -> HealthResult | None:
    """One round trip under the firm's KEK; records and reports the result. None for a firm
    without an active key (pending, or destroyed at offboarding: failing is expected)."""
    firm_key = FirmKey.objects.filter(firm=firm).first()
    if firm_key is None or firm_key.state != FirmKey.State.ACTIVE or not firm_key.key_id:
        return None
    reason = ""
    try:
        round_trip(get_provider(firm_key.provider or None), firm_key.key_id, health_context(firm))
    except KeyUnavailable as error:
        reason = error.code
    except CiphertextInvalid:
        reason = "round_trip_mismatch"
    if reason and firm_key.byok:
        reason = f"byok_{reason}"
    if reason:
        logger.error("KMS_HEALTH_FAILED firm=%s reason=%s", firm.slug, reason)
    return _record(firm, ok=not reason, reason=reason)


def _record(firm: Firm, *, ok: bool, reason: str) -> HealthResult:
    with tenant_context(firm), transaction.atomic():
        firm_key = FirmKey.objects.select_for_update().get(firm=firm)
        before_ok, before_reason = firm_key.last_health_ok, firm_key.last_health_error
        firm_key.last_health_check_at = timezone.now()
        firm_key.last_health_ok = ok
        firm_key.last_health_error = reason[:64]
        firm_key.save(update_fields=["last_health_check_at", "last_health_ok", "last_health_error"])
        # A first success is not news; a first failure, a new failure reason and a recovery
        # are.
        changed = (not ok and (before_ok is not False or before_reason != reason)) or (
            ok and before_ok is False
        )
        if not ok:
            # The key is refused (disabled, pending deletion, grant revoked): every process
            # drops the firm's cached keys at its next use and asks KMS again, which refuses.
            generation.bump(firm)
        if changed:
            event = _event(ok=ok, byok=firm_key.byok)
            detail = {"provider": firm_key.provider, "byok": firm_key.byok}
            if reason:
                detail["reason"] = reason
            record_key_event(firm, actor=HEALTH_ACTOR, event=event, detail=detail, allowed=ok)
    return HealthResult(firm.slug, ok, reason, changed)


def _event(*, ok: bool, byok: bool) -> str:
    if ok:
        return "health_restored"
    return "byok_refused" if byok else "health_failed"


def firms_to_check() -> list[Firm]:
    active = FirmKey.objects.filter(state=FirmKey.State.ACTIVE).exclude(key_id="")
    return list(
        Firm.objects.filter(pk__in=active.values("firm_id"))
        .exclude(schema_name=get_public_schema_name())
        .order_by("slug")
    )


def check_all() -> list[HealthResult]:
    """In-process, for the command line and tests; beat fans out one task per firm."""
    results = []
    for firm in firms_to_check():
        result = check_firm_key(firm)
        if result is not None:
            results.append(result)
    return results
