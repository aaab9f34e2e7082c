"""The decisions: may this actor take this action in this firm (on this record)?

Three entry points, one table (authz.actions.RULES):
- `permits(role, action)`: the pure answer, for deciding what a page offers;
- `require(actor, action, ...)`: for services, tasks and commands; raises `Denied` and
  makes sure the refusal reaches the firm's log (now, or when it leaves the transaction);
- `firm_access(user, firm)`: who the signed-in user is in a firm (membership, or an
  operator's support grant), with the account checks every firm access needs: an active
  account and, for roles that may see numbers, MFA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name

from accounts.models import ROLES_REQUIRING_MFA, Membership, Role
from tenants.auditlog.services import in_callers_transaction

from .actions import RULES, Action, Where
from .errors import NOT_ALLOWED, Denied, PendingDenial, hold


def permits(role: str, action: Action) -> bool:
    rule = RULES[action]
    if not rule.roles:
        return True  # decided by the account checks alone (authz.web), not by a role
    if role in rule.roles:
        return True
    if rule.accountant_if_firm_allows and role == Role.ACCOUNTANT:
        from tenants.workspace.models import FirmSettings

        return FirmSettings.current().accountants_may_reveal
    return False


# Actions the access log already has a code for: a refused reveal reads as a refused reveal.
LOG_CODES = {Action.NUMBER_REVEAL: "reveal", Action.NUMBER_EXPORT: "export",
             Action.PERSON_DELETE: "delete", Action.SUPERVISION_REPORT: "report",
             Action.LEAK_INVESTIGATION: "investigation"}  # fmt: skip


def log_code(action: Action) -> str:
    """The access log's action code for a refused action that names none of its own."""
    return LOG_CODES.get(action) or action.value.replace(".", "_")


def deny(
    actor: Any,
    action: Action | None,
    *,
    log_action: str | None = None,
    person_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
    message: Any = NOT_ALLOWED,
    status: int = 403,
) -> Denied:
    """A `Denied` for this refusal, its log entry written now when no transaction is open,
    else carried until `log_once()` is called outside it (the error layer does)."""
    schema = getattr(connection, "schema_name", "")
    pending = None
    if schema and schema != get_public_schema_name() and actor is not None:
        pending = PendingDenial(
            schema_name=schema,
            actor=actor,
            action=log_action or log_code(action or Action.FIRM_HOME),
            person_id=person_id,
            purpose=purpose,
            detail={**(detail or {}), **({"authz": action.value} if action else {})},
        )
    error = Denied(message, status=status, pending=pending)
    if pending is not None:
        hold(pending)
        if not in_callers_transaction():
            error.log_once()
    return error


def require(
    actor: Any,
    action: Action,
    *,
    log_action: str | None = None,
    person_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Go on only if the actor's role may take the action here; else raise `Denied`."""
    if permits(actor.role, action):
        return
    raise deny(
        actor, action, log_action=log_action, person_id=person_id, purpose=purpose, detail=detail
    )


@dataclass(frozen=True)
class FirmAccess:
    """The signed-in user's standing in one firm: a membership, or a support grant."""

    membership: Any  # accounts.Membership or accounts.support.SupportMembership
    mfa_missing: bool

    @property
    def role(self) -> str:
        return str(self.membership.role)


def account_usable(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def has_mfa(user: Any) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return bool(is_mfa_enabled(user))


def firm_access(user: Any, firm: Any) -> FirmAccess | None:
    """None when the user may not enter the firm at all (no membership, no active support
    grant, an inactive account): callers answer 404, so a firm's existence does not leak."""
    from accounts.support import SupportMembership, active_grant

    if not account_usable(user):
        return None
    membership: Any = None
    if not user.is_operator:
        membership = Membership.objects.filter(user=user, firm=firm).first()
    if membership is None:
        grant = active_grant(user, firm)
        if grant is None:
            return None
        membership = SupportMembership(user, firm, grant)
    needs_mfa = membership.role in ROLES_REQUIRING_MFA or user.is_operator
    return FirmAccess(membership=membership, mfa_missing=needs_mfa and not has_mfa(user))


def memberships_for(user: Any, action: Action) -> list[Membership]:
    """The user's memberships whose role may take `action` (a bare-domain action that reads
    firm data): an inactive account or one without MFA gets none."""
    rule = RULES[action]
    if not account_usable(user) or user.is_operator:
        return []
    if rule.where is Where.ACCOUNT_MFA and not has_mfa(user):
        return []
    memberships = Membership.objects.filter(user=user).select_related("firm")
    if rule.roles:
        memberships = memberships.filter(role__in=list(rule.roles))
    return list(memberships)
