"""Key events, written to the firm's access log and to the operator log together.

A firm sees in its own log every time its key changed or failed (action "key", the event in
the detail); operators see the same in the operator log (action "key_<event>"). Both entries
are written in one transaction, in the firm's schema, with the change they record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import tenant_context

from firms.models import Firm
from operators.log import log_operator_action
from tenants.auditlog.models import Action, ActorRole, Result
from tenants.auditlog.services import Actor, log_access

SYSTEM_PREFIX = "system:"


@dataclass(frozen=True)
class KeyActor:
    """Who made a key event happen: an operator (email, user id, address) or a platform job
    (`system:<reason>`, e.g. `system:key-rotation`)."""

    email: str
    user_id: int | None = None
    ip: str | None = None

    @classmethod
    def system(cls, reason: str) -> KeyActor:
        return cls(email=f"{SYSTEM_PREFIX}{reason}")

    @property
    def is_system(self) -> bool:
        return self.email.startswith(SYSTEM_PREFIX)

    def for_firm_log(self) -> Actor:
        if self.is_system:
            return Actor.system(self.email.removeprefix(SYSTEM_PREFIX))
        return Actor(user_id=self.user_id, email=self.email, role=ActorRole.OPERATOR, ip=self.ip)


def record_key_event(
    firm: Firm,
    *,
    actor: KeyActor,
    event: str,
    detail: dict[str, Any] | None = None,
    allowed: bool = True,
) -> None:
    """Both entries, in the caller's transaction, which must run in the firm's schema
    (tenant_context). Neither entry ever holds key material."""
    body = {"event": event, **(detail or {})}
    log_access(
        actor=actor.for_firm_log(),
        action=Action.KEY,
        result=Result.ALLOWED if allowed else Result.DENIED,
        detail=body,
    )
    log_operator_action(
        actor_email=actor.email,
        actor_user_id=actor.user_id,
        ip=actor.ip,
        action=f"key_{event}",
        firm=firm,
        detail={**body, "result": "ok" if allowed else "failed"},
    )


def record_key_event_now(
    firm: Firm,
    *,
    actor: KeyActor,
    event: str,
    detail: dict[str, Any] | None = None,
    allowed: bool = True,
) -> None:
    """record_key_event in a transaction of its own: for a failure, whose own transaction
    rolled back."""
    with tenant_context(firm), transaction.atomic():
        record_key_event(firm, actor=actor, event=event, detail=detail, allowed=allowed)
