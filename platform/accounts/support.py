"""Break-glass support access (access transparency): an operator asks, the firm's owner
decides, the grant ends by itself, and every step is in the firm's log and the operator log.

The firm log entries are written in the firm's schema (tenant_context), inside the same
transaction as the change they record.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from authz.actions import Action
from authz.decide import permits
from firms.models import Firm
from operators.log import log_operator_action
from tenants.auditlog.privacy import looks_like_my_number
from tenants.auditlog.services import Actor, log_in_firm

from .models import Membership, Role, SupportGrant, User

MAX_MINUTES = 240
SUPPORT_ROLE = "support"


class SupportMembership:
    """Stands in for a Membership while a grant is active: read-only, never an owner."""

    def __init__(self, user: User, firm: Firm, grant: SupportGrant):
        self.user = user
        self.firm = firm
        self.grant = grant
        self.role = SUPPORT_ROLE
        self.pk = None

    def get_role_display(self) -> str:
        return _("サポート（運用者）")


def active_grant(user: User, firm: Firm) -> SupportGrant | None:
    if not (user.is_authenticated and user.is_operator):
        return None
    now = timezone.now()
    return (
        SupportGrant.objects.filter(
            firm=firm, operator=user, status=SupportGrant.Status.APPROVED, expires_at__gt=now
        )
        .order_by("-expires_at")
        .first()
    )


def _operator_actor(user: User) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role="operator")


def support_request(*, operator: User, firm: Firm, reason: str, minutes: int) -> SupportGrant:
    if not operator.is_operator:
        raise ValidationError(_("サポートアクセスを申請できるのは運用者だけです。"))
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("理由を入力してください。"))
    if looks_like_my_number(reason):
        raise ValidationError(_("理由にマイナンバーを書かないでください。"))
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError(
            _("時間は1分から%(max)d分までで指定してください。") % {"max": MAX_MINUTES}
        )
    with transaction.atomic():
        grant = SupportGrant.objects.create(
            firm=firm, operator=operator, reason=reason[:2000], minutes=minutes
        )
        detail = {"grant": grant.pk, "minutes": minutes}
        log_operator_action(actor_email=operator.email, actor_user_id=operator.pk,
                            action="support_request", firm=firm, detail=detail)  # fmt: skip
        log_in_firm(firm, actor=_operator_actor(operator), action="support_request", detail=detail)
    return grant


def _owner_actor(membership: Membership) -> Actor:
    return Actor(user_id=membership.user_id, email=membership.user.email, role=Role.OWNER)


def support_decide(*, membership: Membership, grant: SupportGrant, approve: bool) -> SupportGrant:
    """The firm's owner approves (the clock starts now) or denies a pending request."""
    if not permits(membership.role, Action.FIRM_SETTINGS) or membership.firm_id != grant.firm_id:
        raise ValidationError(
            _(
                "サポートアクセスを承認・拒否できるのはオーナーだけです。オーナーに依頼してください。"
            )
        )
    with transaction.atomic():
        grant = SupportGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.status != SupportGrant.Status.PENDING:
            raise ValidationError(_("この申請は既に処理されています。"))
        now = timezone.now()
        grant.status = SupportGrant.Status.APPROVED if approve else SupportGrant.Status.DENIED
        grant.decided_at = now
        grant.decided_by_email = membership.user.email
        if approve:
            grant.expires_at = now + timedelta(minutes=grant.minutes)
        grant.save()
        action = "support_approve" if approve else "support_deny"
        detail = {"grant": grant.pk, "operator": grant.operator.email}
        log_operator_action(actor_email=membership.user.email, actor_user_id=membership.user_id,
                            action=action, firm=grant.firm, detail=detail)  # fmt: skip
        log_in_firm(grant.firm, actor=_owner_actor(membership), action=action, detail=detail)
    return grant


def support_revoke(*, membership: Membership, grant: SupportGrant) -> SupportGrant:
    """The owner ends an approved grant early."""
    if not permits(membership.role, Action.FIRM_SETTINGS) or membership.firm_id != grant.firm_id:
        raise ValidationError(
            _("サポートアクセスを取り消せるのはオーナーだけです。オーナーに依頼してください。")
        )
    with transaction.atomic():
        grant = SupportGrant.objects.select_for_update().get(pk=grant.pk)
        if not grant.is_active:
            raise ValidationError(_("このサポートアクセスは既に終了しています。"))
        grant.status = SupportGrant.Status.REVOKED
        grant.expires_at = timezone.now()
        grant.save(update_fields=["status", "expires_at"])
        detail = {"grant": grant.pk, "operator": grant.operator.email}
        log_operator_action(actor_email=membership.user.email, actor_user_id=membership.user_id,
                            action="support_revoke", firm=grant.firm, detail=detail)  # fmt: skip
        log_in_firm(
            grant.firm, actor=_owner_actor(membership), action="support_revoke", detail=detail
        )
    return grant
