"""A firm's lifecycle as operators run it: suspend (read-only) and resume. Suspension stops
new data, never the firm's legal duties: reveals, exports and deletions keep working (the
refusal is billing.services.can_add_data, the one gate every write of new data passes).

Each change is written to the operator log and to the firm's own log, in one transaction.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from operators.log import log_operator_action
from tenants.auditlog.privacy import looks_like_my_number
from tenants.auditlog.services import Actor, log_in_firm

from .models import Firm


def _change_status(*, operator: User, firm: Firm, to: str, action: str, reason: str) -> Firm:
    if not operator.is_operator:
        raise ValidationError(_("この操作は運用者だけが行えます。"))
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("理由を入力してください。"))
    if looks_like_my_number(reason):
        raise ValidationError(_("理由にマイナンバーを書かないでください。"))
    with transaction.atomic():
        firm = Firm.objects.select_for_update().get(pk=firm.pk)
        if firm.status == to:
            raise ValidationError(_("既にその状態です。"))
        if firm.status == Firm.Status.OFFBOARDING:
            raise ValidationError(_("解約手続中の事業者の状態は変更できません。"))
        firm.status = to
        firm.save(update_fields=["status"])
        detail = {"status": to, "reason": reason[:500]}
        log_operator_action(actor_email=operator.email, actor_user_id=operator.pk,
                            action=action, firm=firm, detail=detail)  # fmt: skip
        log_in_firm(firm, actor=Actor(user_id=operator.pk, email=operator.email, role="operator"),
                    action=action, detail=detail)  # fmt: skip
    return firm


def suspend_firm(*, operator: User, firm: Firm, reason: str) -> Firm:
    return _change_status(operator=operator, firm=firm, to=Firm.Status.SUSPENDED,
                          action="firm_suspend", reason=reason)  # fmt: skip


def resume_firm(*, operator: User, firm: Firm, reason: str) -> Firm:
    return _change_status(operator=operator, firm=firm, to=Firm.Status.ACTIVE,
                          action="firm_resume", reason=reason)  # fmt: skip
