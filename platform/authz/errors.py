"""The one refusal: `Denied` carries what the error layer needs to answer (status, a safe
message, a code) and what the firm's log needs to record the attempt.

A denial must be in the firm's log even though the refused work rolls back. Inside a
transaction it cannot be written yet (the entry would roll back with the work, and a second
connection could deadlock on the chain head the transaction holds), so it waits in this
thread's list of pending denials and is written once the transaction is gone: by
`Denied.log_once()` (the error layer calls it), or by `flush_pending()`, which the
authorization middleware calls after every request and Celery after every task, so a denial
caught and turned into a message by the code in between is still written. Outside a
transaction `authz.decide.deny` writes it at once (finding 10 of issue 16: a refusal inside a
bulk operation used to crash instead).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

NOT_ALLOWED = _("この操作を行う権限がありません。")
logger = logging.getLogger(__name__)
_local = threading.local()


@dataclass
class PendingDenial:
    schema_name: str
    actor: Any  # tenants.auditlog.services.Actor
    action: str
    person_id: int | None = None
    purpose: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class Denied(PermissionDenied):
    """Refused by the authorization layer. `status` is 404 where saying "forbidden" would tell
    an outsider that the thing exists, else 403. A PermissionDenied, so anything that does not
    know it still answers 403, never 500."""

    code = "not_allowed"

    def __init__(
        self,
        message: str | Promise = NOT_ALLOWED,
        *,
        status: int = 403,
        pending: PendingDenial | None = None,
        code: str | None = None,
    ):
        self.message = message
        self.status = status
        self.pending = pending
        if code:
            self.code = code
        super().__init__(str(message))

    def log_once(self) -> None:
        """Write the denial into the firm's log, once, committed on its own. Must be called
        outside any transaction; a no-op when already written or nothing is to be written."""
        pending, self.pending = self.pending, None
        if pending is not None and _take(pending):
            _write(pending)


def _pending_list() -> list[PendingDenial]:
    if not hasattr(_local, "pending"):
        _local.pending = []
    return _local.pending


def hold(pending: PendingDenial) -> None:
    """Keep a denial to be written once this thread is outside its transaction."""
    _pending_list().append(pending)


def _take(pending: PendingDenial) -> bool:
    held = _pending_list()
    for i, item in enumerate(held):
        if item is pending:
            del held[i]
            return True
    return False


def flush_pending() -> None:
    """Write every denial still waiting in this thread (after a request or a task)."""
    held = _pending_list()
    while held:
        pending = held.pop(0)
        try:
            _write(pending)
        except Exception:
            # The refused work is refused either way; a log that cannot take the entry is
            # reported (and alarmed on, AUDIT_LOG_WRITE_FAILED) by the log itself.
            logger.exception("a pending denial could not be written")


def _write(pending: PendingDenial) -> None:
    from django_tenants.utils import schema_context

    from tenants.auditlog.services import log_access_denied

    with schema_context(pending.schema_name):
        log_access_denied(
            actor=pending.actor,
            action=pending.action,
            person_id=pending.person_id,
            purpose=pending.purpose,
            detail=pending.detail or None,
        )
